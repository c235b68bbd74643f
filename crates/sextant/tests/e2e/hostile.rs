//! Hostile and malformed input gets a clear refusal with the reason; the server stays up and
//! keeps what it accepted.

use std::io::Write;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use crate::e2e::client::{get, post_file, trace_spans};
use crate::e2e::harness::Server;

const PB: &str = "Content-Type: application/x-protobuf";
const JSON: &str = "Content-Type: application/json";

fn span(trace: u8, id: u8, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        name: format!("span-{id}"),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_100_000_000,
        attributes,
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn attr(key: String, v: String) -> KeyValue {
    KeyValue {
        key,
        value: Some(AnyValue {
            value: Some(Value::StringValue(v)),
        }),
        ..Default::default()
    }
}

struct Files(tempfile::TempDir);

impl Files {
    fn put(&self, name: &str, data: &[u8]) -> std::path::PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, data).expect("write");
        p
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn assert_refused(server: &Server, code: u16, got: (u16, Vec<u8>), needle: &str, what: &str) {
    let body = String::from_utf8_lossy(&got.1).to_string();
    assert_eq!(got.0, code, "{what}: {body}");
    assert!(
        body.contains(needle),
        "{what}: reason {needle:?} missing in {body:?}"
    );
    assert_eq!(
        get(&server.api, "/ready").0,
        200,
        "server alive after {what}"
    );
}

#[test]
fn malformed_and_hostile_requests_are_refused_clearly() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        data.path(),
        &[("SEXTANT_INGEST_MAX_REQUEST_BYTES", "4000000")],
    );
    let f = Files(tempfile::tempdir().expect("tempdir"));
    let http = server.otlp_http.clone();
    let valid = request(vec![span(1, 1, vec![])]);

    let p = f.put("truncated", &valid[..valid.len() - 5]);
    assert_refused(
        &server,
        400,
        post_file(&http, "/v1/traces", &p, &[PB]),
        "malformed protobuf",
        "truncated protobuf",
    );
    let p = f.put("random", &[0xff; 64]);
    assert_refused(
        &server,
        400,
        post_file(&http, "/v1/traces", &p, &[PB]),
        "malformed protobuf",
        "random bytes",
    );
    let p = f.put("badjson", b"{\"resourceSpans\": [ {");
    assert_refused(
        &server,
        400,
        post_file(&http, "/v1/traces", &p, &[JSON]),
        "malformed json",
        "invalid json",
    );
    let p = f.put("valid", &valid);
    assert_refused(
        &server,
        415,
        post_file(&http, "/v1/traces", &p, &["Content-Type: text/plain"]),
        "Content-Type",
        "wrong content type",
    );
    assert_refused(
        &server,
        415,
        post_file(&http, "/v1/traces", &p, &[PB, "Content-Encoding: br"]),
        "Content-Encoding",
        "unknown encoding",
    );
    let p = f.put("bomb", &gzip(&vec![0u8; 200 << 20]));
    assert_refused(
        &server,
        413,
        post_file(&http, "/v1/traces", &p, &[PB, "Content-Encoding: gzip"]),
        "exceeds",
        "gzip bomb",
    );
    let p = f.put("big", &vec![0u8; 5_000_000]);
    assert_refused(
        &server,
        413,
        post_file(&http, "/v1/traces", &p, &[PB]),
        "exceeds",
        "body over the limit",
    );
    let p = f.put("logs", b"{}");
    assert_refused(
        &server,
        501,
        post_file(&http, "/v1/logs", &p, &[JSON]),
        "not implemented",
        "logs",
    );
    assert_refused(
        &server,
        400,
        post_file(
            &http,
            "/v1/traces",
            &f.put("v2", &valid),
            &[PB, "X-Scope-OrgID: ../etc"],
        ),
        "tenant",
        "bad tenant",
    );
}

#[test]
fn huge_values_and_many_attributes_are_kept_and_bad_spans_reported() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &[]);
    let f = Files(tempfile::tempdir().expect("tempdir"));
    let huge = "x".repeat(2 << 20);
    let many: Vec<KeyValue> = (0..10_000)
        .map(|i| attr(format!("k{i}"), format!("v{i}")))
        .collect();
    let mut bad = span(3, 9, vec![]);
    bad.trace_id.truncate(7);
    let body = request(vec![
        span(2, 1, vec![attr("huge".into(), huge.clone())]),
        span(2, 2, many),
        bad,
    ]);
    let p = f.put("req", &body);
    let (code, resp) = post_file(&server.otlp_http, "/v1/traces", &p, &[PB]);
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&resp));
    let resp = ExportTraceServiceResponse::decode(&resp[..]).expect("response");
    let partial = resp.partial_success.expect("partial success reported");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("trace id"),
        "{}",
        partial.error_message
    );

    let stored = trace_spans(&server.api, &hex::encode([2u8; 16]), None);
    assert_eq!(stored.len(), 2);
    let by_name = |n: &str| {
        stored
            .iter()
            .find(|(s, _)| s.name == n)
            .map(|(s, _)| s.clone())
            .expect("span")
    };
    let huge_back = by_name("span-1").attributes[0]
        .value
        .clone()
        .and_then(|v| v.value);
    assert_eq!(huge_back, Some(Value::StringValue(huge)));
    assert_eq!(by_name("span-2").attributes.len(), 10_000);
}
