//! Tempo's JSON rendering of traces: OTLP field names, but ids in base64 (proto bytes as Go's
//! jsonpb writes them), `kind` and `status.code` as enum names, 64-bit integers as strings.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use serde_json::{Map, Value};

const KINDS: [&str; 6] = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];
const CODES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

/// The resource spans as Tempo JSON values.
pub fn resource_spans(rs: &[ResourceSpans]) -> Value {
    let mut v = serde_json::to_value(rs).unwrap_or(Value::Array(Vec::new()));
    if let Value::Array(items) = &mut v {
        for rs in items {
            for ss in array(rs, "scopeSpans") {
                for span in array(ss, "spans") {
                    fix_span(span);
                }
            }
        }
    }
    v
}

fn array<'a>(v: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    v.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

fn fix_span(span: &mut Value) {
    let Some(obj) = span.as_object_mut() else {
        return;
    };
    hex_to_base64(obj, "traceId");
    hex_to_base64(obj, "spanId");
    hex_to_base64(obj, "parentSpanId");
    if let Some(k) = obj.get("kind").and_then(Value::as_i64) {
        let name = KINDS.get(k as usize).copied().unwrap_or(KINDS[0]);
        obj.insert("kind".into(), Value::String(name.into()));
    }
    if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) {
        let code = status.get("code").and_then(Value::as_i64).unwrap_or(0);
        let name = CODES.get(code as usize).copied().unwrap_or(CODES[0]);
        status.insert("code".into(), Value::String(name.into()));
    }
    if let Some(links) = obj.get_mut("links").and_then(Value::as_array_mut) {
        for link in links.iter_mut().filter_map(Value::as_object_mut) {
            hex_to_base64(link, "traceId");
            hex_to_base64(link, "spanId");
        }
    }
}

fn hex_to_base64(obj: &mut Map<String, Value>, key: &str) {
    let Some(Value::String(h)) = obj.get(key) else {
        return;
    };
    if h.is_empty() {
        obj.remove(key);
        return;
    }
    if let Ok(bytes) = hex::decode(h) {
        obj.insert(key.into(), Value::String(STANDARD.encode(bytes)));
    }
}
