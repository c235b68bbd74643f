//! Canonical GenAI attributes for TraceQL: when a span lacks `gen_ai.x` (because its client
//! spoke another dialect, e.g. OpenInference's `llm.token_count.prompt`), the value the GenAI
//! normalizer derives answers under the canonical name — the same values the store's
//! canonical columns hold, so pushdown and evaluation agree.

use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use sextant_genai::{Canonical, Catalog};
use sextant_traceql::{AttributeFallback, Value};

/// Answers canonical `gen_ai.*` names from the normalizer (and the price catalog for cost).
pub struct GenAiFallback {
    catalog: &'static Catalog,
}

impl GenAiFallback {
    /// Prices with `catalog` (the embedded one unless the server was configured otherwise).
    pub fn new(catalog: &'static Catalog) -> Self {
        Self { catalog }
    }
}

impl Default for GenAiFallback {
    fn default() -> Self {
        Self::new(Catalog::embedded())
    }
}

fn text(v: &Option<String>) -> Option<Value> {
    v.as_ref().map(|s| Value::Str(s.clone()))
}

fn count(v: Option<u64>) -> Option<Value> {
    v.map(|n| Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// The canonical field called `name`, for fields that need no pricing.
fn field(c: &Canonical, name: &str) -> Option<Value> {
    match name {
        "gen_ai.operation.name" => c.operation.as_ref().map(|o| Value::Str(o.as_str().into())),
        "gen_ai.provider.name" | "gen_ai.system" => text(&c.provider),
        "gen_ai.request.model" => text(&c.request_model),
        "gen_ai.response.model" => text(&c.response_model),
        "gen_ai.agent.name" => text(&c.agent_name),
        "gen_ai.agent.id" => text(&c.agent_id),
        "gen_ai.tool.name" => text(&c.tool_name),
        "gen_ai.tool.call.id" => text(&c.tool_call_id),
        "gen_ai.conversation.id" => text(&c.conversation_id),
        "gen_ai.usage.input_tokens" => count(c.input_tokens),
        "gen_ai.usage.output_tokens" => count(c.output_tokens),
        "gen_ai.usage.cache_read.input_tokens" => count(c.cache_read_tokens),
        "gen_ai.usage.cache_creation.input_tokens" => count(c.cache_write_tokens),
        "gen_ai.usage.reasoning_tokens" => count(c.reasoning_tokens),
        "gen_ai.response.finish_reasons" if !c.finish_reasons.is_empty() => Some(Value::Array(
            c.finish_reasons
                .iter()
                .map(|s| Value::Str(s.clone()))
                .collect(),
        )),
        "error.type" => text(&c.error_type),
        _ => None,
    }
}

impl AttributeFallback for GenAiFallback {
    fn fallback(&self, span: &Span, resource: &Resource, name: &str) -> Option<Value> {
        if !(name.starts_with("gen_ai.") || name == "error.type") {
            return None;
        }
        let mut c = sextant_genai::normalize(Some(resource), None, span);
        if c.is_empty() {
            return None;
        }
        match name {
            "gen_ai.cost_usd" | "gen_ai.usage.cost" => {
                sextant_genai::price(self.catalog, &mut c, span.start_time_unix_nano);
                c.cost.map(|cost| Value::Float(cost.usd))
            }
            _ => field(&c, name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    #[test]
    fn openinference_tokens_answer_under_canonical_names() {
        let span = Span {
            attributes: vec![
                kv(
                    "openinference.span.kind",
                    any_value::Value::StringValue("LLM".into()),
                ),
                kv(
                    "llm.model_name",
                    any_value::Value::StringValue("gpt-4o".into()),
                ),
                kv("llm.token_count.prompt", any_value::Value::IntValue(1500)),
                kv("llm.token_count.completion", any_value::Value::IntValue(20)),
            ],
            start_time_unix_nano: 1_750_000_000_000_000_000,
            ..Default::default()
        };
        let f = GenAiFallback::default();
        let r = Resource::default();
        assert_eq!(
            f.fallback(&span, &r, "gen_ai.usage.input_tokens"),
            Some(Value::Int(1500))
        );
        assert_eq!(
            f.fallback(&span, &r, "gen_ai.response.model"),
            Some(Value::Str("gpt-4o".into()))
        );
        let cost = f.fallback(&span, &r, "gen_ai.cost_usd");
        assert!(matches!(cost, Some(Value::Float(x)) if x > 0.0), "{cost:?}");
        assert_eq!(f.fallback(&span, &r, "http.method"), None);
        assert_eq!(
            f.fallback(&Span::default(), &r, "gen_ai.request.model"),
            None
        );
    }
}
