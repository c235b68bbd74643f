use std::collections::{HashMap, HashSet};

use prost::Message;

use super::*;

const START: u64 = 1_750_000_000_000_000_000;

/// The spans of `n` traces, one `Vec` per trace.
fn traces(seed: u64, n: usize) -> Vec<Vec<Span>> {
    let mut traffic = TrafficGen::new(seed);
    (0..n)
        .map(|i| {
            let resource_spans = traffic.trace(START + i as u64 * 1_000 * MS);
            resource_spans
                .into_iter()
                .flat_map(|rs| rs.scope_spans)
                .flat_map(|ss| ss.spans)
                .collect()
        })
        .collect()
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    let kv = span.attributes.iter().find(|kv| kv.key == key)?;
    kv.value.as_ref()?.value.as_ref()
}

fn attr_str<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attr(span, key)? {
        Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn failed(span: &Span) -> bool {
    span.status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32)
}

#[test]
fn traces_have_one_root_and_known_parents() {
    let all = traces(7, 1000);
    for spans in &all {
        let ids: HashSet<&[u8]> = spans.iter().map(|s| s.span_id.as_slice()).collect();
        let roots: Vec<&Span> = spans
            .iter()
            .filter(|s| s.parent_span_id.is_empty())
            .collect();
        assert_eq!(roots.len(), 1);
        assert!(roots[0].name.starts_with("invoke_agent "));
        assert_eq!(roots[0].kind, SpanKind::Internal as i32);
        for span in spans {
            assert_eq!(span.trace_id, spans[0].trace_id);
            assert!(span.parent_span_id.is_empty() || ids.contains(span.parent_span_id.as_slice()));
            let expected = if span.name.starts_with("chat ") {
                SpanKind::Client
            } else {
                SpanKind::Internal
            };
            assert_eq!(span.kind, expected as i32, "{}", span.name);
        }
    }
    let spans: usize = all.iter().map(Vec::len).sum();
    let mean = spans as f64 / all.len() as f64;
    assert!((7.0..=9.5).contains(&mean), "{mean} spans per trace");
    let delegated = all.iter().filter(|t| {
        t.iter()
            .filter(|s| s.name.starts_with("invoke_agent"))
            .count()
            > 1
    });
    assert!(delegated.count() > 100, "sub-agents are rare but present");
}

#[test]
fn children_run_inside_their_parents() {
    for spans in traces(11, 1000) {
        let by_id: HashMap<&[u8], &Span> =
            spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
        for span in &spans {
            assert!(
                span.start_time_unix_nano < span.end_time_unix_nano,
                "{}",
                span.name
            );
            assert!(span.start_time_unix_nano >= START);
            let millis = (span.end_time_unix_nano - span.start_time_unix_nano) / MS;
            if span.name.starts_with("chat ") {
                assert!(
                    (300..=4000).contains(&millis),
                    "{} took {millis} ms",
                    span.name
                );
            } else if span.name.starts_with("execute_tool ") {
                assert!(
                    (5..=800).contains(&millis),
                    "{} took {millis} ms",
                    span.name
                );
            }
            if let Some(parent) = by_id.get(span.parent_span_id.as_slice()) {
                assert!(span.start_time_unix_nano > parent.start_time_unix_nano);
                assert!(span.end_time_unix_nano < parent.end_time_unix_nano);
            }
        }
    }
}

#[test]
fn ids_are_unique_and_not_zero() {
    let all = traces(3, 2000);
    let mut trace_ids = HashSet::new();
    let mut span_ids = HashSet::new();
    for spans in &all {
        assert_eq!(spans[0].trace_id.len(), 16);
        assert!(spans[0].trace_id.iter().any(|&b| b != 0));
        assert!(trace_ids.insert(spans[0].trace_id.clone()));
        for span in spans {
            assert_eq!(span.span_id.len(), 8);
            assert!(span.span_id.iter().any(|&b| b != 0));
            assert!(span_ids.insert(span.span_id.clone()));
        }
    }
}

#[test]
fn spans_carry_genai_attributes() {
    let spans: Vec<Span> = traces(5, 1000).into_iter().flatten().collect();
    let attributes: usize = spans.iter().map(|s| s.attributes.len()).sum();
    let mean = attributes as f64 / spans.len() as f64;
    assert!(mean >= 12.0, "{mean} attributes per span");
    for span in &spans {
        let operation = attr_str(span, "gen_ai.operation.name").expect("operation name");
        assert!(
            span.name.starts_with(operation),
            "{} / {operation}",
            span.name
        );
        assert!(attr_str(span, "gen_ai.conversation.id").is_some());
        if operation == "chat" && !failed(span) {
            assert!(
                matches!(attr(span, "gen_ai.usage.input_tokens"), Some(Value::IntValue(n)) if *n > 0)
            );
            assert!(
                matches!(attr(span, "gen_ai.response.finish_reasons"), Some(Value::ArrayValue(a)) if a.values.len() == 1)
            );
            assert!(attr_str(span, "gen_ai.response.model").is_some());
        }
        if operation == "execute_tool" {
            assert!(attr_str(span, "gen_ai.tool.name").is_some());
        }
    }
    let cached = spans
        .iter()
        .filter(|s| attr(s, "gen_ai.usage.cache_read.input_tokens").is_some());
    assert!(cached.count() > 100);
    let providers: HashSet<&str> = spans
        .iter()
        .filter_map(|s| attr_str(s, "gen_ai.provider.name"))
        .collect();
    assert_eq!(
        providers,
        HashSet::from(["openai", "anthropic", "gcp.gemini"])
    );
}

#[test]
fn about_five_percent_of_traces_fail() {
    let all = traces(42, 4000);
    let failing = all.iter().filter(|t| t.iter().any(failed)).count();
    let rate = failing as f64 / all.len() as f64;
    assert!((0.035..=0.065).contains(&rate), "{rate} of traces failed");
    for span in all.iter().flatten().filter(|s| failed(s)) {
        assert!(attr_str(span, "error.type").is_some(), "{}", span.name);
        let event = span
            .events
            .iter()
            .find(|e| e.name == "exception")
            .expect("exception event");
        let keys: Vec<&str> = event.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "exception.type",
                "exception.message",
                "exception.stacktrace"
            ]
        );
    }
    let tool_failures = all
        .iter()
        .flatten()
        .filter(|s| failed(s) && s.name.starts_with("execute_tool"));
    let chat_failures = all
        .iter()
        .flatten()
        .filter(|s| failed(s) && s.name.starts_with("chat"));
    assert!(tool_failures.count() > 30 && chat_failures.count() > 30);
}

#[test]
fn some_conversations_span_several_traces() {
    let mut runs: HashMap<String, usize> = HashMap::new();
    for spans in traces(9, 500) {
        let root = spans
            .iter()
            .find(|s| s.parent_span_id.is_empty())
            .expect("root");
        let id = attr_str(root, "gen_ai.conversation.id").expect("conversation id");
        *runs.entry(id.to_string()).or_default() += 1;
    }
    let continued = runs.values().filter(|&&n| n > 1).count();
    assert!(
        continued >= 20,
        "{continued} conversations with several runs"
    );
    assert!(runs.len() > 250);
}

#[test]
fn requests_round_trip_through_protobuf() {
    let mut traffic = TrafficGen::new(1);
    let request = traffic.request(10, START);
    let bytes = request.encode_to_vec();
    let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(decoded, request);
    let traces: HashSet<&[u8]> = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| s.trace_id.as_slice())
        .collect();
    assert_eq!(traces.len(), 10);
    assert!(request.resource_spans.len() <= SERVICES.len() * INSTANCES_PER_SERVICE);
    for rs in &request.resource_spans {
        let resource = rs.resource.as_ref().expect("resource");
        let keys: Vec<&str> = resource
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect();
        assert!(keys.contains(&"service.name") && keys.contains(&"telemetry.sdk.language"));
        assert_eq!(rs.scope_spans.len(), 1);
    }
}

#[test]
fn the_same_seed_gives_the_same_traffic() {
    let a = TrafficGen::new(99).request(20, START);
    let b = TrafficGen::new(99).request(20, START);
    let c = TrafficGen::new(100).request(20, START);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn the_catalog_is_consistent() {
    let mut agents: Vec<&Agent> = SERVICES.iter().flat_map(|s| s.agents).copied().collect();
    agents.extend(agents.clone().iter().filter_map(|a| a.sub_agent));
    for agent in agents {
        assert!(
            !agent.models.is_empty() && !agent.tools.is_empty(),
            "{}",
            agent.name
        );
        assert_eq!(agent.questions.len(), agent.answers.len(), "{}", agent.name);
        if let Some(sub) = agent.sub_agent {
            assert_eq!(sub.questions.len(), agent.questions.len(), "{}", sub.name);
        }
        for tool in agent.tools {
            assert!(!tool.results.is_empty(), "{}", tool.name);
            assert!(tool.millis.0 >= 5 && tool.millis.1 <= 800, "{}", tool.name);
            for arguments in tool.arguments {
                let parsed: Json = serde_json::from_str(arguments).expect("JSON arguments");
                assert!(parsed.is_object(), "{}", tool.name);
            }
        }
    }
}

#[test]
fn captured_content_is_valid_json() {
    for span in traces(13, 300).iter().flatten() {
        for key in [
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.system_instructions",
        ] {
            if let Some(text) = attr_str(span, key) {
                let parsed: Json = serde_json::from_str(text).expect("valid JSON");
                assert!(parsed.is_array(), "{key} is an array");
            }
        }
    }
}
