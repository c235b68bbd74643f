//! The splice must give exactly what decoding and `ContentPolicy::apply` give.

use super::*;
use crate::content::{is_content_event, is_content_key};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value,
};
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use proptest::prelude::*;
use prost::Message;

fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(v.into())),
    }
}

fn kv(k: &str, v: AnyValue) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(v),
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn dropping() -> ContentPolicy {
    ContentPolicy::new(false, &[]).expect("built-in rules compile")
}

/// Decoding then applying the policy, as ingest does without the splice.
fn applied(policy: &ContentPolicy, body: &[u8]) -> (ExportTraceServiceRequest, ContentStats) {
    let mut req = ExportTraceServiceRequest::decode(body).expect("valid body");
    let total = policy.apply_request(&mut req);
    (req, total)
}

/// The spliced request and stats, or `None` when the splice declined. Checks that each span's
/// attribute run, where the splice found one, holds exactly that span's attributes.
fn spliced(
    policy: &ContentPolicy,
    body: &[u8],
) -> Option<(ExportTraceServiceRequest, ContentStats)> {
    let sp = policy.splice_otlp(body)?;
    let out = sp.body.as_deref().unwrap_or(body);
    let req = ExportTraceServiceRequest::decode(out).expect("the splice keeps the body valid");
    let spans: Vec<&Span> = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    assert_eq!(sp.attributes.len(), spans.len(), "one run per span");
    for (span, run) in spans.iter().zip(&sp.attributes) {
        if let Some((from, to)) = *run {
            let blob = Span::decode(&out[from..to]).expect("a run decodes as span fields");
            let want = Span {
                attributes: span.attributes.clone(),
                ..Default::default()
            };
            assert_eq!(blob, want);
        }
    }
    Some((req, sp.stats))
}

fn agent_span() -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: "chat gpt-4o-mini".into(),
        attributes: vec![
            kv("gen_ai.request.model", s("gpt-4o-mini")),
            kv("input.value", s(&"a long prompt ".repeat(40))),
            kv("gen_ai.prompt.0.content", s("hello")),
            kv("gen_ai.prompt.1.content", s("again")),
            kv("user.id", s("user-17")),
            kv("output.value", s("the answer")),
        ],
        events: vec![
            Event {
                name: "gen_ai.choice".into(),
                attributes: vec![kv("message", s("hi there"))],
                ..Default::default()
            },
            Event {
                name: "exception".into(),
                attributes: vec![kv("exception.type", s("ValueError"))],
                ..Default::default()
            },
        ],
        status: Some(Status {
            message: "rate limited, retry later".into(),
            code: 2,
        }),
        ..Default::default()
    }
}

#[test]
fn cuts_content_and_lists_it_as_apply_does() {
    let policy = dropping();
    let body = request(vec![agent_span(), agent_span()]).encode_to_vec();
    let (got, st) = spliced(&policy, &body).expect("nothing here needs decoding");
    let (want, want_st) = applied(&policy, &body);
    assert_eq!(got, want);
    assert_eq!(st, want_st);
    assert_eq!(st.attributes_dropped, 8);
    assert_eq!(st.events_dropped, 2);
    let attrs = &got.resource_spans[0].scope_spans[0].spans[0].attributes;
    let listed = attrs.last().expect("the dropped-keys list");
    assert_eq!(listed.key, DROPPED_KEYS_ATTR);
    assert_eq!(
        listed.value,
        Some(AnyValue {
            value: Some(Value::ArrayValue(ArrayValue {
                values: vec![s("input.value"), s("gen_ai.prompt.*"), s("output.value")],
            })),
        })
    );
}

#[test]
fn a_body_without_content_is_left_as_sent() {
    let mut span = agent_span();
    span.attributes.retain(|kv| !is_content_key(&kv.key));
    span.events.retain(|e| !is_content_event(&e.name));
    let body = request(vec![span]).encode_to_vec();
    let sp = dropping().splice_otlp(&body).expect("clean body");
    assert!(sp.body.is_none());
    assert!(!sp.stats.changed());
}

#[test]
fn declines_what_only_the_decoding_path_can_do() {
    let policy = dropping();
    let with = |f: &dyn Fn(&mut Span)| {
        let mut span = agent_span();
        f(&mut span);
        request(vec![span]).encode_to_vec()
    };
    let secret = with(&|sp| {
        sp.attributes
            .push(kv("auth", s("Bearer abcdefghijklmnopqrstuvwxyz")))
    });
    let nested_secret = with(&|sp| {
        let list = KeyValueList {
            values: vec![kv("k", s("sk-proj-abcdefghijklmnopqrstuvwxyz0123"))],
        };
        sp.attributes.push(kv(
            "cfg",
            AnyValue {
                value: Some(Value::KvlistValue(list)),
            },
        ));
    });
    let status_secret = with(&|sp| {
        sp.status = Some(Status {
            message: "key sk-abcdefghijklmnopqrstuvwxyz0123 refused".into(),
            code: 2,
        })
    });
    let listed = with(&|sp| sp.attributes.push(kv(DROPPED_KEYS_ATTR, s("x"))));
    let event_content = with(&|sp| sp.events[1].attributes.push(kv("input.value", s("p"))));
    for body in [secret, nested_secret, status_secret, listed, event_content] {
        assert!(policy.splice_otlp(&body).is_none());
    }
    let body = request(vec![agent_span()]).encode_to_vec();
    assert!(
        policy.splice_otlp(&body[..body.len() - 3]).is_none(),
        "truncated"
    );
    assert!(
        ContentPolicy::new(true, &[])
            .expect("policy")
            .splice_otlp(&body)
            .is_none(),
        "capture redacts values: decode"
    );
}

#[test]
fn a_disabled_policy_changes_nothing_and_finds_every_run() {
    let body = request(vec![agent_span(), agent_span()]).encode_to_vec();
    let (got, st) = spliced(&ContentPolicy::disabled(), &body).expect("walks");
    assert_eq!(
        got,
        ExportTraceServiceRequest::decode(body.as_slice()).expect("valid")
    );
    assert!(!st.changed());
    let sp = ContentPolicy::disabled().splice_otlp(&body).expect("walks");
    assert!(sp.body.is_none());
    assert!(sp.attributes.iter().all(Option::is_some));
}

/// Wraps encoded span bytes in a request (by hand, to keep their field order).
fn request_of_span_bytes(span: &[u8]) -> Vec<u8> {
    let wrap = |field: u32, inner: &[u8]| {
        let mut out = Vec::new();
        prost::encoding::encode_key(field, prost::encoding::WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(inner.len() as u64, &mut out);
        out.extend_from_slice(inner);
        out
    };
    wrap(1, &wrap(2, &wrap(2, span)))
}

#[test]
fn runs_are_found_after_cuts_and_missing_when_attributes_are_split() {
    let policy = dropping();
    // Only content attributes: the run is the dropped-keys list alone.
    let mut only_content = agent_span();
    only_content.attributes.retain(|kv| is_content_key(&kv.key));
    let body = request(vec![only_content]).encode_to_vec();
    let sp = policy.splice_otlp(&body).expect("clean");
    assert!(sp.attributes[0].is_some());
    spliced(&policy, &body).expect("checked");
    // An attribute after the events and status: two runs, so none is reported.
    let mut bytes = agent_span().encode_to_vec();
    prost::encoding::message::encode(9, &kv("late", s("v")), &mut bytes);
    let body = request_of_span_bytes(&bytes);
    let sp = policy.splice_otlp(&body).expect("clean");
    assert_eq!(sp.attributes, vec![None]);
    let (got, _) = spliced(&policy, &body).expect("checked");
    let (want, _) = applied(&policy, &body);
    assert_eq!(got, want);
    // A content attribute after the events is cut; the rest is still one run.
    let mut bytes = agent_span().encode_to_vec();
    prost::encoding::message::encode(9, &kv("input.value", s("late prompt")), &mut bytes);
    let body = request_of_span_bytes(&bytes);
    assert!(policy.splice_otlp(&body).expect("clean").attributes[0].is_some());
    let (got, _) = spliced(&policy, &body).expect("checked");
    assert_eq!(got, applied(&policy, &body).0);
}

const KEYS: &[&str] = &[
    "input.value",
    "output.value",
    "gen_ai.prompt.0.content",
    "llm.input_messages.3.message.content",
    "llm.prompt_template.variables",
    "function.args",
    "gen_ai.request.model",
    "user.id",
    "g",
    "",
    DROPPED_KEYS_ATTR,
];

const STRINGS: &[&str] = &[
    "",
    "gpt-4o-mini",
    "a plain sentence of ordinary prose that is long enough to be scanned for secrets",
    "Bearer abcdefghijklmnopqrstuvwxyz",
    "mail bob@example.com",
    "é😀 unicode",
];

fn arb_value(depth: u32) -> BoxedStrategy<AnyValue> {
    let leaf = prop_oneof![
        prop::sample::select(STRINGS).prop_map(s),
        any::<i64>().prop_map(|i| AnyValue {
            value: Some(Value::IntValue(i))
        }),
        Just(AnyValue { value: None }),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => prop::collection::vec(arb_value(depth - 1), 0..3).prop_map(|values| AnyValue {
            value: Some(Value::ArrayValue(ArrayValue { values }))
        }),
        1 => prop::collection::vec(arb_kv(depth - 1), 0..3).prop_map(|values| AnyValue {
            value: Some(Value::KvlistValue(KeyValueList { values }))
        }),
    ]
    .boxed()
}

fn arb_kv(depth: u32) -> BoxedStrategy<KeyValue> {
    (
        prop::sample::select(KEYS),
        proptest::option::of(arb_value(depth)),
    )
        .prop_map(|(k, value)| KeyValue {
            key: k.into(),
            value,
            ..Default::default()
        })
        .boxed()
}

fn arb_span() -> impl Strategy<Value = Span> {
    let event = (
        prop::sample::select(&["gen_ai.choice", "exception", "gen_ai.user.message", ""][..]),
        prop::collection::vec(arb_kv(1), 0..3),
    )
        .prop_map(|(name, attributes)| Event {
            name: name.into(),
            attributes,
            ..Default::default()
        });
    (
        prop::collection::vec(arb_kv(2), 0..8),
        prop::collection::vec(event, 0..3),
        proptest::option::of(prop::sample::select(STRINGS)),
        any::<u64>(),
    )
        .prop_map(|(attributes, events, message, t)| Span {
            trace_id: vec![7; 16],
            span_id: t.to_le_bytes().to_vec(),
            name: "op".into(),
            start_time_unix_nano: t,
            attributes,
            events,
            status: message.map(|m| Status {
                message: m.into(),
                code: 1,
            }),
            ..Default::default()
        })
}

proptest! {
    #[test]
    fn splice_equals_decode_then_apply(
        groups in prop::collection::vec(prop::collection::vec(arb_span(), 0..4), 0..3),
    ) {
        let policy = dropping();
        let req = ExportTraceServiceRequest {
            resource_spans: groups
                .into_iter()
                .map(|spans| ResourceSpans {
                    scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                    ..Default::default()
                })
                .collect(),
        };
        let body = req.encode_to_vec();
        if let Some((got, st)) = spliced(&policy, &body) {
            let (want, want_st) = applied(&policy, &body);
            prop_assert_eq!(got, want);
            prop_assert_eq!(st, want_st);
        }
    }

    #[test]
    fn clean_bodies_always_splice(spans in prop::collection::vec(arb_span(), 0..6)) {
        // Without a secret, a client-sent list or content in a kept event, nothing needs decoding.
        let clean = |v: &AnyValue| !matches!(&v.value, Some(Value::StringValue(x)) if x.contains("Bearer"));
        let mut spans = spans;
        for sp in &mut spans {
            sp.attributes.retain(|kv| kv.key != DROPPED_KEYS_ATTR && kv.value.as_ref().is_none_or(|v| clean(v) && !nested(v)));
            for ev in &mut sp.events {
                ev.attributes.clear();
            }
            sp.status = None;
        }
        let body = request(spans).encode_to_vec();
        prop_assert!(dropping().splice_otlp(&body).is_some());
    }

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Some(sp) = dropping().splice_otlp(&body) {
            // What the splice accepts, prost must still be the judge of.
            let _ = ExportTraceServiceRequest::decode(sp.body.as_deref().unwrap_or(&body));
        }
    }
}

fn nested(v: &AnyValue) -> bool {
    matches!(v.value, Some(Value::ArrayValue(_) | Value::KvlistValue(_)))
}
