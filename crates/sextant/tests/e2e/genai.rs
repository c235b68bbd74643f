//! GenAI semantics over the wire: corpus payloads of every library posted with curl, then trace
//! summaries (tokens exact, cost to 1e-9 USD), the cost report, conversations and the listing
//! filters checked against the per-span expectations of `crates/genai/tests/corpus_spans.json`;
//! prompt content dropped by default (also read back from disk after a restart) and redacted
//! with markers when a config file enables it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::Value;
use sextant_genai::content::{is_content_event, is_content_key};

use crate::e2e::client::{get, post_file, trace_spans};
use crate::e2e::harness::{Server, shared};

const EXPECTATIONS: &str = include_str!("../../../genai/tests/corpus_spans.json");
const PROTOBUF: &str = "Content-Type: application/x-protobuf";
const MODEL_CALLS: &[&str] = &["chat", "embeddings", "text_completion", "generate_content"];
/// Keep every payload whatever its age (corpus timestamps may be older than the retention).
const KEEP_ALL: (&str, &str) = ("SEXTANT_STORAGE_RETENTION_MAX_AGE_HOURS", "0");
/// openlit's `@openlit.trace` tool span is recognised by its `function.args`, which the default
/// content policy drops before the WAL; the policy lists the dropped keys on the span so the
/// tool call still counts (pinned by `openlit_traced_tool_counts_with_content_dropped`).
const OPENLIT_TRACED: &str = "openlit/agent-content_off-http_protobuf.traces.pb";

fn get_json(base: &str, path: &str) -> Value {
    let (code, body) = get(base, path);
    assert_eq!(code, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON response")
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 60
}

/// One posted payload: its expectations entry.
struct Posted<'a> {
    exp: &'a Value,
}

/// Per library, every `content_off` protobuf payload, skipping any whose trace ids another chosen
/// file already holds (the same trace may be captured twice).
fn choose(expectations: &[Value]) -> Vec<Posted<'_>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for exp in expectations {
        let file = exp["file"].as_str().unwrap_or_default();
        if !file.ends_with("-content_off-http_protobuf.traces.pb") {
            continue;
        }
        let ids: Vec<&str> = traces(exp).filter_map(|t| t["trace_id"].as_str()).collect();
        if ids.iter().any(|id| seen.contains(id)) {
            continue;
        }
        seen.extend(ids);
        out.push(Posted { exp });
    }
    out
}

fn traces(exp: &Value) -> impl Iterator<Item = &Value> {
    exp["traces"].as_array().into_iter().flatten()
}

fn spans(exp: &Value) -> impl Iterator<Item = &Value> {
    exp["spans"].as_array().into_iter().flatten()
}

fn is_model_call(span: &Value) -> bool {
    span["operation"]
        .as_str()
        .is_some_and(|op| MODEL_CALLS.contains(&op))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn post_corpus(server: &Server, file: &str) {
    let path = shared().join("corpus").join(file);
    let (code, body) = post_file(&server.otlp_http, "/v1/traces", &path, &[PROTOBUF]);
    assert_eq!(code, 200, "{file}: {}", String::from_utf8_lossy(&body));
}

fn check_summary(api: &str, file: &str, want: &Value) {
    let id = want["trace_id"].as_str().expect("trace id");
    let got = get_json(api, &format!("/sextant/api/v1/traces/{id}/summary"));
    for k in [
        ("inputTokens", "input_tokens"),
        ("outputTokens", "output_tokens"),
        ("cacheReadTokens", "cache_read_tokens"),
        ("llmCalls", "llm_calls"),
        ("toolCalls", "tool_calls"),
    ] {
        assert_eq!(got[k.0], want[k.1], "{file} trace {id} {}: {got}", k.0);
    }
    let (g, w) = (got["costUsd"].as_f64(), want["cost_usd"].as_f64());
    assert!(
        g.zip(w).is_some_and(|(g, w)| close(g, w)),
        "{file} trace {id} cost {g:?} vs {w:?}"
    );
    assert_eq!(got["agents"], want["agents"], "{file} trace {id} agents");
}

/// Trace ids of the listing for a query.
fn listed(api: &str, query: &str) -> BTreeSet<String> {
    let v = get_json(
        api,
        &format!(
            "/sextant/api/v1/traces?start=0&end={}&limit=1000&{query}",
            now_secs()
        ),
    );
    v["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["traceId"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn genai_summaries_costs_conversations_and_filters() {
    let expectations: Vec<Value> = serde_json::from_str(EXPECTATIONS).expect("expectations");
    let chosen = choose(&expectations);
    let libs: BTreeSet<&str> = chosen
        .iter()
        .filter_map(|p| p.exp["file"].as_str()?.split('/').next())
        .collect();
    assert!(libs.len() >= 6, "libraries covered: {libs:?}");
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &[KEEP_ALL]);
    for p in &chosen {
        post_corpus(&server, p.exp["file"].as_str().expect("file"));
    }

    // Every trace's summary.
    for p in &chosen {
        let file = p.exp["file"].as_str().unwrap_or_default();
        for t in traces(p.exp) {
            check_summary(&server.api, file, t);
        }
    }

    check_cost_report(&server, &chosen);
    check_conversations(&server, &chosen);
    check_listing_filters(&server, &chosen);
}

/// Model-call spans of the chosen payloads: (model, cost, input tokens).
fn model_calls<'a>(chosen: &'a [Posted<'a>]) -> impl Iterator<Item = (&'a str, f64, u64)> {
    chosen
        .iter()
        .flat_map(|p| spans(p.exp))
        .filter(|s| is_model_call(s))
        .map(|s| {
            let model = s["response_model"]
                .as_str()
                .or(s["request_model"].as_str())
                .unwrap_or("");
            (
                model,
                s["cost_usd"].as_f64().unwrap_or(0.0),
                s["input_tokens"].as_u64().unwrap_or(0),
            )
        })
}

fn check_cost_report(server: &Server, chosen: &[Posted<'_>]) {
    let mut want: BTreeMap<&str, (u64, f64, u64)> = BTreeMap::new();
    for (model, cost, input) in model_calls(chosen) {
        let e = want.entry(model).or_default();
        e.0 += 1;
        e.1 += cost;
        e.2 += input;
    }
    // The corpus was captured within a few days: one window around all of it.
    let (lo, hi) = time_bounds(chosen);
    let v = get_json(
        &server.api,
        &format!(
            "/sextant/api/v1/costs?group_by=model&start={}&end={}&step=60s",
            lo.saturating_sub(60),
            hi + 60
        ),
    );
    let total_cost: f64 = want.values().map(|w| w.1).sum();
    let total_calls: u64 = want.values().map(|w| w.0).sum();
    assert!(
        v["total"]["costUsd"]
            .as_f64()
            .is_some_and(|c| close(c, total_cost)),
        "total cost {} vs {total_cost}",
        v["total"]
    );
    assert_eq!(
        v["total"]["calls"], total_calls,
        "total calls {}",
        v["total"]
    );
    let groups = v["groups"].as_array().expect("groups");
    for (model, (calls, cost, input)) in &want {
        let g = groups
            .iter()
            .find(|g| g["key"].as_str() == Some(model))
            .unwrap_or_else(|| panic!("no cost group for {model}: {v}"));
        assert_eq!(g["total"]["calls"], *calls, "{model} calls");
        assert_eq!(g["total"]["inputTokens"], *input, "{model} input tokens");
        let got = g["total"]["costUsd"].as_f64().unwrap_or(f64::NAN);
        assert!(close(got, *cost), "{model} cost {got} vs {cost}");
        let series: f64 = g["series"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["costUsd"].as_f64())
            .sum();
        assert!(close(series, *cost), "{model} series sums to {series}");
    }
}

/// Seconds bounding the start times of the chosen payloads' spans, read from the payloads.
fn time_bounds(chosen: &[Posted<'_>]) -> (u64, u64) {
    let (mut lo, mut hi) = (u64::MAX, 0);
    for p in chosen {
        let file = p.exp["file"].as_str().unwrap_or_default();
        let raw = std::fs::read(shared().join("corpus").join(file)).expect("read");
        let req = ExportTraceServiceRequest::decode(&raw[..]).expect("decode");
        for s in req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            lo = lo.min(s.start_time_unix_nano / 1_000_000_000);
            hi = hi.max(s.end_time_unix_nano / 1_000_000_000 + 1);
        }
    }
    (lo, hi)
}

fn check_conversations(server: &Server, chosen: &[Posted<'_>]) {
    // Expected: conversation id → (trace ids, cost).
    let mut want: BTreeMap<&str, (BTreeSet<&str>, f64)> = BTreeMap::new();
    for p in chosen {
        for t in traces(p.exp) {
            let id = t["trace_id"].as_str().unwrap_or_default();
            let conv = spans(p.exp)
                .filter_map(|s| s["conversation_id"].as_str())
                .min();
            if let Some(c) = conv {
                let e = want.entry(c).or_default();
                e.0.insert(id);
                e.1 += t["cost_usd"].as_f64().unwrap_or(0.0);
            }
        }
    }
    assert!(
        want.contains_key("session-corpus-1"),
        "OpenInference session expected: {want:?}"
    );
    let v = get_json(
        &server.api,
        &format!(
            "/sextant/api/v1/conversations?start=0&end={}&limit=1000",
            now_secs()
        ),
    );
    let rows = v["conversations"].as_array().expect("conversations");
    for (conv, (ids, cost)) in &want {
        let row = rows
            .iter()
            .find(|r| r["conversationId"].as_str() == Some(conv))
            .unwrap_or_else(|| panic!("conversation {conv} missing: {v}"));
        assert_eq!(row["traceCount"], ids.len(), "{conv} trace count");
        let got = row["costUsd"].as_f64().unwrap_or(f64::NAN);
        assert!(close(got, *cost), "{conv} cost {got} vs {cost}");
        let one = get_json(
            &server.api,
            &format!(
                "/sextant/api/v1/conversations/{conv}?start=0&end={}",
                now_secs()
            ),
        );
        let got_ids: BTreeSet<&str> = one["traces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["traceId"].as_str())
            .collect();
        assert_eq!(&got_ids, ids, "{conv} traces");
    }
}

fn check_listing_filters(server: &Server, chosen: &[Posted<'_>]) {
    // Per trace: models, agents, cost (from the expectations).
    let mut all = BTreeSet::new();
    let mut by_model: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut by_agent: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut costs: Vec<(String, f64)> = Vec::new();
    for p in chosen {
        // Files hold one trace each except ajolopy's agent step (three runs); the expectations do
        // not say which span is in which trace, so only single-trace files feed the model filter.
        let ts: Vec<&Value> = traces(p.exp).collect();
        for t in &ts {
            let id = t["trace_id"].as_str().unwrap_or_default().to_string();
            all.insert(id.clone());
            costs.push((id.clone(), t["cost_usd"].as_f64().unwrap_or(0.0)));
            for a in t["agents"].as_array().into_iter().flatten() {
                if let Some(a) = a.as_str() {
                    by_agent
                        .entry(a.to_string())
                        .or_default()
                        .insert(id.clone());
                }
            }
        }
        if let [t] = ts.as_slice() {
            let id = t["trace_id"].as_str().unwrap_or_default().to_string();
            for s in spans(p.exp).filter(|s| is_model_call(s)) {
                if let Some(m) = s["response_model"].as_str().or(s["request_model"].as_str()) {
                    by_model
                        .entry(m.to_string())
                        .or_default()
                        .insert(id.clone());
                }
            }
        }
    }
    assert_eq!(listed(&server.api, ""), all, "unfiltered listing");
    for (model, ids) in &by_model {
        let got = listed(&server.api, &format!("model={model}"));
        assert!(
            ids.is_subset(&got),
            "model={model}: {got:?} lacks some of {ids:?}"
        );
        assert!(got.is_subset(&all), "model={model}: foreign traces");
    }
    for (agent, ids) in &by_agent {
        assert_eq!(
            &listed(&server.api, &format!("agent={agent}")),
            ids,
            "agent={agent}"
        );
    }
    let mut sorted: Vec<f64> = costs.iter().map(|c| c.1).collect();
    sorted.sort_by(f64::total_cmp);
    // Just under the median cost, so float sums on either side cannot move a trace across it.
    let threshold = sorted[sorted.len() / 2] - 1e-12;
    let want: BTreeSet<String> = costs
        .iter()
        .filter(|c| c.1 >= threshold)
        .map(|c| c.0.clone())
        .collect();
    assert!(want.len() < all.len(), "minCost must filter something");
    assert_eq!(
        listed(&server.api, &format!("minCost={threshold}")),
        want,
        "minCost={threshold}"
    );
}

/// A failed call that reports no usage costs nothing: it is a model call, not an unpriced one
/// (`sextant_genai::TraceTotals` and the corpus expectations agree).
#[test]
fn failed_calls_without_usage_are_not_unpriced() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &[KEEP_ALL]);
    let expectations: Vec<Value> = serde_json::from_str(EXPECTATIONS).expect("expectations");
    let mut checked = 0;
    for exp in &expectations {
        let file = exp["file"].as_str().unwrap_or_default();
        if !(file.contains("/error_") && file.ends_with("-content_off-http_protobuf.traces.pb")) {
            continue;
        }
        post_corpus(&server, file);
        for t in traces(exp) {
            let id = t["trace_id"].as_str().unwrap_or_default();
            let got = get_json(&server.api, &format!("/sextant/api/v1/traces/{id}/summary"));
            assert_eq!(got["llmCalls"], t["llm_calls"], "{file}: {got}");
            assert_eq!(got["unpricedCalls"], 0, "{file}: {got}");
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} failed-call traces");
}

/// The openlit `@openlit.trace` tool span counts as a tool call although the content policy
/// drops its `function.args` (the policy leaves `sextant.content.dropped` listing it), also
/// after a restart replays the WAL.
#[test]
fn openlit_traced_tool_counts_with_content_dropped() {
    let data = tempfile::tempdir().expect("tempdir");
    let expectations: Vec<Value> = serde_json::from_str(EXPECTATIONS).expect("expectations");
    let exp = expectations
        .iter()
        .find(|e| e["file"] == OPENLIT_TRACED)
        .unwrap_or_else(|| panic!("no expectations for {OPENLIT_TRACED}"));
    let want: Vec<(&str, &Value)> = traces(exp)
        .map(|t| (t["trace_id"].as_str().unwrap_or_default(), &t["tool_calls"]))
        .collect();
    assert!(
        want.iter().any(|(_, n)| n.as_u64().is_some_and(|n| n > 0)),
        "the payload has a traced tool call: otherwise this test proves nothing"
    );
    let check = |server: &Server| {
        for (id, tools) in &want {
            let got = get_json(&server.api, &format!("/sextant/api/v1/traces/{id}/summary"));
            assert_eq!(&got["toolCalls"], *tools, "{OPENLIT_TRACED}: {got}");
        }
    };
    {
        let server = Server::start(data.path(), &[KEEP_ALL]);
        post_corpus(&server, OPENLIT_TRACED);
        check(&server);
    }
    let server = Server::start(data.path(), &[KEEP_ALL]);
    check(&server);
}

/// Content keys and content events still on a trace read through the Tempo API.
fn content_left(api: &str, trace: &str) -> (usize, Vec<String>) {
    let spans = trace_spans(api, trace, None);
    let mut left = Vec::new();
    for (s, _) in &spans {
        left.extend(
            s.attributes
                .iter()
                .filter(|kv| is_content_key(&kv.key))
                .map(|kv| format!("{}: {}", s.name, kv.key)),
        );
        left.extend(
            s.events
                .iter()
                .filter(|e| is_content_event(&e.name))
                .map(|e| format!("{}: event {}", s.name, e.name)),
        );
    }
    (spans.len(), left)
}

#[test]
fn prompt_content_is_dropped_by_default_also_on_disk() {
    let files = [
        "openai_v2/chat-content_span_only-http_protobuf.traces.pb",
        "traceloop/tool_roundtrip-content_on-http_protobuf.traces.pb",
        "openinference/chat-content_on-http_protobuf.traces.pb",
        "ajolopy/chat-content_on-http_protobuf.traces.pb",
        "pydantic_ai/agent-content_on-http_protobuf.traces.pb",
    ];
    let expectations: Vec<Value> = serde_json::from_str(EXPECTATIONS).expect("expectations");
    let mut ids = Vec::new();
    for f in files {
        let exp = expectations
            .iter()
            .find(|e| e["file"] == f)
            .unwrap_or_else(|| panic!("no expectations for {f}"));
        ids.extend(traces(exp).filter_map(|t| t["trace_id"].as_str().map(str::to_string)));
        // The payload does carry content: otherwise this test proves nothing.
        let raw = std::fs::read(shared().join("corpus").join(f)).expect("read");
        let req = ExportTraceServiceRequest::decode(&raw[..]).expect("decode");
        let sent = req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .flat_map(|s| &s.attributes)
            .filter(|kv| is_content_key(&kv.key))
            .count();
        assert!(sent > 0, "{f} carries no content");
    }
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(data.path(), &[KEEP_ALL]);
    for f in files {
        post_corpus(&server, f);
    }
    for id in &ids {
        let (n, left) = content_left(&server.api, id);
        assert!(n > 0, "trace {id} not found");
        assert!(left.is_empty(), "trace {id}: {left:?}");
    }
    assert!(server.terminate().success(), "clean exit on SIGTERM");
    let server = Server::start(data.path(), &[KEEP_ALL]);
    for id in &ids {
        let (n, left) = content_left(&server.api, id);
        assert!(n > 0, "trace {id} lost across the restart");
        assert!(left.is_empty(), "trace {id} after restart: {left:?}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn prompt_content_is_redacted_when_capture_is_enabled() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let config = write(
        scratch.path(),
        "sextant.toml",
        "[genai]\ncapture_content = true\n\n[[genai.redact]]\nname = \"ticket\"\npattern = \"TCK-[0-9]{5}\"\n",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let trace = "5e7a0000000000000000000000c0ffee";
    let prompt = r#"[{"role":"user","parts":[{"type":"text","content":"I am bob@example.com, key sk-abcdefghijklmnopqrstuvwx, ticket TCK-12345"}]}]"#;
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "redact-e2e"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": trace, "spanId": "00000000000000a1", "name": "chat gpt-4o-mini", "kind": 3,
            "startTimeUnixNano": now.to_string(), "endTimeUnixNano": (now + 1_000_000).to_string(),
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                {"key": "gen_ai.input.messages", "value": {"stringValue": prompt}}
            ]
        }]}]
    }]});
    let file = write(scratch.path(), "span.json", &body.to_string());
    let data = tempfile::tempdir().expect("tempdir");
    let config_env = config.to_string_lossy().into_owned();
    let env = [KEEP_ALL, ("SEXTANT_CONFIG", config_env.as_str())];
    let mut server = Server::start(data.path(), &env);
    let (code, resp) = post_file(
        &server.otlp_http,
        "/v1/traces",
        &file,
        &["Content-Type: application/json"],
    );
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&resp));
    let check = |api: &str, when: &str| {
        let spans = trace_spans(api, trace, None);
        let (span, _) = spans.first().unwrap_or_else(|| panic!("{when}: no span"));
        let input = span
            .attributes
            .iter()
            .find(|kv| kv.key == "gen_ai.input.messages")
            .and_then(|kv| kv.value.as_ref())
            .map(|v| crate::e2e::client::to_json(v.value.as_ref()))
            .unwrap_or_else(|| panic!("{when}: content dropped although capture is on"));
        let text = input.as_str().unwrap_or_default();
        for marker in [
            "[REDACTED:email]",
            "[REDACTED:api_key]",
            "[REDACTED:ticket]",
        ] {
            assert!(text.contains(marker), "{when}: {marker} missing in {text}");
        }
        for secret in ["bob@example.com", "sk-abcdefghij", "TCK-12345"] {
            assert!(!text.contains(secret), "{when}: {secret} kept in {text}");
        }
        assert!(
            text.contains("I am "),
            "{when}: surrounding text kept: {text}"
        );
    };
    check(&server.api, "live");
    assert!(server.terminate().success(), "clean exit on SIGTERM");
    let server = Server::start(data.path(), &env);
    check(&server.api, "after restart");
}
