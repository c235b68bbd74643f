//! API tests: the Tempo routes over a real store in a temporary directory, with spans enriched
//! at ingest as the server does (so canonical GenAI columns are filled).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::body::Body;
use http::{Request, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value as V};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::Value;
use sextant_genai::Catalog;
use sextant_ingest::GenAiEnricher;
use sextant_store::{SpanBatchBuilder, Store, StoreConfig, StoreMetrics};
use tower::ServiceExt;

use super::tempopb as pb;
use crate::state::{AppState, QueryMetrics};

/// Base time of the fixture: 2025-06-15T12:00:00Z.
const BASE: u64 = 1_750_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

mod columnar;
mod grpc;

pub(super) fn kv(k: &str, v: V) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

pub(super) fn s(v: &str) -> V {
    V::StringValue(v.into())
}

struct SpanSpec {
    id: u8,
    parent: u8,
    name: &'static str,
    kind: i32,
    offset_s: u64,
    dur_ms: u64,
    error: bool,
    attrs: Vec<KeyValue>,
}

fn span(trace: u8, p: SpanSpec) -> Span {
    let start = BASE + u64::from(trace) * 60 * SEC + p.offset_s * SEC;
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![trace, 0, 0, 0, 0, 0, 0, p.id],
        parent_span_id: if p.parent == 0 {
            vec![]
        } else {
            vec![trace, 0, 0, 0, 0, 0, 0, p.parent]
        },
        name: p.name.into(),
        kind: p.kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + p.dur_ms * 1_000_000,
        attributes: p.attrs,
        status: p.error.then(|| Status {
            code: 2,
            message: "failed".into(),
        }),
        ..Default::default()
    }
}

fn resource(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv("service.name", s(service))],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        schema_url: String::new(),
    }
}

fn spec(id: u8, parent: u8, name: &'static str, dur_ms: u64, attrs: Vec<KeyValue>) -> SpanSpec {
    SpanSpec {
        id,
        parent,
        name,
        kind: 1,
        offset_s: u64::from(id),
        dur_ms,
        error: false,
        attrs,
    }
}

/// Trace 1: an agent (OTel GenAI) calling gpt-4o (3 s) and a search tool.
/// Trace 2: an OpenInference LLM span (1500 prompt tokens) that failed.
/// Trace 3: a plain HTTP server span.
fn fixture() -> ExportTraceServiceRequest {
    let agent = vec![
        span(
            1,
            spec(
                1,
                0,
                "invoke_agent planner",
                9000,
                vec![
                    kv("gen_ai.operation.name", s("invoke_agent")),
                    kv("gen_ai.agent.name", s("planner")),
                ],
            ),
        ),
        span(
            1,
            spec(
                2,
                1,
                "chat gpt-4o",
                3000,
                vec![
                    kv("gen_ai.operation.name", s("chat")),
                    kv("gen_ai.request.model", s("gpt-4o")),
                    kv("gen_ai.usage.input_tokens", V::IntValue(200)),
                    kv("gen_ai.usage.output_tokens", V::IntValue(50)),
                ],
            ),
        ),
        span(
            1,
            spec(
                3,
                1,
                "execute_tool search",
                500,
                vec![
                    kv("gen_ai.operation.name", s("execute_tool")),
                    kv("gen_ai.tool.name", s("search")),
                ],
            ),
        ),
    ];
    let mut oi = spec(
        1,
        0,
        "ChatCompletion",
        1200,
        vec![
            kv("openinference.span.kind", s("LLM")),
            kv("llm.model_name", s("gpt-4o-mini")),
            kv("llm.token_count.prompt", V::IntValue(1500)),
            kv("llm.token_count.completion", V::IntValue(30)),
        ],
    );
    oi.error = true;
    let mut http = spec(1, 0, "GET /health", 5, vec![kv("http.method", s("GET"))]);
    http.kind = 2;
    ExportTraceServiceRequest {
        resource_spans: vec![
            resource("agent-svc", agent),
            resource("oi-app", vec![span(2, oi)]),
            resource("web", vec![span(3, http)]),
        ],
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    app: axum::Router,
}

fn setup(flush: bool) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = Arc::new(
        Catalog::embedded()
            .with_overrides(Vec::new())
            .expect("catalog"),
    );
    let enricher = Arc::new(GenAiEnricher::new(catalog));
    let mut config = StoreConfig::new(dir.path());
    config.head_max_age = std::time::Duration::from_secs(3600);
    // The fixture is dated in the past: keep retention and compaction from touching it.
    config.retention.max_age = None;
    config.compaction.interval = std::time::Duration::from_secs(3600);
    let store =
        Arc::new(Store::open(config, StoreMetrics::default(), enricher.clone()).expect("open"));
    let req = fixture();
    let mut b = SpanBatchBuilder::with_capacity(8);
    b.push_request(&req, enricher.as_ref()).expect("push");
    let batch = b.finish().expect("batch");
    futures::executor::block_on(store.write("single-tenant", req.encode_to_vec().into(), batch))
        .expect("write");
    if flush {
        store.flush().expect("flush");
    }
    let state = AppState {
        store: store.clone(),
        registry: Arc::new(Default::default()),
        metrics: QueryMetrics::default(),
        ready: Arc::new(AtomicBool::new(true)),
    };
    Fixture {
        _dir: dir,
        store,
        app: super::router().with_state(state),
    }
}

fn enc(q: &str) -> String {
    let mut out = String::new();
    for b in q.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn get(app: &axum::Router, uri: &str, proto: bool) -> (StatusCode, Vec<u8>) {
    let mut req = Request::get(uri);
    if proto {
        req = req.header("accept", "application/protobuf");
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("call");
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, body.to_vec())
}

async fn get_json(app: &axum::Router, uri: &str) -> Value {
    let (status, body) = get(app, uri, false).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).expect("json")
}

async fn search_ids(app: &axum::Router, q: &str) -> Vec<String> {
    let v = get_json(app, &format!("/api/search?q={}", enc(q))).await;
    v["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["traceID"].as_str().expect("id").to_owned())
        .collect()
}

fn id(t: u8) -> String {
    super::search::trace_id_hex(&[t; 16])
}

#[tokio::test]
async fn searches_answer_from_head_and_blocks_alike() {
    for flush in [false, true] {
        let f = setup(flush);
        let app = &f.app;
        let selective = r#"{ span.gen_ai.request.model = "gpt-4o" && duration > 2s }"#;
        assert_eq!(
            search_ids(app, selective).await,
            vec![id(1)],
            "flush={flush}"
        );
        let structural = r#"{ name =~ "invoke_agent.*" } >> { span.gen_ai.tool.name = "search" }"#;
        assert_eq!(search_ids(app, structural).await, vec![id(1)]);
        let missing = r#"{ name =~ "invoke_agent.*" } >> { span.gen_ai.tool.name = "fetch" }"#;
        assert!(search_ids(app, missing).await.is_empty());
        let nil = "{ span.gen_ai.request.model = nil && kind = server }";
        assert_eq!(search_ids(app, nil).await, vec![id(3)]);
        // OpenInference sent llm.token_count.prompt: it answers under the canonical name.
        let canonical = "{ span.gen_ai.usage.input_tokens > 1000 }";
        assert_eq!(search_ids(app, canonical).await, vec![id(2)]);
        assert_eq!(search_ids(app, "{ status = error }").await, vec![id(2)]);
        // Newest first, all three.
        assert_eq!(search_ids(app, "{ }").await, vec![id(3), id(2), id(1)]);
        assert_eq!(
            f.store
                .find_trace("single-tenant", &[1; 16])
                .expect("find")
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn search_result_has_tempo_shape() {
    let f = setup(true);
    let q = r#"{ span.gen_ai.request.model = "gpt-4o" } | select(span.gen_ai.usage.input_tokens)"#;
    let v = get_json(&f.app, &format!("/api/search?q={}&spss=1", enc(q))).await;
    let t = &v["traces"][0];
    assert_eq!(t["rootServiceName"], "agent-svc");
    assert_eq!(t["rootTraceName"], "invoke_agent planner");
    assert_eq!(t["durationMs"], 9000);
    assert_eq!(t["startTimeUnixNano"], (BASE + 60 * SEC + SEC).to_string());
    let set = &t["spanSets"][0];
    assert_eq!(set["matched"], 1);
    assert_eq!(set["spans"][0]["spanID"], "0100000000000002");
    assert_eq!(set["spans"][0]["durationNanos"], "3000000000");
    let attrs = set["spans"][0]["attributes"]
        .as_array()
        .expect("attributes");
    assert!(
        attrs
            .iter()
            .any(|a| a["key"] == "gen_ai.usage.input_tokens" && a["value"]["intValue"] == "200"),
        "{attrs:?}"
    );
    assert_eq!(t["spanSet"], *set);
    assert!(v["metrics"]["inspectedSpans"].as_str().is_some());
}

#[tokio::test]
async fn search_parameters_and_errors() {
    let f = setup(false);
    let app = &f.app;
    let (status, body) = get(app, "/api/search?q=%7B%20span.a%20%3D%20%7D", false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("invalid TraceQL"));
    for bad in [
        "limit=0",
        "start=10&end=5",
        "minDuration=fast",
        "q=%7B%7D&tags=a%3Db",
    ] {
        let (status, _) = get(app, &format!("/api/search?{bad}"), false).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let v = get_json(app, "/api/search?limit=2").await;
    assert_eq!(v["traces"].as_array().expect("traces").len(), 2);
    let v = get_json(app, "/api/search?tags=service.name%3Dweb").await;
    assert_eq!(v["traces"][0]["traceID"], id(3));
    let v = get_json(app, "/api/search?minDuration=5s").await;
    assert_eq!(v["traces"].as_array().expect("traces").len(), 1);
    let v = get_json(app, "/api/search?maxDuration=100ms").await;
    assert_eq!(v["traces"][0]["traceID"], id(3));
    // The time range: only trace 3 starts in the window after trace 2.
    let start = (BASE + 3 * 60 * SEC) / SEC;
    let v = get_json(
        app,
        &format!("/api/search?start={start}&end={}", start + 600),
    )
    .await;
    assert_eq!(v["traces"].as_array().expect("traces").len(), 1);
}

#[tokio::test]
async fn search_answers_protobuf() {
    let f = setup(true);
    let q = enc("{ status = error }");
    let (status, body) = get(&f.app, &format!("/api/search?q={q}"), true).await;
    assert_eq!(status, StatusCode::OK);
    let r = pb::SearchResponse::decode(body.as_slice()).expect("tempopb.SearchResponse");
    assert_eq!(r.traces.len(), 1);
    assert_eq!(r.traces[0].trace_id, id(2));
    assert_eq!(r.traces[0].root_service_name, "oi-app");
    assert_eq!(r.traces[0].span_sets[0].spans.len(), 1);
}

#[tokio::test]
async fn tags_and_values() {
    let f = setup(true);
    let app = &f.app;
    let v = get_json(app, "/api/v2/search/tags").await;
    let scope = |name: &str| -> Vec<String> {
        v["scopes"]
            .as_array()
            .expect("scopes")
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| serde_json::from_value(s["tags"].clone()).expect("tags"))
            .unwrap_or_default()
    };
    assert!(scope("span").contains(&"http.method".to_owned()));
    // Canonical names are listed even for the OpenInference span's data.
    assert!(scope("span").contains(&"gen_ai.usage.input_tokens".to_owned()));
    assert_eq!(scope("resource"), vec!["service.name".to_owned()]);
    assert!(scope("intrinsic").contains(&"duration".to_owned()));
    let v = get_json(app, "/api/v2/search/tags?scope=resource").await;
    assert_eq!(v["scopes"].as_array().expect("scopes").len(), 1);
    let v = get_json(app, "/api/search/tags").await;
    assert!(
        v["tagNames"]
            .as_array()
            .expect("names")
            .contains(&"service.name".into())
    );

    let v = get_json(app, "/api/v2/search/tag/resource.service.name/values").await;
    let want: Value = serde_json::json!([
        {"type": "string", "value": "agent-svc"},
        {"type": "string", "value": "oi-app"},
        {"type": "string", "value": "web"},
    ]);
    assert_eq!(v["tagValues"], want);
    let v = get_json(app, "/api/v2/search/tag/status/values").await;
    assert_eq!(
        v["tagValues"][0],
        serde_json::json!({"type": "keyword", "value": "error"})
    );
    let q = enc(r#"{ resource.service.name = "oi-app" }"#);
    let v = get_json(
        app,
        &format!("/api/v2/search/tag/span.gen_ai.response.model/values?q={q}"),
    )
    .await;
    assert_eq!(
        v["tagValues"],
        serde_json::json!([{"type": "string", "value": "gpt-4o-mini"}])
    );
    let v = get_json(app, "/api/search/tag/http.method/values").await;
    assert_eq!(v["tagValues"], serde_json::json!(["GET"]));
    let (status, _) = get(app, "/api/v2/search/tag/span./values", false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn metrics_query_range_and_instant() {
    for flush in [false, true] {
        let f = setup(flush);
        let app = &f.app;
        let start = BASE / SEC;
        let q = enc("{ } | count_over_time() by (resource.service.name)");
        let uri = format!(
            "/api/metrics/query_range?q={q}&start={start}&end={}&step=60s",
            start + 600
        );
        let v = get_json(app, &uri).await;
        let series = v["series"].as_array().expect("series");
        assert_eq!(series.len(), 3, "{v}");
        let agent = series
            .iter()
            .find(|s| s["labels"][0]["value"]["stringValue"] == "agent-svc")
            .expect("agent series");
        assert_eq!(agent["labels"][0]["key"], "resource.service.name");
        let total: f64 = agent["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .map(|p| p["value"].as_f64().expect("number"))
            .sum();
        assert_eq!(total, 3.0);
        assert!(agent["samples"][0]["timestampMs"].as_str().is_some());
        // A span attribute: spans rebuilt from every column.
        let q = enc(r#"{ span.http.method = "GET" } | count_over_time()"#);
        let uri = format!("/api/metrics/query?q={q}&start={start}&end={}", start + 600);
        assert_eq!(get_json(app, &uri).await["series"][0]["value"], 1.0);
        // Trace-level query path (structural): one tool span under an agent.
        let q = enc(r#"{ name =~ "invoke_agent.*" } >> { } | count_over_time()"#);
        let uri = format!("/api/metrics/query?q={q}&start={start}&end={}", start + 600);
        let v = get_json(app, &uri).await;
        assert_eq!(v["series"][0]["value"], 2.0, "{v}");
        let (status, body) = get(app, &uri.replace("/query?", "/query_range?"), true).await;
        assert_eq!(status, StatusCode::OK);
        let r = pb::QueryRangeResponse::decode(body.as_slice()).expect("QueryRangeResponse");
        assert_eq!(r.series[0].labels[0].key, "__name__");
        let (status, _) = get(
            app,
            &format!("/api/metrics/query_range?q={}", enc("{ }")),
            false,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn trace_by_id_in_json_and_protobuf() {
    use base64::Engine;
    use opentelemetry_proto::tonic::trace::v1::TracesData;
    for flush in [false, true] {
        let f = setup(flush);
        let hex_id = hex::encode([2u8; 16]);
        let v1 = get_json(&f.app, &format!("/api/traces/{hex_id}")).await;
        let span = &v1["batches"][0]["scopeSpans"][0]["spans"][0];
        let b64 = base64::engine::general_purpose::STANDARD.encode([2u8; 16]);
        assert_eq!(span["traceId"], b64.as_str(), "{v1}");
        assert_eq!(span["kind"], "SPAN_KIND_INTERNAL");
        assert_eq!(span["status"]["code"], "STATUS_CODE_ERROR");
        assert_eq!(span["startTimeUnixNano"], (BASE + 121 * SEC).to_string());
        assert!(
            span.get("parentSpanId").is_none(),
            "a root has no parent: {span}"
        );
        let v2 = get_json(&f.app, &format!("/api/v2/traces/{hex_id}")).await;
        assert_eq!(v2["trace"]["resourceSpans"], v1["batches"]);
        assert!(
            v2.get("status").is_none(),
            "a complete trace has no status: {v2}"
        );

        let (status, body) = get(&f.app, &format!("/api/traces/{hex_id}"), true).await;
        assert_eq!(status, StatusCode::OK);
        let t = TracesData::decode(body.as_slice()).expect("tempopb.Trace");
        let spans = &t.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans[0].trace_id, vec![2u8; 16]);
        assert_eq!(spans[0].name, "ChatCompletion");
        let (status, body) = get(&f.app, &format!("/api/v2/traces/{hex_id}"), true).await;
        assert_eq!(status, StatusCode::OK);
        let r = pb::TraceByIdResponse::decode(body.as_slice()).expect("TraceByIDResponse");
        assert_eq!(r.trace.expect("trace"), t);

        let unknown = hex::encode([9u8; 16]);
        for path in ["/api/traces", "/api/v2/traces"] {
            let (status, _) = get(&f.app, &format!("{path}/{unknown}"), true).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        let (status, _) = get(&f.app, "/api/traces/not-hex", false).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn buildinfo_reports_a_tempo_version_grafana_enables_streaming_for() {
    let f = setup(false);
    let v = get_json(&f.app, "/api/status/buildinfo").await;
    let version = v["version"].as_str().expect("version");
    // Grafana compares with semver: streaming search needs 2.2.0, streaming metrics 2.7.0.
    let parts: Vec<u32> = (version.trim_start_matches('v').split('.'))
        .map(|p| p.parse().expect("numeric semver part"))
        .collect();
    assert_eq!(parts.len(), 3, "{version}");
    assert!(parts >= vec![2, 7, 0], "{version}");
    let (status, body) = get(&f.app, "/api/echo", false).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"echo"[..]));
}

#[tokio::test]
async fn intrinsic_and_column_values_for_the_search_builder() {
    for flush in [false, true] {
        let f = setup(flush);
        let values = |v: &Value| -> Vec<String> {
            (v["tagValues"].as_array().expect("values").iter())
                .map(|t| t["value"].as_str().expect("string").to_owned())
                .collect()
        };
        // Grafana's span-name dropdown.
        let v = get_json(&f.app, "/api/v2/search/tag/name/values").await;
        let want = [
            "ChatCompletion",
            "GET /health",
            "chat gpt-4o",
            "execute_tool search",
            "invoke_agent planner",
        ];
        assert_eq!(values(&v), want, "flush={flush}");
        let q = enc(r#"{ resource.service.name = "agent-svc" }"#);
        let v = get_json(&f.app, &format!("/api/v2/search/tag/name/values?q={q}")).await;
        assert_eq!(values(&v), want[2..], "flush={flush}");
        let v = get_json(&f.app, &format!("/api/v2/search/tag/rootName/values?q={q}")).await;
        assert_eq!(values(&v), ["invoke_agent planner"]);
        // A canonical GenAI column answers for every dialect (OpenInference's llm.model_name
        // is the response model).
        let v = get_json(
            &f.app,
            "/api/v2/search/tag/span.gen_ai.request.model/values",
        )
        .await;
        assert_eq!(values(&v), ["gpt-4o"]);
        let v = get_json(
            &f.app,
            "/api/v2/search/tag/span.gen_ai.response.model/values",
        )
        .await;
        assert_eq!(values(&v), ["gpt-4o-mini"]);
        let v = get_json(&f.app, "/api/v2/search/tag/name/values?limit=2").await;
        assert_eq!(values(&v).len(), 2);
    }
}
