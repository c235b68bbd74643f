//! Span metrics equal counts computed from the batches directly.

use std::borrow::Cow;
use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use sextant_store::SpanBatchBuilder;
use sextant_store::genai::{GenAiRow, SpanEnricher};

use super::*;

/// Reads a few GenAI attributes straight from the span: enough canonical fields for the test.
struct AttrEnricher;

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn attr_str<'a>(span: &'a Span, key: &str) -> Option<Cow<'a, str>> {
    match attr(span, key) {
        Some(any_value::Value::StringValue(s)) => Some(Cow::Borrowed(s.as_str())),
        _ => None,
    }
}

fn attr_u64(span: &Span, key: &str) -> Option<u64> {
    match attr(span, key) {
        Some(any_value::Value::IntValue(i)) => u64::try_from(*i).ok(),
        _ => None,
    }
}

impl SpanEnricher for AttrEnricher {
    fn enrich<'a>(
        &self,
        _: Option<&'a Resource>,
        _: Option<&'a InstrumentationScope>,
        span: &'a Span,
    ) -> GenAiRow<'a> {
        let operation = attr_str(span, "gen_ai.operation.name");
        GenAiRow {
            llm_call: operation.as_deref() == Some("chat"),
            operation,
            provider: attr_str(span, "gen_ai.provider.name"),
            request_model: attr_str(span, "gen_ai.request.model"),
            tool_name: attr_str(span, "gen_ai.tool.name"),
            conversation_id: attr_str(span, "gen_ai.conversation.id"),
            input_tokens: attr_u64(span, "gen_ai.usage.input_tokens"),
            output_tokens: attr_u64(span, "gen_ai.usage.output_tokens"),
            cost_usd: match attr(span, "cost") {
                Some(any_value::Value::DoubleValue(d)) => Some(*d),
                _ => None,
            },
            ..GenAiRow::default()
        }
    }
}

fn kv_s(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.to_owned())),
        }),
        ..Default::default()
    }
}

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.to_owned(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

/// Deterministic pseudo-random spans over a few services, names, models and tools.
fn batch(seed: u64, n: usize) -> RecordBatch {
    let mut x = seed;
    let mut next = move |m: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % m
    };
    let mut resource_spans = Vec::new();
    for svc in ["api", "agent"] {
        let mut spans = Vec::new();
        for i in 0..n {
            let mut attrs = vec![kv_s("gen_ai.conversation.id", &format!("conv-{i}"))];
            match next(4) {
                0 => {
                    attrs.push(kv_s("gen_ai.operation.name", "chat"));
                    attrs.push(kv_s("gen_ai.provider.name", "openai"));
                    attrs.push(kv_s(
                        "gen_ai.request.model",
                        ["gpt-4o", "gpt-4o-mini"][next(2) as usize],
                    ));
                    attrs.push(kv(
                        "gen_ai.usage.input_tokens",
                        any_value::Value::IntValue(next(5000) as i64),
                    ));
                    attrs.push(kv(
                        "gen_ai.usage.output_tokens",
                        any_value::Value::IntValue(next(800) as i64),
                    ));
                    attrs.push(kv(
                        "cost",
                        any_value::Value::DoubleValue(next(1000) as f64 / 1e4),
                    ));
                }
                1 => {
                    attrs.push(kv_s("gen_ai.operation.name", "execute_tool"));
                    attrs.push(kv_s(
                        "gen_ai.tool.name",
                        ["search", "fetch"][next(2) as usize],
                    ));
                }
                _ => {}
            }
            let start = 1_700_000_000_000_000_000 + i as u64 * 1_000_000;
            spans.push(Span {
                trace_id: vec![1; 16],
                span_id: (i as u64 + 1).to_be_bytes().to_vec(),
                // Every fourth span is a root (no parent).
                parent_span_id: if i % 4 == 0 {
                    Vec::new()
                } else {
                    1u64.to_be_bytes().to_vec()
                },
                name: ["GET /", "POST /chat", "tool"][next(3) as usize].to_owned(),
                kind: next(6) as i32,
                start_time_unix_nano: start,
                end_time_unix_nano: start + next(20_000_000_000),
                status: Some(Status {
                    code: next(3) as i32,
                    message: String::new(),
                }),
                attributes: attrs,
                ..Default::default()
            });
        }
        resource_spans.push(ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv_s("service.name", svc)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    let req = ExportTraceServiceRequest { resource_spans };
    let mut b = SpanBatchBuilder::with_capacity(2 * n);
    b.push_request(&req, &AttrEnricher).expect("push spans");
    b.finish().expect("finish batch")
}

fn value_of(snap: &[(String, Labels, i64, f64)], want: &[(&str, &str)]) -> f64 {
    snap.iter()
        .filter(|(_, l, _, _)| want.iter().all(|(n, v)| l.get(n).unwrap_or("") == *v))
        .map(|s| s.3)
        .sum()
}

#[test]
fn counts_equal_those_computed_from_the_batches() {
    let m = SpanMetrics::default();
    let batches = [batch(1, 300), batch(2, 200)];
    for b in &batches {
        assert_eq!(m.observe_batch("t", b), b.num_rows());
    }
    let snap = m.snapshot(42);
    // Computed from the batches directly.
    let mut calls: BTreeMap<(String, String, String, String), f64> = BTreeMap::new();
    let mut input: BTreeMap<String, f64> = BTreeMap::new();
    let mut cost: BTreeMap<String, f64> = BTreeMap::new();
    let mut chats = 0.0;
    let mut tool_calls: BTreeMap<String, f64> = BTreeMap::new();
    for b in &batches {
        let g = GenAiColumns::of(b).expect("v2 batch");
        let c = SpanCols::of(b).expect("span batch");
        for r in 0..b.num_rows() {
            let key = (
                c.service.value(r).to_owned(),
                c.name.value(r).to_owned(),
                span_kind_name(c.kind.value(r)).to_owned(),
                status_code_name(c.status.value(r)).to_owned(),
            );
            *calls.entry(key).or_default() += 1.0;
            let row = g.row(r);
            if row.llm_call {
                chats += 1.0;
                let model = row.request_model.unwrap_or_default().into_owned();
                *input.entry(model.clone()).or_default() += row.input_tokens.unwrap_or(0) as f64;
                *cost.entry(model).or_default() += row.cost_usd.unwrap_or(0.0);
            }
            if let Some(tool) = row.tool_name {
                *tool_calls.entry(tool.into_owned()).or_default() += 1.0;
            }
        }
    }
    for ((svc, name, kind, status), n) in &calls {
        let got = value_of(
            &snap,
            &[
                ("__name__", "traces_spanmetrics_calls_total"),
                ("service", svc),
                ("span_name", name),
                ("span_kind", kind),
                ("status_code", status),
            ],
        );
        assert_eq!(got, *n, "{svc} {name} {kind} {status}");
        let count = value_of(
            &snap,
            &[
                ("__name__", "traces_spanmetrics_latency_count"),
                ("service", svc),
                ("span_name", name),
                ("span_kind", kind),
                ("status_code", status),
            ],
        );
        assert_eq!(count, *n);
    }
    for (model, tokens) in &input {
        let sum = value_of(
            &snap,
            &[
                ("__name__", "gen_ai_client_token_usage_sum"),
                ("gen_ai_request_model", model),
                ("gen_ai_token_type", "input"),
            ],
        );
        assert_eq!(sum, *tokens, "{model}");
        let usd = value_of(
            &snap,
            &[
                ("__name__", "sextant_gen_ai_cost_usd_total"),
                ("gen_ai_request_model", model),
            ],
        );
        assert!(
            (usd - cost[model]).abs() < 1e-9,
            "{model}: {usd} vs {}",
            cost[model]
        );
    }
    let token_count = value_of(
        &snap,
        &[
            ("__name__", "gen_ai_client_token_usage_count"),
            ("gen_ai_token_type", "output"),
        ],
    );
    assert_eq!(token_count, chats);
    for (tool, n) in &tool_calls {
        let got = value_of(
            &snap,
            &[
                ("__name__", "sextant_gen_ai_calls_total"),
                ("gen_ai_tool_name", tool),
            ],
        );
        assert_eq!(got, *n, "{tool}");
    }
    // Ids never become labels.
    for (_, l, _, _) in &snap {
        assert!(
            l.iter()
                .all(|(n, v)| !n.contains("conversation") && !v.starts_with("conv-")),
            "{l}"
        );
        assert_eq!(l.get("otel_metric_overflow"), None);
    }
    assert!(snap.iter().all(|s| s.0 == "t" && s.2 == 42));
}

#[test]
fn traces_are_counted_by_their_root_spans() {
    let m = SpanMetrics::default();
    let batches = [batch(4, 300), batch(5, 101)];
    for b in &batches {
        m.observe_batch("t", b);
    }
    let snap = m.snapshot(7);
    // Computed from the batches directly: root spans by (service, status), durations by service.
    let mut traces: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut secs: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for b in &batches {
        let c = SpanCols::of(b).expect("span batch");
        for r in (0..b.num_rows()).filter(|r| c.parent.is_null(*r)) {
            let svc = c.service.value(r).to_owned();
            let status = status_code_name(c.status.value(r)).to_owned();
            *traces.entry((svc.clone(), status)).or_default() += 1.0;
            secs.entry(svc)
                .or_default()
                .push(c.duration.value(r) as f64 / 1e9);
        }
    }
    let roots: f64 = traces.values().sum();
    assert_eq!(
        roots,
        (75 + 26) as f64 * 2.0,
        "every fourth span of two services"
    );
    assert!(traces.keys().any(|(_, s)| s == "STATUS_CODE_ERROR"));
    for ((svc, status), n) in &traces {
        let got = value_of(
            &snap,
            &[
                ("__name__", "sextant_traces_total"),
                ("service", svc),
                ("status_code", status),
            ],
        );
        assert_eq!(got, *n, "{svc} {status}");
    }
    for (svc, d) in &secs {
        let metric = |name: &'static str, le: &str| {
            let mut want = vec![("__name__", name), ("service", svc.as_str())];
            if !le.is_empty() {
                want.push(("le", le));
            }
            value_of(&snap, &want)
        };
        assert_eq!(
            metric("sextant_trace_duration_seconds_count", ""),
            d.len() as f64
        );
        let sum: f64 = d.iter().sum();
        let got = metric("sextant_trace_duration_seconds_sum", "");
        assert!((got - sum).abs() < 1e-6, "{svc}: {got} vs {sum}");
        let under = d.iter().filter(|s| **s <= 1.024).count();
        assert_eq!(
            metric("sextant_trace_duration_seconds_bucket", "1.024"),
            under as f64
        );
    }
}

#[test]
fn cardinality_guard_sends_excess_series_to_overflow() {
    let m = SpanMetrics::new(SpanMetricsConfig {
        max_series_per_metric: 5,
        max_values_per_label: 1_000,
    });
    let b = batch(3, 200);
    m.observe_batch("t", &b);
    let snap = m.snapshot(1);
    let calls: Vec<_> = snap
        .iter()
        .filter(|s| s.1.metric_name() == Some("traces_spanmetrics_calls_total"))
        .collect();
    assert_eq!(calls.len(), 6, "five series and the overflow series");
    let total: f64 = calls.iter().map(|s| s.3).sum();
    assert_eq!(total, b.num_rows() as f64, "overflow keeps the total exact");
    let overflow = value_of(
        &snap,
        &[
            ("__name__", "sextant_spanmetrics_overflow_total"),
            ("metric", "traces_spanmetrics_calls_total"),
        ],
    );
    let in_overflow = value_of(
        &snap,
        &[
            ("__name__", "traces_spanmetrics_calls_total"),
            ("otel_metric_overflow", "true"),
        ],
    );
    assert!(overflow > 0.0);
    assert_eq!(overflow, in_overflow);
}

#[test]
fn genai_families_share_one_guard_and_overflow_each_exactly() {
    let m = SpanMetrics::new(SpanMetricsConfig {
        max_series_per_metric: 2,
        max_values_per_label: 1_000,
    });
    let b = batch(6, 300);
    m.observe_batch("t", &b);
    let snap = m.snapshot(1);
    let g = GenAiColumns::of(&b).expect("v2 batch");
    let genai_spans = (0..b.num_rows())
        .filter(|r| g.llm_call(*r) || g.str(off::OPERATION, *r).is_some())
        .count();
    let calls: Vec<_> = snap
        .iter()
        .filter(|s| s.1.metric_name() == Some("sextant_gen_ai_calls_total"))
        .collect();
    let total: f64 = calls.iter().map(|s| s.3).sum();
    assert_eq!(total, genai_spans as f64, "overflow keeps the total exact");
    // Two six-label sets, each with at most two `error` values, and the overflow series.
    let sets: std::collections::BTreeSet<_> = calls
        .iter()
        .filter(|s| s.1.get("otel_metric_overflow").is_none())
        .map(|s| (s.1.get("gen_ai_request_model"), s.1.get("gen_ai_tool_name")))
        .collect();
    assert_eq!(sets.len(), 2);
    for (metric, in_overflow) in [
        ("sextant_gen_ai_calls_total", "sextant_gen_ai_calls_total"),
        (
            "gen_ai_client_token_usage",
            "gen_ai_client_token_usage_count",
        ),
    ] {
        let counted = value_of(
            &snap,
            &[
                ("__name__", "sextant_spanmetrics_overflow_total"),
                ("metric", metric),
            ],
        );
        let observed = value_of(
            &snap,
            &[("__name__", in_overflow), ("otel_metric_overflow", "true")],
        );
        assert!(counted > 0.0, "{metric}");
        assert_eq!(counted, observed, "{metric}");
    }
    // The overflow series has no seventh label.
    assert!(
        snap.iter()
            .all(|s| s.1.get("otel_metric_overflow").is_none()
                || (s.1.get("gen_ai_token_type").is_none() && s.1.get("error").is_none()))
    );
}
