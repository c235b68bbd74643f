//! `ContentPolicy::apply_log` on log records: every corpus `*.logs.pb` (read in place) loses its
//! content by default and keeps it when capture is on; with capture on, content in a record's
//! body and attributes is redacted with markers, and secrets are redacted outside content too.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use sextant_genai::ContentPolicy;
use sextant_genai::content::{is_content_event, is_content_key};
use sextant_genai::redact::UserRedactRule;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

fn corpus_logs() -> Vec<(String, ExportLogsServiceRequest)> {
    let mut out = Vec::new();
    for lib in std::fs::read_dir(CORPUS).expect("../shared/corpus beside the repository") {
        let lib = lib.expect("entry").path();
        if !lib.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&lib).expect("library folder") {
            let path = f.expect("entry").path();
            let name = path.to_string_lossy().into_owned();
            if name.ends_with(".logs.pb") {
                let bytes = std::fs::read(&path).expect("read");
                let req = ExportLogsServiceRequest::decode(bytes.as_slice()).expect("valid OTLP");
                out.push((name, req));
            }
        }
    }
    out
}

fn records(req: &mut ExportLogsServiceRequest) -> impl Iterator<Item = &mut LogRecord> {
    req.resource_logs
        .iter_mut()
        .flat_map(|r| r.scope_logs.iter_mut())
        .flat_map(|s| s.log_records.iter_mut())
}

fn has_content(rec: &LogRecord) -> bool {
    let body = rec.body.as_ref().is_some_and(|b| match &b.value {
        Some(Value::StringValue(s)) => !s.is_empty(),
        Some(_) => true,
        None => false,
    });
    (is_content_event(&rec.event_name) && body)
        || rec.attributes.iter().any(|kv| is_content_key(&kv.key))
}

#[test]
fn corpus_log_records_lose_their_content_by_default() {
    let policy = ContentPolicy::new(false, &[]).expect("valid policy");
    let (mut with_content, mut files) = (0, 0);
    for (name, mut req) in corpus_logs() {
        files += 1;
        for rec in records(&mut req) {
            let had = has_content(rec);
            let st = policy.apply_log(rec);
            assert!(
                !has_content(rec),
                "{name}: content left in {}",
                rec.event_name
            );
            if is_content_event(&rec.event_name) {
                assert!(rec.body.is_none(), "{name}: body kept");
            }
            if had {
                with_content += 1;
                assert!(st.changed(), "{name}: content dropped but not reported");
            }
        }
    }
    assert!(files >= 20, "only {files} log files");
    assert!(
        with_content >= 30,
        "only {with_content} records had content"
    );
}

#[test]
fn corpus_log_records_keep_their_content_when_capture_is_on() {
    let policy = ContentPolicy::new(true, &[]).expect("valid policy");
    let mut kept = 0;
    for (name, mut req) in corpus_logs() {
        for rec in records(&mut req) {
            let before = has_content(rec);
            policy.apply_log(rec);
            assert_eq!(has_content(rec), before, "{name}: {}", rec.event_name);
            kept += usize::from(before);
        }
    }
    assert!(kept >= 30, "only {kept} records kept content");
}

fn s(v: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::StringValue(v.to_string())),
    })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value,
        ..Default::default()
    }
}

fn text(v: &AnyValue) -> String {
    match &v.value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::KvlistValue(l)) => l
            .values
            .iter()
            .filter_map(|kv| kv.value.as_ref().map(text))
            .collect::<Vec<_>>()
            .join(" "),
        Some(Value::ArrayValue(a)) => a.values.iter().map(text).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

#[test]
fn captured_log_content_is_redacted_with_markers() {
    let rule = UserRedactRule {
        name: "ticket".into(),
        pattern: r"TCK-\d{5}".into(),
    };
    let policy = ContentPolicy::new(true, &[rule]).expect("valid policy");
    let secret = "bob@example.com sk-abcdefghijklmnopqrstuvwx TCK-12345";
    // Deprecated per-message event: the content is in a kvlist body.
    let mut user_message = LogRecord {
        event_name: "gen_ai.user.message".into(),
        body: Some(AnyValue {
            value: Some(Value::KvlistValue(KeyValueList {
                values: vec![kv("content", s(secret))],
            })),
        }),
        attributes: vec![kv("gen_ai.provider.name", s("openai"))],
        ..Default::default()
    };
    let st = policy.apply_log(&mut user_message);
    let body = text(user_message.body.as_ref().expect("body kept"));
    for marker in [
        "[REDACTED:email]",
        "[REDACTED:api_key]",
        "[REDACTED:ticket]",
    ] {
        assert!(body.contains(marker), "{marker} missing in {body}");
    }
    assert!(!body.contains("bob@example.com") && !body.contains("TCK-12345"));
    assert_eq!(st.values_redacted, 3);

    // Current event: content in structured attributes; other attributes only lose secrets.
    let messages = AnyValue {
        value: Some(Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: vec![kv("role", s("user")), kv("content", s(secret))],
                })),
            }],
        })),
    };
    let mut details = LogRecord {
        event_name: "gen_ai.client.inference.operation.details".into(),
        attributes: vec![
            kv("gen_ai.input.messages", Some(messages)),
            kv("gen_ai.request.model", s("gpt-4o-mini")),
        ],
        ..Default::default()
    };
    policy.apply_log(&mut details);
    let input = text(details.attributes[0].value.as_ref().expect("kept"));
    assert!(input.contains("[REDACTED:email]") && input.contains("[REDACTED:ticket]"));
    assert_eq!(
        details.attributes[1].value,
        s("gpt-4o-mini"),
        "not content, no secret"
    );

    // A plain application log: personal data is not content there, but a token is a secret.
    let mut app = LogRecord {
        body: s("login by bob@example.com with Bearer abcdefghijklmnop"),
        ..Default::default()
    };
    policy.apply_log(&mut app);
    let body = text(app.body.as_ref().expect("body"));
    assert!(body.contains("bob@example.com"), "{body}");
    assert!(
        body.contains("[REDACTED:bearer_token]") && !body.contains("abcdefghijklmnop"),
        "{body}"
    );
}
