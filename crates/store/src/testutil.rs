//! Builders of OTLP requests for the store's tests.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

pub fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

pub fn trace_id(seed: u64, t: u64) -> Vec<u8> {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    id[8..].copy_from_slice(&(t + 1).to_be_bytes());
    id.to_vec()
}

/// `traces` traces of `spans` spans each (a root and its children), two resources.
pub fn sample_request(traces: u64, spans: u64, seed: u64) -> ExportTraceServiceRequest {
    sample_request_at(traces, spans, seed, 1_700_000_000_000_000_000)
}

pub fn sample_request_at(
    traces: u64,
    spans: u64,
    seed: u64,
    base: u64,
) -> ExportTraceServiceRequest {
    let mut resource_spans = Vec::new();
    for svc in 0..2u64 {
        let mut out = Vec::new();
        for t in (0..traces).filter(|t| t % 2 == svc) {
            let tid = trace_id(seed, t);
            for s in 0..spans {
                let start = base + t * 1_000_000 + s * 1000;
                out.push(Span {
                    trace_id: tid.clone(),
                    span_id: ((seed << 32) + t * 100 + s + 1).to_be_bytes().to_vec(),
                    parent_span_id: if s == 0 {
                        vec![]
                    } else {
                        ((seed << 32) + t * 100 + 1).to_be_bytes().to_vec()
                    },
                    name: if s == 0 {
                        "invoke_agent planner".into()
                    } else {
                        format!("chat gpt-4o-{s}")
                    },
                    kind: span::SpanKind::Internal as i32,
                    start_time_unix_nano: start,
                    end_time_unix_nano: start + 500,
                    attributes: vec![
                        kv("gen_ai.request.model", Value::StringValue("gpt-4o".into())),
                        kv(
                            "gen_ai.usage.input_tokens",
                            Value::IntValue((t * 10 + s) as i64),
                        ),
                    ],
                    status: (s == 2).then(|| Status {
                        code: 2,
                        message: "boom".into(),
                    }),
                    ..Default::default()
                });
            }
        }
        resource_spans.push(ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::StringValue(format!("svc-{svc}")))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "test".into(),
                    version: "1".into(),
                    ..Default::default()
                }),
                spans: out,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        });
    }
    ExportTraceServiceRequest { resource_spans }
}
