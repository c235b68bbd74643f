//! Content policy on hand-made spans (corpus payloads are covered in tests/corpus.rs).

use super::*;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{Status, status::StatusCode};

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn span() -> Span {
    Span {
        attributes: vec![
            kv("gen_ai.request.model", "gpt-4o-mini"),
            kv(
                "gen_ai.input.messages",
                r#"[{"role":"user","parts":[{"type":"text","content":"mail me at bob@example.com"}]}]"#,
            ),
            kv(
                "llm.input_messages.0.message.content",
                "card 4111 1111 1111 1111",
            ),
            kv("user.id", "bob@example.com"),
            kv(
                "http.request.header.authorization",
                "Bearer abcdefghijklmnopqrstuvwxyz",
            ),
        ],
        events: vec![
            Event {
                name: "gen_ai.user.message".into(),
                attributes: vec![kv("content", "hi")],
                ..Default::default()
            },
            Event {
                name: "exception".into(),
                attributes: vec![kv(
                    "exception.message",
                    "bad key sk-ABCDEFGHIJKLMNOPQRSTUVWX",
                )],
                ..Default::default()
            },
        ],
        status: Some(Status {
            code: StatusCode::Error as i32,
            message: "401 for key sk-ABCDEFGHIJKLMNOPQRSTUVWX".into(),
        }),
        ..Default::default()
    }
}

fn get<'a>(s: &'a Span, k: &str) -> Option<&'a str> {
    s.attributes.iter().find(|kv| kv.key == k).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

#[test]
fn capture_off_drops_content_and_redacts_secrets() {
    let policy = ContentPolicy::new(false, &[]).expect("valid");
    let mut s = span();
    let st = policy.apply(&mut s);
    assert!(st.changed());
    assert_eq!(st.attributes_dropped, 2);
    assert_eq!(st.events_dropped, 1);
    assert!(get(&s, "gen_ai.input.messages").is_none());
    assert_eq!(
        get(&s, "user.id"),
        Some("bob@example.com"),
        "identifiers are not content"
    );
    assert_eq!(
        get(&s, "http.request.header.authorization"),
        Some("[REDACTED:bearer_token]")
    );
    assert_eq!(s.events.len(), 1);
    assert!(
        s.status
            .as_ref()
            .is_some_and(|st| st.message == "401 for key [REDACTED:api_key]")
    );
}

#[test]
fn capture_on_redacts_content() {
    let policy = ContentPolicy::new(true, &[]).expect("valid");
    let mut s = span();
    let st = policy.apply(&mut s);
    assert_eq!(st.attributes_dropped, 0);
    assert!(
        get(&s, "gen_ai.input.messages")
            .is_some_and(|v| v.contains("[REDACTED:email]") && !v.contains("bob@"))
    );
    assert_eq!(
        get(&s, "llm.input_messages.0.message.content"),
        Some("card [REDACTED:card]")
    );
    assert_eq!(s.events.len(), 2);
}

#[test]
fn plain_span_is_unchanged() {
    let policy = ContentPolicy::new(false, &[]).expect("valid");
    let mut s = Span {
        attributes: vec![kv("http.method", "GET")],
        ..Default::default()
    };
    let before = s.clone();
    assert!(!policy.apply(&mut s).changed());
    assert_eq!(s, before);
}

#[test]
fn bad_user_rule_is_an_error() {
    let rules = [UserRedactRule {
        name: "x".into(),
        pattern: "(".into(),
    }];
    assert!(ContentPolicy::new(true, &rules).is_err());
}

#[test]
fn dropped_content_keys_are_listed_once_and_only_when_dropped() {
    let policy = ContentPolicy::new(false, &[]).expect("valid");
    let mut s = span();
    s.attributes
        .push(kv("llm.input_messages.1.message.role", "user"));
    policy.apply(&mut s);
    let listed: Vec<&str> = s
        .attributes
        .iter()
        .filter(|kv| kv.key == DROPPED_KEYS_ATTR)
        .flat_map(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::ArrayValue(a)) => a.values.iter().collect(),
                _ => Vec::new(),
            },
        )
        .filter_map(|v| match &v.value {
            Some(Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(listed, ["gen_ai.input.messages", "llm.input_messages.*"]);
    assert!(content_key_dropped(&s.attributes, "gen_ai.input.messages"));
    assert!(!content_key_dropped(&s.attributes, "function.args"));
    // Applying the policy again changes nothing (WAL replay sees what live ingest saw).
    let again = s.clone();
    assert!(!policy.apply(&mut s).changed());
    assert_eq!(s, again);
    // With capture on nothing is dropped, so nothing is listed.
    let mut kept = span();
    ContentPolicy::new(true, &[])
        .expect("valid")
        .apply(&mut kept);
    assert!(kept.attributes.iter().all(|kv| kv.key != DROPPED_KEYS_ATTR));
}

#[test]
fn disabled_policy_stores_spans_and_records_as_sent() {
    let p = ContentPolicy::disabled();
    assert!(!p.is_active());
    let mut s = span();
    let st = p.apply(&mut s);
    assert_eq!(s, span(), "content, secrets and events are kept as sent");
    assert!(!st.changed());
    let mut rec = LogRecord {
        event_name: "gen_ai.user.message".into(),
        body: Some(AnyValue {
            value: Some(Value::StringValue("key sk-ABCDEFGHIJKLMNOPQRSTUVWX".into())),
        }),
        ..Default::default()
    };
    let sent = rec.clone();
    assert!(!p.apply_log(&mut rec).changed());
    assert_eq!(rec, sent);
    // The same span under an active policy does change: the test above is not vacuous.
    let mut s = span();
    assert!(
        ContentPolicy::new(false, &[])
            .expect("policy")
            .apply(&mut s)
            .changed()
    );
}

#[test]
fn a_client_sent_dropped_list_is_still_scanned_for_secrets() {
    let policy = ContentPolicy::new(false, &[]).expect("valid");
    let listed = AnyValue {
        value: Some(Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(Value::StringValue(
                    "token sk-ABCDEFGHIJKLMNOPQRSTUVWX".into(),
                )),
            }],
        })),
    };
    let mut s = Span {
        attributes: vec![
            KeyValue {
                key: DROPPED_KEYS_ATTR.into(),
                value: Some(listed),
                ..Default::default()
            },
            kv("gen_ai.prompt.0.content", "hi"),
        ],
        ..Default::default()
    };
    let st = policy.apply(&mut s);
    assert_eq!((st.attributes_dropped, st.values_redacted), (1, 1));
    let Some(Value::ArrayValue(list)) = s.attributes[0]
        .value
        .as_ref()
        .and_then(|v| v.value.as_ref())
    else {
        panic!("list kept: {s:?}");
    };
    let texts: Vec<_> = list
        .values
        .iter()
        .filter_map(|v| match &v.value {
            Some(Value::StringValue(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["token [REDACTED:api_key]", "gen_ai.prompt.*"]);
}

#[test]
fn content_keys_are_found_by_their_shape_and_others_are_not() {
    for k in CONTENT_KEYS {
        assert_eq!(content_key_label(k), Some(*k), "{k}");
    }
    for p in CONTENT_PREFIXES {
        let key = format!("{p}0.content");
        assert_eq!(content_key_label(&key), Some(format!("{p}*").as_str()));
    }
    // Same first byte and length as a content key, or a content key's prefix: not content.
    for k in [
        "gen_ai.prompt_",
        "input.valuE",
        "gen_ai.usage.input_tokens",
        "gen_ai.prompt",
    ] {
        assert_eq!(is_content_key(k), k == "gen_ai.prompt", "{k}");
    }
    assert!(!is_content_key(""));
    assert!(!is_content_key(&"g".repeat(80)));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn content_key_labels_agree_with_a_plain_search(
            key in prop_oneof![
                proptest::sample::select(CONTENT_KEYS).prop_map(str::to_owned),
                proptest::sample::select(CONTENT_PREFIXES).prop_map(|p| format!("{p}0")),
                "(gen_ai|llm|input|output|e)[a-z._]{0,30}",
                "[a-z._]{0,70}",
            ]
        ) {
            let want = match CONTENT_KEYS.iter().find(|k| **k == key) {
                Some(k) => Some(k.to_string()),
                None => CONTENT_PREFIXES
                    .iter()
                    .find(|p| key.starts_with(**p))
                    .map(|p| format!("{p}*")),
            };
            prop_assert_eq!(content_key_label(&key).map(str::to_owned), want);
        }
    }
}
