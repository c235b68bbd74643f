//! OTLP metrics from the real OpenTelemetry Python SDK (counter, up-down counter, histogram,
//! gauge, as seed 001 instruments its app), over http/protobuf and gRPC, read back through the
//! Prometheus API with PromQL; span metrics derived from traces are queryable the same way.

use std::process::Command;

use crate::e2e::client::get;
use crate::e2e::harness::{Server, python, repo_root};

fn send(protocol: &str, endpoint: &str) {
    let out = Command::new(python())
        .arg(repo_root().join("tests/clients/send_metrics.py"))
        .args([
            "--protocol",
            protocol,
            "--endpoint",
            &format!("http://{endpoint}"),
        ])
        .output()
        .expect("run send_metrics.py");
    assert!(
        out.status.success(),
        "send_metrics.py {protocol}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The single value of an instant PromQL query.
fn value(api: &str, query: &str) -> f64 {
    let mut enc = String::new();
    for b in query.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    let (code, body) = get(api, &format!("/api/v1/query?query={enc}"));
    assert_eq!(code, 200, "{query}: {}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(result.len(), 1, "{query}: {v}");
    result[0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

#[test]
fn python_sdk_metrics_read_back_with_promql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    send("http/protobuf", &server.otlp_http);
    let api = &server.api;
    assert_eq!(value(api, "sum(ai_platform_requests_total)"), 10.0);
    assert_eq!(
        value(
            api,
            r#"ai_platform_requests_total{model="gpt-4o",job="ai-platform",instance="i-1"}"#
        ),
        5.0
    );
    assert_eq!(value(api, "ai_platform_inflight"), 3.0);
    assert_eq!(
        value(api, "sum(ai_platform_request_duration_seconds_count)"),
        4.0
    );
    assert!((value(api, "sum(ai_platform_request_duration_seconds_sum)") - 3.7).abs() < 1e-9);
    assert_eq!(
        value(
            api,
            r#"sum(ai_platform_request_duration_seconds_bucket{le="+Inf"})"#
        ),
        4.0
    );
    assert_eq!(value(api, "ai_platform_queue_depth"), 7.0);
    assert_eq!(value(api, r#"count(target_info{job="ai-platform"})"#), 1.0);

    // Grafana's metric browser reads type, help and unit from /api/v1/metadata.
    let (code, body) = get(api, "/api/v1/metadata");
    assert_eq!(code, 200);
    let meta: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let kind = |name: &str| meta["data"][name][0]["type"].clone();
    assert_eq!(kind("ai_platform_requests_total"), "counter", "{meta}");
    assert_eq!(
        meta["data"]["ai_platform_requests_total"][0]["help"],
        "requests"
    );
    assert_eq!(kind("ai_platform_inflight"), "gauge", "{meta}");
    assert_eq!(
        kind("ai_platform_request_duration_seconds"),
        "histogram",
        "{meta}"
    );
    assert_eq!(
        meta["data"]["ai_platform_request_duration_seconds"][0]["unit"],
        "seconds"
    );
    assert_eq!(kind("ai_platform_queue_depth"), "gauge", "{meta}");

    // The same instruments over gRPC, on the other port: a second sample of the same series
    // (a new process, so the cumulative counter restarted at the same value).
    let series = r#"ai_platform_requests_total{model="gpt-4o"}"#;
    let samples = format!("count_over_time({series}[10m])");
    let before = value(api, &samples);
    send("grpc", &server.otlp_grpc);
    assert!(
        value(api, &samples) > before,
        "the gRPC export added samples"
    );
    assert_eq!(value(api, series), 5.0);
}
