//! `normalize`: one span in any supported dialect → its canonical GenAI fields.
//!
//! Cheap by construction: each attribute key is looked up once in the prebuilt key map of
//! `rules.rs` (no scan of the rule table), and the fields borrow from the span (`normalize_ref`),
//! so a span is normalized without allocating (finish reasons aside: one `Vec`).

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};

use std::borrow::Cow;

use crate::attr;
use crate::canonical::{Canonical, Operation};
use crate::canonical_ref::{CanonicalRef, CostRef};
use crate::content;
use crate::rules::{
    BY_KEY, Conv, EventMeaning, FIELD_COUNT, Field, ImpliedOp, KeyRules, NAME_RULES, NameRule,
    Rule, event_meaning,
};
use crate::source;

/// Rank added to keys read from span events (a last streaming chunk carrying usage).
const EVENT_RANK: u8 = 10;
/// Rank added to keys read from the resource (service-wide defaults).
const RESOURCE_RANK: u8 = 20;
/// Rank of a field taken from the span name: after every span attribute, before events and resource.
const NAME_RANK: u8 = 9;
/// Rank of the first-chunk time derived from chunk events.
const FIRST_CHUNK_EVENT_RANK: u8 = 2;
/// Rank of an error class read from an `exception` event.
const EXCEPTION_EVENT_RANK: u8 = 2;

/// Maps one span to its canonical GenAI fields. `scope` tells apart dialects that name a span
/// after its tool or agent (see `NAME_RULES`).
pub fn normalize(
    resource: Option<&Resource>,
    scope: Option<&InstrumentationScope>,
    span: &Span,
) -> Canonical {
    normalize_ref(resource, scope, span).into_owned()
}

/// `normalize` with the fields borrowed from the span (what ingest stores).
pub fn normalize_ref<'a>(
    resource: Option<&'a Resource>,
    scope: Option<&'a InstrumentationScope>,
    span: &'a Span,
) -> CanonicalRef<'a> {
    normalize_with_resource(&ResourceFields::of(resource), scope, span)
}

/// What normalization reads from a resource: the rules of its attributes that fill a
/// service-wide field, with their values, in attribute order. Found once for all the spans of
/// a resource (ingest) instead of once per span.
#[derive(Debug, Default)]
pub struct ResourceFields<'a>(Vec<(&'static Rule, &'a AnyValue)>);

impl<'a> ResourceFields<'a> {
    pub fn of(resource: Option<&'a Resource>) -> Self {
        let mut out = Vec::new();
        for kv in resource.map_or(&[][..], |r| &r.attributes) {
            if let (Some(e), Some(v)) = (BY_KEY.get(kv.key.as_bytes()), kv.value.as_ref()) {
                let rules = e.rules.iter().filter(|r| is_context_field(r.field));
                out.extend(rules.map(|r| (*r, v)));
            }
        }
        ResourceFields(out)
    }
}

/// `normalize_ref` with the resource's fields found already.
pub fn normalize_with_resource<'a>(
    resource: &ResourceFields<'a>,
    scope: Option<&'a InstrumentationScope>,
    span: &'a Span,
) -> CanonicalRef<'a> {
    let mut b = Builder::new();
    // Bit `i`: the span sent `NAME_RULES[i]`'s key with a value it accepts.
    let mut named = 0u8;
    for kv in &span.attributes {
        if let Some(e) = b.apply_kv(kv, 0, |_| true)
            && e.name_rules != 0
        {
            named |= name_rules_sent(e.name_rules, kv);
        }
    }
    for (i, rule) in NAME_RULES.iter().enumerate() {
        if name_rule_applies(rule, scope, span, named & (1 << i) != 0) {
            b.name_field(rule, &span.name);
        }
    }
    // Reverse order: with equal ranks the first write wins, so the last event's usage is kept.
    for ev in span.events.iter().rev() {
        match event_meaning(&ev.name) {
            Some(EventMeaning::FirstChunk) => {
                b.first_chunk(span.start_time_unix_nano, ev.time_unix_nano)
            }
            Some(EventMeaning::Exception) if is_error(span) => b.exception(&ev.attributes),
            _ => {}
        }
        for kv in &ev.attributes {
            b.apply_kv(kv, EVENT_RANK, is_usage_field);
        }
    }
    for (rule, v) in &resource.0 {
        b.apply(rule, v, rule.rank.saturating_add(RESOURCE_RANK));
    }
    if is_error(span) && b.out.error_type.is_none() {
        b.out.error_type = Some(Cow::Borrowed(error_from_status(span)));
    }
    b.out
}

/// The bits of `rules` (name rules asking for `kv`'s key) whose value `kv` has.
fn name_rules_sent(rules: u8, kv: &KeyValue) -> u8 {
    let Some(v) = kv.value.as_ref().and_then(attr::as_str) else {
        return 0;
    };
    let mut sent = 0;
    for (i, rule) in NAME_RULES.iter().enumerate() {
        if rules & (1 << i) != 0 && rule.value.is_none_or(|w| v.eq_ignore_ascii_case(w)) {
            sent |= 1 << i;
        }
    }
    sent
}

/// `sent`: the span has the rule's key with a value it accepts (`name_rules_sent`).
fn name_rule_applies(
    rule: &NameRule,
    scope: Option<&InstrumentationScope>,
    span: &Span,
    sent: bool,
) -> bool {
    if let Some(want) = rule.scope
        && scope.map(|s| s.name.as_str()) != Some(want)
    {
        return false;
    }
    // A rule that only asks for the key's presence also holds when the content policy dropped
    // that key before the WAL (it lists what it dropped), so capture on and off agree.
    sent || (rule.value.is_none() && content::content_key_dropped(&span.attributes, rule.key))
}

fn is_error(span: &Span) -> bool {
    span.status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32)
}

fn is_usage_field(f: Field) -> bool {
    matches!(
        f,
        Field::InputTokens
            | Field::OutputTokens
            | Field::CacheReadTokens
            | Field::CacheWriteTokens
            | Field::ReasoningTokens
            | Field::ResponseModel
            | Field::FinishReasons
    )
}

fn is_context_field(f: Field) -> bool {
    matches!(
        f,
        Field::Provider | Field::ConversationId | Field::UserId | Field::AgentName
    )
}

/// An error class from the status description (`InternalServerError: Error code: 500 …`), or
/// `_OTHER` (the OTel GenAI fallback) when the description does not start with a class name.
fn error_from_status(span: &Span) -> &str {
    let msg = span
        .status
        .as_ref()
        .map(|s| s.message.as_str())
        .unwrap_or("");
    let head = msg.split(':').next().unwrap_or("").trim();
    let looks_like_class = !head.is_empty()
        && head.len() <= 128
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && head
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_lowercase());
    if looks_like_class && msg.contains(':') {
        head
    } else {
        "_OTHER"
    }
}

struct Builder<'a> {
    out: CanonicalRef<'a>,
    ranks: [u8; FIELD_COUNT],
}

impl<'a> Builder<'a> {
    fn new() -> Self {
        Builder {
            out: CanonicalRef::default(),
            ranks: [u8::MAX; FIELD_COUNT],
        }
    }

    /// Applies the rules of `kv`'s key; returns the key's entry, if it has one.
    fn apply_kv(
        &mut self,
        kv: &'a KeyValue,
        offset: u8,
        allow: impl Fn(Field) -> bool,
    ) -> Option<&'static KeyRules> {
        let entry = BY_KEY.get(kv.key.as_bytes())?;
        if let Some(value) = kv.value.as_ref() {
            for rule in &entry.rules {
                if allow(rule.field) {
                    self.apply(rule, value, rule.rank.saturating_add(offset));
                }
            }
        }
        Some(entry)
    }

    fn apply(&mut self, rule: &Rule, v: &'a AnyValue, rank: u8) {
        let slot = rule.field.index();
        if rank >= self.ranks[slot] {
            return;
        }
        if self.set(rule, v) {
            self.ranks[slot] = rank;
        }
    }

    /// Converts and stores; false when the value does not convert (the field stays open).
    fn set(&mut self, rule: &Rule, v: &'a AnyValue) -> bool {
        let o = &mut self.out;
        match rule.conv {
            Conv::Text => {
                let Some(s) = attr::as_str(v) else {
                    return false;
                };
                let s = Some(Cow::Borrowed(s));
                match rule.field {
                    Field::Provider => o.provider = s,
                    Field::RequestModel => o.request_model = s,
                    Field::ResponseModel => o.response_model = s,
                    Field::AgentName => o.agent_name = s,
                    Field::AgentId => o.agent_id = s,
                    Field::ToolName => o.tool_name = s,
                    Field::ToolCallId => o.tool_call_id = s,
                    Field::ConversationId => o.conversation_id = s,
                    Field::UserId => o.user_id = s,
                    _ => return false,
                }
            }
            Conv::OperationName => {
                let Some(s) = attr::as_str(v) else {
                    return false;
                };
                o.operation = Some(Operation::parse(s));
            }
            Conv::OpenInferenceKind => {
                let Some(s) = attr::as_str(v) else {
                    return false;
                };
                let Some(op) = openinference_kind(s) else {
                    return false;
                };
                o.operation = Some(op);
            }
            Conv::Implies(implied) => {
                if attr::as_str(v).is_none() {
                    return false;
                }
                o.operation = Some(match implied {
                    ImpliedOp::InvokeAgent => Operation::InvokeAgent,
                    ImpliedOp::ExecuteTool => Operation::ExecuteTool,
                });
            }
            Conv::Count => {
                let Some(n) = attr::as_count(v) else {
                    return false;
                };
                let n = Some(n);
                match rule.field {
                    Field::InputTokens => o.input_tokens = n,
                    Field::OutputTokens => o.output_tokens = n,
                    Field::CacheReadTokens => o.cache_read_tokens = n,
                    Field::CacheWriteTokens => o.cache_write_tokens = n,
                    Field::ReasoningTokens => o.reasoning_tokens = n,
                    _ => return false,
                }
            }
            Conv::SecondsToNanos => {
                let Some(s) = attr::as_f64(v).filter(|s| *s >= 0.0) else {
                    return false;
                };
                // Bounded below 2^63 ns (~292 years) by the cast's saturation.
                o.time_to_first_chunk_ns = Some((s * 1e9).round() as u64);
            }
            Conv::TextList => {
                let list = attr::as_str_list(v);
                if list.is_empty() {
                    return false;
                }
                o.finish_reasons = list;
            }
            Conv::ErrorClass => {
                let Some(s) = attr::as_str(v) else {
                    return false;
                };
                o.error_type = Some(Cow::Borrowed(clean_error_class(s)));
            }
            Conv::Usd => {
                let Some(usd) = attr::as_f64(v).filter(|u| *u >= 0.0) else {
                    return false;
                };
                o.cost = Some(CostRef {
                    usd,
                    source: source::client(rule.key),
                });
            }
            Conv::JsonModel => {
                let Some(s) = attr::as_str(v) else {
                    return false;
                };
                let Some(model) = json_model(s) else {
                    return false;
                };
                o.request_model = Some(model);
            }
        }
        true
    }

    /// Fills a name rule's field from the span name (and its operation), unless a better-ranked
    /// attribute already did.
    fn name_field(&mut self, rule: &NameRule, name: &'a str) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        let slot = rule.field.index();
        if NAME_RANK < self.ranks[slot] {
            let v = Some(Cow::Borrowed(name));
            match rule.field {
                Field::AgentName => self.out.agent_name = v,
                Field::ToolName => self.out.tool_name = v,
                _ => return,
            }
            self.ranks[slot] = NAME_RANK;
        }
        let op = Field::Operation.index();
        if let Some(implied) = rule.implies
            && NAME_RANK < self.ranks[op]
        {
            self.out.operation = Some(match implied {
                ImpliedOp::InvokeAgent => Operation::InvokeAgent,
                ImpliedOp::ExecuteTool => Operation::ExecuteTool,
            });
            self.ranks[op] = NAME_RANK;
        }
    }

    fn first_chunk(&mut self, start: u64, at: u64) {
        let slot = Field::TimeToFirstChunk.index();
        if at < start || start == 0 {
            return;
        }
        let ttfc = at - start;
        // Among chunk events of equal rank keep the earliest one.
        let better = self.ranks[slot] > FIRST_CHUNK_EVENT_RANK
            || (self.ranks[slot] == FIRST_CHUNK_EVENT_RANK
                && self.out.time_to_first_chunk_ns.is_some_and(|t| ttfc < t));
        if better {
            self.out.time_to_first_chunk_ns = Some(ttfc);
            self.ranks[slot] = FIRST_CHUNK_EVENT_RANK;
        }
    }

    fn exception(&mut self, attributes: &'a [KeyValue]) {
        let slot = Field::ErrorType.index();
        if self.ranks[slot] <= EXCEPTION_EVENT_RANK {
            return;
        }
        let ty = attributes.iter().find(|kv| kv.key == "exception.type");
        if let Some(s) = ty.and_then(|kv| kv.value.as_ref()).and_then(attr::as_str) {
            self.out.error_type = Some(Cow::Borrowed(clean_error_class(s)));
            self.ranks[slot] = EXCEPTION_EVENT_RANK;
        }
    }
}

/// OpenInference span kinds (compared case-insensitively) and their operations.
static OPENINFERENCE_KINDS: &[(&str, Option<Operation>)] = &[
    ("LLM", Some(Operation::Chat)),
    ("EMBEDDING", Some(Operation::Embeddings)),
    ("TOOL", Some(Operation::ExecuteTool)),
    ("AGENT", Some(Operation::InvokeAgent)),
    ("CHAIN", Some(Operation::Workflow)),
    ("RETRIEVER", Some(Operation::Retrieval)),
    ("RERANKER", Some(Operation::Rerank)),
    ("", None),
    ("UNKNOWN", None),
];

fn openinference_kind(s: &str) -> Option<Operation> {
    match OPENINFERENCE_KINDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(s))
    {
        Some((_, op)) => op.clone(),
        None => Some(Operation::Other(s.to_ascii_lowercase())),
    }
}

/// `<class 'openai.RateLimitError'>` (openai_v2's `str()` of the class) → `openai.RateLimitError`.
fn clean_error_class(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix("<class '")
        .and_then(|r| r.strip_suffix("'>"))
        .unwrap_or(t)
}

/// The `"model"` member of a JSON object, borrowed when it holds no escapes; other members are
/// skipped without being built.
fn json_model(s: &str) -> Option<Cow<'_, str>> {
    /// `Option<Cow>` never borrows in serde, hence two shapes: borrowed first (no escapes in
    /// the value), owned when the value needs unescaping.
    #[derive(serde::Deserialize)]
    struct Borrowed<'a> {
        #[serde(borrow, default)]
        model: Option<&'a str>,
    }
    #[derive(serde::Deserialize)]
    struct Owned {
        #[serde(default)]
        model: Option<String>,
    }
    // An object only (serde would also read a struct from a JSON array).
    if !s.trim_start().starts_with('{') {
        return None;
    }
    let model = match serde_json::from_str::<Borrowed<'_>>(s) {
        Ok(p) => Cow::Borrowed(p.model?.trim()),
        Err(_) => Cow::Owned(
            serde_json::from_str::<Owned>(s)
                .ok()?
                .model?
                .trim()
                .to_string(),
        ),
    };
    (!model.is_empty()).then_some(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::CostSource;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::trace::v1::Status;
    use opentelemetry_proto::tonic::trace::v1::span::Event;

    fn kv(k: &str, v: Value) -> KeyValue {
        KeyValue {
            key: k.to_string(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }
    fn s(v: &str) -> Value {
        Value::StringValue(v.to_string())
    }

    #[test]
    fn plain_span_is_empty() {
        let span = Span {
            attributes: vec![kv("http.method", s("GET"))],
            ..Default::default()
        };
        assert!(normalize(None, None, &span).is_empty());
    }

    #[test]
    fn current_key_wins_over_older_whatever_the_order() {
        let span = Span {
            attributes: vec![
                kv("gen_ai.system", s("old")),
                kv("gen_ai.provider.name", s("new")),
                kv("llm.token_count.prompt", Value::IntValue(7)),
                kv("gen_ai.usage.input_tokens", Value::IntValue(9)),
            ],
            ..Default::default()
        };
        let c = normalize(None, None, &span);
        assert_eq!(c.provider.as_deref(), Some("new"));
        assert_eq!(c.input_tokens, Some(9));
    }

    #[test]
    fn hand_instrumented_style() {
        let span = Span {
            attributes: vec![
                kv("llm.model", s("gpt-4o-mini")),
                kv("llm.provider", s("openai")),
                kv("llm.tokens.input", Value::IntValue(12)),
                kv("llm.tokens.output", Value::IntValue(3)),
                kv("cost.usd", Value::DoubleValue(0.5)),
            ],
            ..Default::default()
        };
        let c = normalize(None, None, &span);
        assert_eq!(c.request_model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!((c.input_tokens, c.output_tokens), (Some(12), Some(3)));
        let cost = c.cost.expect("client cost");
        assert_eq!(cost.usd, 0.5);
        assert_eq!(
            cost.source,
            CostSource::Client {
                key: "cost.usd".into()
            }
        );
    }

    #[test]
    fn usage_in_last_chunk_event_fills_missing_span_usage() {
        let span = Span {
            start_time_unix_nano: 1_000,
            attributes: vec![kv("gen_ai.operation.name", s("chat"))],
            events: vec![
                Event {
                    name: "gen_ai.content.completion.chunk".into(),
                    time_unix_nano: 1_500,
                    ..Default::default()
                },
                Event {
                    name: "gen_ai.content.completion.chunk".into(),
                    time_unix_nano: 1_900,
                    ..Default::default()
                },
                Event {
                    name: "chunk".into(),
                    time_unix_nano: 2_000,
                    attributes: vec![kv("gen_ai.usage.input_tokens", Value::IntValue(5))],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let c = normalize(None, None, &span);
        assert_eq!(c.input_tokens, Some(5));
        assert_eq!(c.time_to_first_chunk_ns, Some(500));
    }

    #[test]
    fn error_type_from_attribute_then_exception_then_status() {
        let err = Some(Status {
            code: StatusCode::Error as i32,
            message: "InternalServerError: boom".into(),
        });
        let exc = Event {
            name: "exception".into(),
            attributes: vec![kv("exception.type", s("openai.InternalServerError"))],
            ..Default::default()
        };
        let with_attr = Span {
            status: err.clone(),
            attributes: vec![kv("error.type", s("<class 'openai.RateLimitError'>"))],
            events: vec![exc.clone()],
            ..Default::default()
        };
        assert_eq!(
            normalize(None, None, &with_attr).error_type.as_deref(),
            Some("openai.RateLimitError")
        );
        let with_event = Span {
            status: err.clone(),
            events: vec![exc],
            ..Default::default()
        };
        assert_eq!(
            normalize(None, None, &with_event).error_type.as_deref(),
            Some("openai.InternalServerError")
        );
        let status_only = Span {
            status: err,
            ..Default::default()
        };
        assert_eq!(
            normalize(None, None, &status_only).error_type.as_deref(),
            Some("InternalServerError")
        );
        let empty = Span {
            status: Some(Status {
                code: StatusCode::Error as i32,
                message: String::new(),
            }),
            ..Default::default()
        };
        assert_eq!(
            normalize(None, None, &empty).error_type.as_deref(),
            Some("_OTHER")
        );
    }

    #[test]
    fn openinference_request_model_from_invocation_parameters() {
        let span = Span {
            attributes: vec![
                kv("openinference.span.kind", s("LLM")),
                kv(
                    "llm.invocation_parameters",
                    s(r#"{"model": "gpt-4o-mini", "temperature": 0.0}"#),
                ),
                kv("llm.model_name", s("gpt-4o-mini-2024-07-18")),
            ],
            ..Default::default()
        };
        let c = normalize(None, None, &span);
        assert_eq!(c.operation, Some(Operation::Chat));
        assert_eq!(c.request_model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(c.response_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    }
    #[test]
    fn json_model_reads_only_an_objects_model_string() {
        assert!(matches!(
            json_model(r#"{"temperature": [1, {"x": "y"}], "model": " gpt-4o "}"#),
            Some(Cow::Borrowed("gpt-4o"))
        ));
        // An escape forces a copy; the value is still the decoded string.
        assert_eq!(json_model(r#"{"model": "a\/b"}"#).as_deref(), Some("a/b"));
        for s in [
            r#"["gpt-4o"]"#,
            r#"{"model": 4}"#,
            r#"{"model": "  "}"#,
            "{",
            "{}",
        ] {
            assert_eq!(json_model(s), None, "{s}");
        }
    }

    #[test]
    fn operation_names_and_kinds_match_without_case() {
        assert_eq!(Operation::parse("CHAT"), Operation::Chat);
        assert_eq!(Operation::parse("Reranker"), Operation::Rerank);
        assert_eq!(Operation::parse("Plan"), Operation::Other("Plan".into()));
        assert_eq!(openinference_kind("llm"), Some(Operation::Chat));
        assert_eq!(openinference_kind("Unknown"), None);
        assert_eq!(
            openinference_kind("GUARDRAIL"),
            Some(Operation::Other("guardrail".into()))
        );
    }

    #[test]
    fn agent_and_tool_names_from_the_span_name() {
        let oi_agent = Span {
            name: "weather-agent".into(),
            attributes: vec![kv("openinference.span.kind", s("AGENT"))],
            ..Default::default()
        };
        let c = normalize(None, None, &oi_agent);
        assert_eq!(c.operation, Some(Operation::InvokeAgent));
        assert_eq!(c.agent_name.as_deref(), Some("weather-agent"));
        // An attribute wins over the name.
        let named = Span {
            attributes: vec![
                kv("openinference.span.kind", s("agent")),
                kv("gen_ai.agent.name", s("planner")),
            ],
            ..oi_agent.clone()
        };
        assert_eq!(
            normalize(None, None, &named).agent_name.as_deref(),
            Some("planner")
        );
        // An LLM span is not an agent because of its name.
        let llm = Span {
            attributes: vec![kv("openinference.span.kind", s("LLM"))],
            ..oi_agent
        };
        assert_eq!(normalize(None, None, &llm).agent_name, None);

        let openlit = InstrumentationScope {
            name: "openlit".into(),
            ..Default::default()
        };
        let traced = Span {
            name: "get_weather_tool".into(),
            attributes: vec![
                kv("function.args", s("()")),
                kv("function.kwargs", s("{'city': 'Paris'}")),
            ],
            ..Default::default()
        };
        let c = normalize(None, Some(&openlit), &traced);
        assert_eq!(c.operation, Some(Operation::ExecuteTool));
        assert_eq!(c.tool_name.as_deref(), Some("get_weather_tool"));
        // Another scope's `function.args` means nothing.
        assert!(normalize(None, None, &traced).is_empty());
        // Dropped by the content policy, the key is still known to have been sent.
        let mut dropped = traced.clone();
        crate::ContentPolicy::new(false, &[])
            .expect("policy")
            .apply(&mut dropped);
        assert!(
            dropped
                .attributes
                .iter()
                .all(|kv| kv.key != "function.args")
        );
        assert_eq!(normalize(None, Some(&openlit), &dropped), c);
    }
}
