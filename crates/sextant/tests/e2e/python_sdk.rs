//! The OpenTelemetry Python SDK's real exporters (http/protobuf, grpc, and OTLP/JSON over HTTP)
//! send to both OTLP ports; every span is read back with its attributes intact. Content capture
//! is on here (the script's `gen_ai.choice` events are content), so nothing is dropped.

use std::collections::HashMap;
use std::process::Command;

use crate::e2e::client::trace_spans;
use crate::e2e::harness::{Server, python, repo_root};

struct Sent {
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    kind: i64,
    status: i64,
    attributes: serde_json::Map<String, serde_json::Value>,
    events: usize,
    links: usize,
}

fn send(
    protocol: &str,
    endpoint: &str,
    tag: &str,
    compression: &str,
    tenant: Option<&str>,
) -> Vec<Sent> {
    let script = repo_root().join("tests/clients/send_spans.py");
    let mut cmd = Command::new(python());
    cmd.arg(script)
        .args([
            "--protocol",
            protocol,
            "--endpoint",
            &format!("http://{endpoint}"),
        ])
        .args([
            "--traces",
            "3",
            "--spans-per-trace",
            "5",
            "--tag",
            tag,
            "--compression",
            compression,
        ]);
    if let Some(t) = tenant {
        cmd.args(["--tenant", t]);
    }
    let out = cmd.output().expect("run send_spans.py");
    assert!(
        out.status.success(),
        "send_spans.py {protocol} to {endpoint} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json line");
    let spans = v["spans"].as_array().expect("spans").clone();
    spans
        .into_iter()
        .map(|s| Sent {
            trace_id: s["trace_id"].as_str().unwrap_or_default().into(),
            span_id: s["span_id"].as_str().unwrap_or_default().into(),
            parent: s["parent_span_id"].as_str().unwrap_or_default().into(),
            name: s["name"].as_str().unwrap_or_default().into(),
            kind: s["kind"].as_i64().unwrap_or(-1),
            status: s["status_code"].as_i64().unwrap_or(-1),
            attributes: s["attributes"].as_object().cloned().unwrap_or_default(),
            events: s["events"].as_array().map_or(0, |e| e.len()),
            links: s["links"].as_u64().unwrap_or(0) as usize,
        })
        .collect()
}

const CAPTURE: &[(&str, &str)] = &[("SEXTANT_GENAI_CAPTURE_CONTENT", "true")];

fn check_read_back(server: &Server, sent: &[Sent], tenant: Option<&str>, what: &str) {
    assert_eq!(
        sent.len(),
        15,
        "{what}: the client sent 3 traces of 5 spans"
    );
    let mut by_trace: HashMap<&str, Vec<&Sent>> = HashMap::new();
    for s in sent {
        by_trace.entry(&s.trace_id).or_default().push(s);
    }
    for (trace, spans) in by_trace {
        let stored = trace_spans(&server.api, trace, tenant);
        assert_eq!(
            stored.len(),
            spans.len(),
            "{what}: trace {trace} span count"
        );
        for s in spans {
            let (got, resource) = stored
                .iter()
                .find(|(g, _)| hex::encode(&g.span_id) == s.span_id)
                .unwrap_or_else(|| panic!("{what}: span {} missing", s.span_id));
            assert_eq!(got.name, s.name, "{what}");
            assert_eq!(
                hex::encode(&got.parent_span_id),
                s.parent,
                "{what}: parent of {}",
                s.name
            );
            assert_eq!(i64::from(got.kind), s.kind, "{what}: kind of {}", s.name);
            assert_eq!(
                i64::from(got.status.as_ref().map_or(0, |st| st.code)),
                s.status,
                "{what}"
            );
            assert_eq!(got.events.len(), s.events, "{what}: events of {}", s.name);
            assert_eq!(got.links.len(), s.links, "{what}: links of {}", s.name);
            let attrs: serde_json::Map<String, serde_json::Value> = got
                .attributes
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        crate::e2e::client::to_json(
                            kv.value.as_ref().and_then(|v| v.value.as_ref()),
                        ),
                    )
                })
                .collect();
            assert_eq!(attrs, s.attributes, "{what}: attributes of {}", s.name);
            assert!(
                resource.iter().any(|(k, _)| k == "service.name"),
                "{what}: resource kept"
            );
        }
    }
}

#[test]
fn python_sdk_exporters_on_both_ports_round_trip_every_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), CAPTURE);
    let cases = [
        ("http/protobuf", &server.otlp_http, "none"),
        ("http/protobuf", &server.otlp_grpc, "gzip"), // HTTP on the gRPC port
        ("http/json", &server.otlp_http, "gzip"),
        ("http/json", &server.otlp_grpc, "none"),
        ("grpc", &server.otlp_grpc, "gzip"),
        ("grpc", &server.otlp_http, "none"), // gRPC on the HTTP port
    ];
    for (i, (protocol, endpoint, compression)) in cases.iter().enumerate() {
        let what = format!("{protocol} to {endpoint} ({compression})");
        let sent = send(protocol, endpoint, &format!("case-{i}"), compression, None);
        check_read_back(&server, &sent, None, &what);
    }
}

#[test]
fn tenants_are_isolated_over_the_wire() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), CAPTURE);
    let a = send(
        "http/protobuf",
        &server.otlp_http,
        "tenant-a",
        "none",
        Some("team-a"),
    );
    let b = send(
        "grpc",
        &server.otlp_grpc,
        "tenant-b",
        "none",
        Some("team-b"),
    );
    check_read_back(&server, &a, Some("team-a"), "tenant a");
    check_read_back(&server, &b, Some("team-b"), "tenant b");
    assert!(trace_spans(&server.api, &a[0].trace_id, Some("team-b")).is_empty());
    assert!(trace_spans(&server.api, &a[0].trace_id, None).is_empty());
}
