//! The issue's seed query on real ajolopy payloads (`../shared/corpus/ajolopy`), with a
//! fallback standing in for the GenAI normalizer: the bare-aggregate extension must return, per
//! trace, the average computed directly from the payload.

use std::collections::BTreeMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use sextant_traceql::{AttributeFallback, Engine, Value};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/ajolopy"
);

/// ajolopy puts the agent's cost on the root as `ajolopy.cost_usd.total`; the canonical name
/// is `gen_ai.cost_usd`.
struct AjolopyCost;

impl AttributeFallback for AjolopyCost {
    fn fallback(&self, span: &Span, _resource: &Resource, name: &str) -> Option<Value> {
        if name != "gen_ai.cost_usd" {
            return None;
        }
        let kv = span
            .attributes
            .iter()
            .find(|kv| kv.key == "ajolopy.cost_usd.total")?;
        kv.value.as_ref().map(Value::from_any)
    }
}

fn double(span: &Span, key: &str) -> Option<f64> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::DoubleValue(d) => Some(*d),
            _ => None,
        })
}

/// Splits a request into traces, keeping resources and scopes.
fn traces(req: &ExportTraceServiceRequest) -> BTreeMap<Vec<u8>, Vec<ResourceSpans>> {
    let mut out: BTreeMap<Vec<u8>, Vec<ResourceSpans>> = BTreeMap::new();
    for rs in &req.resource_spans {
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                out.entry(span.trace_id.clone())
                    .or_default()
                    .push(ResourceSpans {
                        resource: rs.resource.clone(),
                        scope_spans: vec![ScopeSpans {
                            scope: ss.scope.clone(),
                            spans: vec![span.clone()],
                            ..Default::default()
                        }],
                        ..Default::default()
                    });
            }
        }
    }
    out
}

fn load(scenario: &str) -> BTreeMap<Vec<u8>, Vec<ResourceSpans>> {
    let path = format!("{CORPUS}/{scenario}-content_off-http_protobuf.traces.pb");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    traces(&ExportTraceServiceRequest::decode(bytes.as_slice()).expect("a valid OTLP request"))
}

fn spans(trace: &[ResourceSpans]) -> impl Iterator<Item = &Span> {
    trace
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[test]
fn seed_query_average_equals_the_payloads() {
    let q = r#"{ resource.service.name = "corpus-ajolopy" && name =~ "agent.invoke .*" } | avg(span.gen_ai.cost_usd)"#;
    let engine = Engine::compile(q)
        .expect("valid with the extension")
        .with_fallback(Arc::new(AjolopyCost));
    let mut checked = 0;
    for scenario in ["agent", "chat", "stream", "tool_roundtrip", "error_429"] {
        for trace in load(scenario).values() {
            let costs: Vec<f64> = spans(trace)
                .filter(|s| s.name.starts_with("agent.invoke "))
                .filter_map(|s| double(s, "ajolopy.cost_usd.total"))
                .collect();
            let result = engine
                .eval_trace(trace)
                .expect("evaluates")
                .expect("every trace has an agent span");
            let got = result.spansets[0]
                .attributes
                .iter()
                .find(|(k, _)| k == "avg(span.gen_ai.cost_usd)");
            match (mean(&costs), got) {
                (Some(want), Some((_, Value::Float(v)))) => {
                    assert!((want - v).abs() < 1e-15, "{scenario}: {v} != {want}");
                    checked += 1;
                }
                (None, None) => {}
                other => panic!("{scenario}: {other:?}"),
            }
        }
    }
    assert!(checked >= 5, "only {checked} traces had a cost");
}

#[test]
fn chat_cost_average_skips_unpriced_calls() {
    let engine =
        Engine::compile(r#"{ name =~ "chat .*" } | avg(span.gen_ai.cost_usd)"#).expect("valid");
    for trace in load("agent").values() {
        let costs: Vec<f64> = spans(trace)
            .filter(|s| s.name.starts_with("chat "))
            .filter_map(|s| double(s, "gen_ai.cost_usd"))
            .collect();
        let result = engine
            .eval_trace(trace)
            .expect("evaluates")
            .expect("chat spans");
        let got = result.spansets[0]
            .attributes
            .first()
            .map(|(_, v)| v.clone());
        assert_eq!(got, mean(&costs).map(Value::Float));
    }
}
