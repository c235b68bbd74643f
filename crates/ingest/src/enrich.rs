//! The `normalize` stage at ingest: maps each span's GenAI attributes (any dialect) to the
//! store's canonical columns and prices model calls from the catalog when the client sent no
//! cost.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use sextant_genai::{CanonicalRef, Catalog, ResourceFields};
use sextant_store::{GenAiRow, SpanEnricher};

/// Normalizes and prices spans with a price catalog.
pub struct GenAiEnricher {
    catalog: Arc<Catalog>,
}

impl GenAiEnricher {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self { catalog }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }
}

impl GenAiEnricher {
    fn row<'a>(
        &self,
        resource: &ResourceFields<'a>,
        scope: Option<&'a InstrumentationScope>,
        span: &'a Span,
    ) -> GenAiRow<'a> {
        let mut c = sextant_genai::normalize_with_resource(resource, scope, span);
        if c.is_empty() {
            return GenAiRow::default();
        }
        sextant_genai::price_ref(&self.catalog, &mut c, span.start_time_unix_nano);
        to_row(c)
    }
}

impl SpanEnricher for GenAiEnricher {
    fn enrich<'a>(
        &self,
        resource: Option<&'a Resource>,
        scope: Option<&'a InstrumentationScope>,
        span: &'a Span,
    ) -> GenAiRow<'a> {
        self.row(&ResourceFields::of(resource), scope, span)
    }

    /// The resource's attributes are looked up once for all the spans.
    fn enrich_scope<'a>(
        &self,
        resource: Option<&'a Resource>,
        scope: Option<&'a InstrumentationScope>,
        spans: &'a [Span],
        push: &mut dyn FnMut(&GenAiRow<'a>),
    ) {
        let fields = ResourceFields::of(resource);
        for span in spans {
            push(&self.row(&fields, scope, span));
        }
    }
}

/// The store's columns of a canonical span (`cost_source` says where the cost came from). The
/// strings stay borrowed from the span and the cost source from its interned label: only an
/// unknown operation name or an unpriced reason is copied.
pub fn to_row(c: CanonicalRef<'_>) -> GenAiRow<'_> {
    let llm_call = c.is_llm_call();
    let (cost_usd, cost_source) = match (&c.cost, &c.unpriced_reason) {
        (Some(cost), _) => (
            Some(cost.usd),
            Some(Cow::Borrowed(cost.source.label.as_str())),
        ),
        (None, Some(reason)) => (None, Some(Cow::Owned(format!("unpriced:{reason}")))),
        (None, None) => (None, None),
    };
    GenAiRow {
        // Known operations have a static spelling: no allocation per span.
        operation: c.operation.map(|o| match o {
            sextant_genai::Operation::Other(s) => Cow::Owned(s),
            known => Cow::Borrowed(known.static_str()),
        }),
        provider: c.provider,
        request_model: c.request_model,
        response_model: c.response_model,
        agent_name: c.agent_name,
        agent_id: c.agent_id,
        tool_name: c.tool_name,
        tool_call_id: c.tool_call_id,
        conversation_id: c.conversation_id,
        user_id: c.user_id,
        input_tokens: c.input_tokens,
        output_tokens: c.output_tokens,
        cache_read_tokens: c.cache_read_tokens,
        cache_write_tokens: c.cache_write_tokens,
        reasoning_tokens: c.reasoning_tokens,
        time_to_first_chunk_nano: c.time_to_first_chunk_ns,
        finish_reasons: c.finish_reasons,
        error_type: c.error_type,
        cost_usd,
        cost_source,
        llm_call,
    }
}

impl sextant_store::reprice::Repricer for GenAiEnricher {
    fn reprice(
        &self,
        row: &GenAiRow<'_>,
        start_unix_nano: u64,
    ) -> Option<(Option<f64>, Option<String>)> {
        // A cost the client sent is kept as sent; only catalog prices (or their absence) change.
        if row
            .cost_source
            .as_deref()
            .is_some_and(|s| s.starts_with("client:"))
        {
            return None;
        }
        fn b<'r>(v: &'r Option<Cow<'_, str>>) -> Option<Cow<'r, str>> {
            v.as_deref().map(Cow::Borrowed)
        }
        let mut c = CanonicalRef {
            operation: row
                .operation
                .as_deref()
                .map(sextant_genai::Operation::parse),
            provider: b(&row.provider),
            request_model: b(&row.request_model),
            response_model: b(&row.response_model),
            input_tokens: row.input_tokens,
            output_tokens: row.output_tokens,
            cache_read_tokens: row.cache_read_tokens,
            cache_write_tokens: row.cache_write_tokens,
            reasoning_tokens: row.reasoning_tokens,
            ..Default::default()
        };
        sextant_genai::price_ref(&self.catalog, &mut c, start_unix_nano);
        let r = to_row(c);
        Some((r.cost_usd, r.cost_source.map(Cow::into_owned)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};

    fn kv(k: &str, v: Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    fn chat(model: &str) -> Span {
        Span {
            name: format!("chat {model}"),
            start_time_unix_nano: 1_760_000_000_000_000_000,
            attributes: vec![
                kv("gen_ai.operation.name", Value::StringValue("chat".into())),
                kv("gen_ai.provider.name", Value::StringValue("openai".into())),
                kv("gen_ai.request.model", Value::StringValue(model.into())),
                kv("gen_ai.usage.input_tokens", Value::IntValue(1_000_000)),
                kv("gen_ai.usage.output_tokens", Value::IntValue(1_000_000)),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn spans_are_priced_and_unknown_models_say_why() {
        let e = GenAiEnricher::new(Arc::new(
            Catalog::embedded()
                .with_overrides(Vec::new())
                .expect("catalog"),
        ));
        let span = chat("gpt-4o-mini");
        let row = e.enrich(None, None, &span);
        assert!(row.llm_call);
        // gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output tokens.
        assert!(
            (row.cost_usd.expect("priced") - 0.75).abs() < 1e-9,
            "{row:?}"
        );
        assert!(
            row.cost_source
                .as_deref()
                .is_some_and(|s| s.starts_with("catalog:openai/"))
        );
        let span = chat("my-own-model-7b");
        let row = e.enrich(None, None, &span);
        assert_eq!(row.cost_usd, None);
        assert!(
            row.cost_source
                .as_deref()
                .is_some_and(|s| s.starts_with("unpriced:"))
        );
    }

    #[test]
    fn a_scope_at_once_gives_the_rows_of_its_spans_one_by_one() {
        let e = GenAiEnricher::new(Arc::new(
            Catalog::embedded()
                .with_overrides(Vec::new())
                .expect("catalog"),
        ));
        let resource = Resource {
            attributes: vec![
                kv("service.name", Value::StringValue("svc".into())),
                kv(
                    "gen_ai.provider.name",
                    Value::StringValue("anthropic".into()),
                ),
                kv("user.id", Value::StringValue("u-1".into())),
                kv("gen_ai.agent.name", Value::StringValue("planner".into())),
            ],
            ..Default::default()
        };
        let mut no_provider = chat("gpt-4o-mini");
        no_provider.attributes.remove(1);
        let spans = [chat("gpt-4o-mini"), no_provider, Span::default()];
        let mut rows = Vec::new();
        e.enrich_scope(Some(&resource), None, &spans, &mut |r| rows.push(r.clone()));
        let one_by_one: Vec<_> = spans
            .iter()
            .map(|s| e.enrich(Some(&resource), None, s))
            .collect();
        assert_eq!(rows, one_by_one);
        assert_eq!(rows[1].provider.as_deref(), Some("anthropic"));
        assert_eq!(rows[0].provider.as_deref(), Some("openai"));
    }

    #[test]
    fn repricing_uses_overrides_and_keeps_client_costs() {
        use sextant_store::reprice::Repricer;
        let over: sextant_genai::PriceOverride = serde_json::from_value(serde_json::json!({
            "model": "my-own-model-7b", "input_per_mtok": 1.0, "output_per_mtok": 2.0
        }))
        .expect("override");
        let catalog = Catalog::embedded()
            .with_overrides(vec![over])
            .expect("catalog");
        let e = GenAiEnricher::new(Arc::new(catalog));
        let span = chat("my-own-model-7b");
        let row = GenAiEnricher::new(Arc::new(
            Catalog::embedded()
                .with_overrides(Vec::new())
                .expect("catalog"),
        ))
        .enrich(None, None, &span);
        let (usd, source) = e
            .reprice(&row, span.start_time_unix_nano)
            .expect("repriced");
        assert!((usd.expect("priced") - 3.0).abs() < 1e-9);
        assert!(source.is_some_and(|s| s.contains("override")));
        let client = GenAiRow {
            cost_source: Some("client:gen_ai.cost_usd".into()),
            ..row
        };
        assert_eq!(e.reprice(&client, 0), None);
    }
}
