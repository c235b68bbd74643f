//! The Prometheus API driven through its router over a fixture that follows seed 002
//! (`../shared/seeds/002_*.txt`): the AI platform's request counter and latency histogram,
//! scraped every 15 s, queried with the seed's own PromQL.

mod lookups;
mod promtool;
mod queries;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::Value as Json;
use sextant_promql::{Labels, MemSource};
use tower::ServiceExt;

use super::{PromState, router};

/// Scrape interval of the seed's `prometheus.yml`.
const SCRAPE_MS: i64 = 15_000;
/// The fixture covers one hour of scrapes.
const END_MS: i64 = 3_600_000;
/// Evaluation time of the instant queries: half an hour in, so every window is full.
const T: i64 = 1_800_000;

/// Buckets of the seed's `ai_platform_request_duration_seconds`.
const LE: [&str; 10] = [
    "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "60.0", "+Inf",
];

/// One endpoint's traffic per scrape interval.
struct Endpoint {
    service: &'static str,
    endpoint: &'static str,
    /// Cumulative bucket counts of the requests answered in one scrape interval.
    buckets: [u32; 10],
    /// Seconds spent on those requests.
    seconds: f64,
    /// Requests by status code in one interval.
    statuses: &'static [(&'static str, u32)],
}

/// Gateway `/chat` and `/search`, agent-service `/run`.
///
/// By hand, for `histogram_quantile(0.95, sum(rate(..._bucket[5m])) by (service, le))`:
/// - gateway, summed per interval: `[2,5,9,14,17,18,20,20,20,20]`; rank `0.95 * 20 = 19` falls
///   in `(5, 10]` (18 -> 20), so `5 + 5 * (19 - 18) / (20 - 18) = 7.5`;
/// - agent-service: `[0,0,0,1,2,3,3,4,4,4]`; rank `3.8` falls in `(10, 30]` (3 -> 4), so
///   `10 + 20 * 0.8 = 26`.
///
/// Rates are per-interval counts over 15 s; the quantile does not depend on that scale.
const ENDPOINTS: [Endpoint; 3] = [
    Endpoint {
        service: "gateway",
        endpoint: "/chat",
        buckets: [0, 1, 3, 6, 8, 9, 10, 10, 10, 10],
        seconds: 30.0,
        statuses: &[("200", 9), ("500", 1)],
    },
    Endpoint {
        service: "gateway",
        endpoint: "/search",
        buckets: [2, 4, 6, 8, 9, 9, 10, 10, 10, 10],
        seconds: 5.0,
        statuses: &[("200", 10)],
    },
    Endpoint {
        service: "agent-service",
        endpoint: "/run",
        buckets: [0, 0, 0, 1, 2, 3, 3, 4, 4, 4],
        seconds: 48.0,
        statuses: &[("200", 4)],
    },
];

/// The seed's counters and histogram, as Prometheus would have scraped them.
fn seed_002() -> MemSource {
    let mut src = MemSource::new();
    for e in &ENDPOINTS {
        let job = e.service;
        let instance = format!("{}-service:8000", e.service.trim_end_matches("-service"));
        let base = [
            ("job", job),
            ("instance", instance.as_str()),
            ("service", e.service),
            ("endpoint", e.endpoint),
        ];
        let series = |name: &str, extra: &[(&str, &str)]| {
            let mut pairs = vec![("__name__", name)];
            pairs.extend_from_slice(&base);
            pairs.extend_from_slice(extra);
            Labels::from_pairs(&pairs)
        };
        let requests = f64::from(e.buckets[9]);
        for step in 0..=END_MS / SCRAPE_MS {
            let t = step * SCRAPE_MS;
            let n = step as f64;
            for (le, per) in LE.iter().zip(e.buckets) {
                let l = series("ai_platform_request_duration_seconds_bucket", &[("le", le)]);
                src.add_sample(&l, t, n * f64::from(per));
            }
            let count = series("ai_platform_request_duration_seconds_count", &[]);
            src.add_sample(&count, t, n * requests);
            let sum = series("ai_platform_request_duration_seconds_sum", &[]);
            src.add_sample(&sum, t, n * e.seconds);
            for (code, per) in e.statuses {
                let l = series(
                    "ai_platform_requests_total",
                    &[("method", "POST"), ("status_code", code)],
                );
                src.add_sample(&l, t, n * f64::from(*per));
            }
        }
    }
    src
}

fn app() -> Router {
    router(PromState::single(Arc::new(seed_002())))
}

/// Sends a request; answers the status and the parsed JSON body.
async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Json) {
    let resp = app.clone().oneshot(req).await.expect("router answers");
    let status = resp.status();
    let ct = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    assert_eq!(ct, "application/json", "content type of {status}");
    let json = serde_json::from_slice(&bytes).expect("JSON body");
    (status, json)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Json) {
    let req = Request::get(uri).body(Body::empty()).expect("request");
    send(app, req).await
}

async fn post(app: &Router, path: &str, form: &str) -> (StatusCode, Json) {
    let req = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .expect("request");
    send(app, req).await
}

/// A query parameter, percent-encoded.
fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `(labels, value)` of an instant vector, sorted by labels.
fn vector(body: &Json) -> Vec<(String, f64)> {
    assert_eq!(body["status"], "success", "{body}");
    assert_eq!(body["data"]["resultType"], "vector", "{body}");
    let mut out: Vec<(String, f64)> = body["data"]["result"]
        .as_array()
        .expect("result list")
        .iter()
        .map(|s| (s["metric"].to_string(), sample_value(&s["value"])))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The value of `[<ts>, "<value>"]`.
fn sample_value(point: &Json) -> f64 {
    assert!(point[0].is_number(), "timestamp is a number: {point}");
    point[1]
        .as_str()
        .expect("value is a string")
        .parse()
        .expect("value parses")
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

/// The error shape and status.
fn assert_error(resp: &(StatusCode, Json), status: u16, ty: &str, contains: &str) {
    let (code, body) = resp;
    assert_eq!(code.as_u16(), status, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["errorType"], ty, "{body}");
    let msg = body["error"].as_str().expect("error message");
    assert!(
        msg.contains(contains),
        "{msg:?} should contain {contains:?}"
    );
}

#[test]
fn seed_002_names_the_fixture_metrics() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/seeds");
    let seed = std::fs::read_dir(dir)
        .expect("seeds directory")
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("002_"))
        .expect("seed 002");
    let text = std::fs::read_to_string(seed.path()).expect("seed text");
    for needle in [
        "ai_platform_requests_total",
        "\"ai_platform_request_duration_seconds\"",
        "buckets=[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]",
        "[\"service\", \"endpoint\", \"method\", \"status_code\"]",
        "scrape_interval: 15s",
        "histogram_quantile(0.95, sum(rate(ai_platform_request_duration_seconds_bucket[5m])) by (service, le))",
    ] {
        assert!(text.contains(needle), "seed 002 no longer has {needle:?}");
    }
}
