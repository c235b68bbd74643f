//! Tempo's JSON form of the `tempopb` messages (gogo `jsonpb` defaults): lowerCamelCase
//! names, 64-bit integers as strings, zero values and empty lists omitted.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::{Map, Value, json};

use super::tempopb as pb;

/// An object without the entries whose value is a zero, empty string, empty list or null.
fn compact(entries: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in entries {
        let zero = match &v {
            Value::Null => true,
            Value::String(s) => s.is_empty() || s == "0",
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::Array(a) => a.is_empty(),
            Value::Bool(b) => !b,
            Value::Object(_) => false,
        };
        if !zero {
            m.insert(k.to_owned(), v);
        }
    }
    Value::Object(m)
}

/// An OTLP value as jsonpb writes it.
pub fn any_value(v: &AnyValue) -> Value {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => json!({ "stringValue": s }),
        Some(any_value::Value::IntValue(i)) => json!({ "intValue": i.to_string() }),
        Some(any_value::Value::DoubleValue(d)) => json!({ "doubleValue": double(*d) }),
        Some(any_value::Value::BoolValue(b)) => json!({ "boolValue": b }),
        Some(any_value::Value::ArrayValue(a)) => {
            let values: Vec<Value> = a.values.iter().map(any_value).collect();
            json!({ "arrayValue": { "values": values } })
        }
        Some(any_value::Value::BytesValue(b)) => json!({ "stringValue": hex::encode(b) }),
        Some(any_value::Value::KvlistValue(_) | any_value::Value::StringValueStrindex(_))
        | None => json!({}),
    }
}

/// A double as jsonpb writes it (`"NaN"`, `"Infinity"` as strings).
pub fn double(d: f64) -> Value {
    if d.is_nan() {
        Value::String("NaN".into())
    } else if d.is_infinite() {
        Value::String(if d > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        json!(d)
    }
}

pub fn key_values(kvs: &[KeyValue]) -> Value {
    Value::Array(
        kvs.iter()
            .map(|kv| {
                let v = kv.value.as_ref().map_or(json!({}), any_value);
                json!({ "key": kv.key, "value": v })
            })
            .collect(),
    )
}

fn span(s: &pb::Span) -> Value {
    compact(vec![
        ("spanID", json!(s.span_id)),
        ("name", json!(s.name)),
        (
            "startTimeUnixNano",
            json!(s.start_time_unix_nano.to_string()),
        ),
        ("durationNanos", json!(s.duration_nanos.to_string())),
        ("attributes", key_values(&s.attributes)),
    ])
}

fn span_set(s: &pb::SpanSet) -> Value {
    compact(vec![
        ("spans", Value::Array(s.spans.iter().map(span).collect())),
        ("matched", json!(s.matched)),
        ("attributes", key_values(&s.attributes)),
    ])
}

pub fn search_metrics(m: &pb::SearchMetrics) -> Value {
    compact(vec![
        ("inspectedTraces", json!(m.inspected_traces)),
        ("inspectedBytes", json!(m.inspected_bytes.to_string())),
        ("totalBlocks", json!(m.total_blocks)),
        ("completedJobs", json!(m.completed_jobs)),
        ("totalJobs", json!(m.total_jobs)),
        ("inspectedSpans", json!(m.inspected_spans.to_string())),
    ])
}

pub fn metadata_metrics(m: &Option<pb::MetadataMetrics>) -> Value {
    let bytes = m.as_ref().map_or(0, |m| m.inspected_bytes);
    compact(vec![("inspectedBytes", json!(bytes.to_string()))])
}

/// `SearchResponse`.
pub fn search_response(r: &pb::SearchResponse) -> Value {
    let traces: Vec<Value> = r
        .traces
        .iter()
        .map(|t| {
            compact(vec![
                ("traceID", json!(t.trace_id)),
                ("rootServiceName", json!(t.root_service_name)),
                ("rootTraceName", json!(t.root_trace_name)),
                (
                    "startTimeUnixNano",
                    json!(t.start_time_unix_nano.to_string()),
                ),
                ("durationMs", json!(t.duration_ms)),
                ("spanSet", t.span_set.as_ref().map_or(Value::Null, span_set)),
                (
                    "spanSets",
                    Value::Array(t.span_sets.iter().map(span_set).collect()),
                ),
            ])
        })
        .collect();
    let metrics = r.metrics.as_ref().map_or(json!({}), search_metrics);
    json!({ "traces": traces, "metrics": metrics })
}

/// `QueryRangeResponse`.
pub fn query_range(r: &pb::QueryRangeResponse) -> Value {
    let series: Vec<Value> = r
        .series
        .iter()
        .map(|s| {
            let samples: Vec<Value> = s
                .samples
                .iter()
                .map(|p| json!({ "timestampMs": p.timestamp_ms.to_string(), "value": double(p.value) }))
                .collect();
            json!({ "labels": key_values(&s.labels), "samples": samples })
        })
        .collect();
    let metrics = r.metrics.as_ref().map_or(json!({}), search_metrics);
    json!({ "series": series, "metrics": metrics })
}

/// `QueryInstantResponse`.
pub fn query_instant(r: &pb::QueryInstantResponse) -> Value {
    let series: Vec<Value> = r
        .series
        .iter()
        .map(|s| json!({ "labels": key_values(&s.labels), "value": double(s.value) }))
        .collect();
    let metrics = r.metrics.as_ref().map_or(json!({}), search_metrics);
    json!({ "series": series, "metrics": metrics })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_four_bit_numbers_are_strings_and_zeros_are_omitted() {
        let s = pb::Span {
            span_id: "00000000000000aa".into(),
            name: String::new(),
            start_time_unix_nano: 5,
            duration_nanos: 0,
            attributes: Vec::new(),
        };
        assert_eq!(
            span(&s),
            json!({ "spanID": "00000000000000aa", "startTimeUnixNano": "5" })
        );
        let v = AnyValue {
            value: Some(any_value::Value::IntValue(7)),
        };
        assert_eq!(any_value(&v), json!({ "intValue": "7" }));
        assert_eq!(double(f64::NAN), json!("NaN"));
    }
}
