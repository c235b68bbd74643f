use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use sextant_genai::Canonical;

use super::*;

use crate::tempo_api::tests::{kv, s};

/// The attributes blob the store keeps for a span with `attrs`.
fn blob(attrs: Vec<KeyValue>) -> Vec<u8> {
    Span {
        attributes: attrs,
        ..Default::default()
    }
    .encode_to_vec()
}

/// Whether field `i` (of `FIELDS`) is exact for a span with `attrs` and a column of `column`.
fn exact(i: usize, attrs: Vec<KeyValue>, column: Option<&str>) -> bool {
    let b = blob(attrs);
    Facts::of(&b).is_some_and(|f| f.exact(i, column))
}

const OP: usize = 0;
const MODEL: usize = 1;
const TOOL: usize = 2;

#[test]
fn own_string_equal_to_the_column_is_exact() {
    let attrs = || {
        vec![
            kv("http.method", s("POST")),
            kv("gen_ai.operation.name", s("chat")),
        ]
    };
    assert!(exact(OP, attrs(), Some("chat")));
    assert!(!exact(OP, attrs(), Some("embeddings")));
    assert!(!exact(OP, attrs(), None));
    // The normalizer canonicalizes the spelling; TraceQL sees it as sent.
    assert!(!exact(
        OP,
        vec![kv("gen_ai.operation.name", s("Chat"))],
        Some("chat")
    ));
}

#[test]
fn non_strings_and_repeats_are_not_vouched_for() {
    assert!(!exact(
        MODEL,
        vec![kv("gen_ai.request.model", V::IntValue(4))],
        None
    ));
    let twice = vec![
        kv("gen_ai.request.model", s("a")),
        kv("gen_ai.request.model", s("a")),
    ];
    assert!(!exact(MODEL, twice, Some("a")));
    let blank = vec![kv("gen_ai.request.model", s(" "))];
    assert!(!exact(MODEL, blank, None));
}

#[test]
fn absent_key_trusts_the_column_unless_ingest_and_fallback_can_differ() {
    // A dialect key the normalizer read at ingest: the fallback reads it too.
    let oi = || vec![kv("llm.model", s("gpt-4o-mini"))];
    assert!(exact(MODEL, oi(), Some("gpt-4o-mini")));
    // ...but a null column next to it means the store did not enrich the span.
    assert!(!exact(MODEL, oi(), None));
    assert!(exact(MODEL, vec![kv("http.method", s("GET"))], None));
    assert!(exact(MODEL, Vec::new(), None));
    // openlit's tool name depends on the scope, which the fallback does not see.
    let openlit = vec![kv("function.args", s("{}"))];
    assert!(!exact(TOOL, openlit.clone(), Some("lookup")));
    assert!(!exact(OP, openlit, Some("execute_tool")));
    // The content policy's list of dropped keys: only a dropped scope-bound key matters.
    let dropped = |keys: &[&str]| {
        let values = keys
            .iter()
            .map(|k| AnyValue { value: Some(s(k)) })
            .collect();
        let list = V::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue { values });
        vec![kv(DROPPED_KEYS_ATTR, list)]
    };
    assert!(!exact(
        TOOL,
        dropped(&["input.value", "function.args"]),
        None
    ));
    assert!(!exact(
        OP,
        dropped(&["function.args"]),
        Some("execute_tool")
    ));
    assert!(exact(TOOL, dropped(&["input.value", "output.value"]), None));
    assert!(exact(OP, dropped(&["gen_ai.prompt.*"]), Some("chat")));
    // A list that is not one (or holds a non-string) is not trusted.
    assert!(!exact(TOOL, vec![kv(DROPPED_KEYS_ATTR, s("x"))], None));
    let odd = V::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
        values: vec![AnyValue {
            value: Some(V::IntValue(1)),
        }],
    });
    assert!(!exact(TOOL, vec![kv(DROPPED_KEYS_ATTR, odd)], None));
}

#[test]
fn malformed_blobs_are_not_vouched_for() {
    let mut b = blob(vec![kv("gen_ai.operation.name", s("chat"))]);
    b.truncate(b.len() - 2);
    assert!(Facts::of(&b).is_none_or(|f| !f.exact(OP, Some("chat"))));
    assert!(Facts::of(&[0xff]).is_none());
}

/// The rule the check rests on: whatever other keys fill the same field, in whatever order,
/// the normalizer keeps the canonical key's string as sent (the operation: its canonical
/// spelling, which is how the known names are sent).
#[test]
fn normalizer_takes_the_canonical_key_first() {
    let value = |i: usize, c: &Canonical| match i {
        OP => c.operation.as_ref().map(|o| o.as_str().to_string()),
        MODEL => c.request_model.clone(),
        _ => c.tool_name.clone(),
    };
    for (i, (key, _, field)) in FIELDS.iter().enumerate() {
        let own = if i == OP { "execute_tool" } else { "own-value" };
        let others: Vec<KeyValue> = RULES
            .iter()
            .filter(|r| r.field == *field && r.key != *key)
            .map(|r| kv(r.key, s("{\"model\": \"other\"}")))
            .collect();
        for own_first in [true, false] {
            let mut attrs = others.clone();
            let at = if own_first { 0 } else { attrs.len() };
            attrs.insert(at, kv(key, s(own)));
            let span = Span {
                name: "other-name".into(),
                attributes: attrs.clone(),
                ..Default::default()
            };
            let c = sextant_genai::normalize(None, None, &span);
            assert_eq!(value(i, &c).as_deref(), Some(own), "{key}");
            assert!(exact(i, attrs, Some(own)), "{key}");
        }
    }
}
