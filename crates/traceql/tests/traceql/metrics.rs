//! Metrics functions on the fixture over [T0, T0+120s) with a 60 s step.

use sextant_traceql::{Engine, MetricsEvaluator, MetricsRequest, Series, Value};

use crate::fixture::{T0, trace_a, trace_b};

const T0_MS: i64 = (T0 / 1_000_000) as i64;
const T1_MS: i64 = T0_MS + 60_000;

fn eval(q: &str) -> Vec<Series> {
    let engine = Engine::compile(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let req = MetricsRequest {
        start_unix_nano: T0,
        end_unix_nano: T0 + 120_000_000_000,
        step_nanos: 60_000_000_000,
    };
    let mut m = MetricsEvaluator::new(&engine, req).expect("metrics query");
    m.observe_trace(&trace_a()).expect("evaluates");
    m.observe_trace(&trace_b()).expect("evaluates");
    m.finish()
}

fn label(s: &Series, key: &str) -> Value {
    s.labels
        .iter()
        .find(|(k, _)| k == key)
        .map_or(Value::Nil, |(_, v)| v.clone())
}

fn only(series: &[Series]) -> &[(i64, f64)] {
    assert_eq!(series.len(), 1, "{series:?}");
    &series[0].points
}

const CHAT: &str = r#"{ name =~ "chat.*" }"#;

#[test]
fn count_and_rate() {
    let s = eval(&format!("{CHAT} | count_over_time()"));
    assert_eq!(only(&s), [(T0_MS, 2.0), (T1_MS, 1.0)]);
    assert_eq!(
        label(&s[0], "__name__"),
        Value::Str("count_over_time".into())
    );
    let s = eval(&format!("{CHAT} | rate()"));
    assert_eq!(only(&s), [(T0_MS, 2.0 / 60.0), (T1_MS, 1.0 / 60.0)]);
    let s = eval("{ status = error } | count_over_time()");
    assert_eq!(only(&s), [(T0_MS, 1.0), (T1_MS, 1.0)]);
}

#[test]
fn by_labels_keep_attribute_names_and_types() {
    let s = eval(&format!(
        "{CHAT} | count_over_time() by (resource.service.name)"
    ));
    assert_eq!(s.len(), 2);
    let agent = s
        .iter()
        .find(|x| label(x, "resource.service.name") == Value::Str("my-agent".into()))
        .expect("agent");
    assert_eq!(agent.points, [(T0_MS, 2.0), (T1_MS, 0.0)]);
    let proxy = s
        .iter()
        .find(|x| label(x, "resource.service.name") == Value::Str("llm-proxy".into()))
        .expect("proxy");
    assert_eq!(proxy.points, [(T0_MS, 0.0), (T1_MS, 1.0)]);

    let s = eval("{ } | max_over_time(trace:duration) by (trace:rootService)");
    let a = s
        .iter()
        .find(|x| label(x, "trace:rootService") == Value::Str("my-agent".into()))
        .expect("a");
    // Durations other than the span's own stay in nanoseconds.
    assert_eq!(a.points, [(T0_MS, 10e9)]);
}

#[test]
fn sum_avg_min_max_over_time() {
    let s = eval(&format!("{CHAT} | sum_over_time(span.gen_ai.cost_usd)"));
    let p = only(&s);
    assert_eq!(p.len(), 1, "the proxy chat has no cost");
    assert!((p[0].1 - 0.04).abs() < 1e-12);
    // Span durations are in seconds: 3 s and 1 s in the first step, 2 s in the second.
    assert_eq!(
        only(&eval(&format!("{CHAT} | avg_over_time(duration)"))),
        [(T0_MS, 2.0), (T1_MS, 2.0)]
    );
    assert_eq!(
        only(&eval(&format!("{CHAT} | min_over_time(span:duration)"))),
        [(T0_MS, 1.0), (T1_MS, 2.0)]
    );
    assert_eq!(
        only(&eval(&format!("{CHAT} | max_over_time(duration)"))),
        [(T0_MS, 3.0), (T1_MS, 2.0)]
    );
}

#[test]
fn quantiles_and_histograms_use_log2_buckets() {
    let s = eval(&format!("{CHAT} | quantile_over_time(duration, 0.5, 1)"));
    assert_eq!(s.len(), 2);
    let p50 = s
        .iter()
        .find(|x| label(x, "p") == Value::Float(0.5))
        .expect("p50");
    assert_eq!(p50.points, [(T0_MS, 1.0), (T1_MS, 1.5)]);
    let p100 = s
        .iter()
        .find(|x| label(x, "p") == Value::Float(1.0))
        .expect("p100");
    assert_eq!(p100.points, [(T0_MS, 4.0), (T1_MS, 2.0)]);

    let s = eval(&format!("{CHAT} | histogram_over_time(duration)"));
    let bucket = |b: f64| {
        s.iter()
            .find(|x| label(x, "__bucket") == Value::Float(b))
            .map(|x| x.points.clone())
    };
    assert_eq!(bucket(1.0), Some(vec![(T0_MS, 1.0)]));
    assert_eq!(bucket(2.0), Some(vec![(T1_MS, 1.0)]));
    assert_eq!(bucket(4.0), Some(vec![(T0_MS, 1.0)]));
    assert_eq!(s.len(), 3);
}

#[test]
fn topk_bottomk_and_filters_apply_per_step() {
    let by = format!("{CHAT} | count_over_time() by (resource.service.name)");
    let points = |q: &str| -> Vec<(String, Vec<(i64, f64)>)> {
        eval(q)
            .into_iter()
            .map(|s| {
                (
                    format!("{:?}", label(&s, "resource.service.name")),
                    s.points,
                )
            })
            .collect()
    };
    let top = points(&format!("{by} | topk(1)"));
    assert_eq!(top.len(), 2, "each service wins one step: {top:?}");
    assert!(top.iter().all(|(_, p)| p.len() == 1 && p[0].1 > 0.0));
    let bottom = points(&format!("{by} | bottomk(1)"));
    assert!(
        bottom.iter().all(|(_, p)| p.len() == 1 && p[0].1 == 0.0),
        "{bottom:?}"
    );
    let filtered = points(&format!("{by} > 0"));
    assert!(
        filtered.iter().all(|(_, p)| p.len() == 1 && p[0].1 > 0.0),
        "{filtered:?}"
    );
    assert!(
        eval(&format!("{by} > 5")).is_empty(),
        "series without points are dropped"
    );
}

#[test]
fn search_queries_and_bad_ranges_are_refused() {
    let engine = Engine::compile("{ }").expect("valid");
    let req = MetricsRequest {
        start_unix_nano: 0,
        end_unix_nano: 10,
        step_nanos: 1,
    };
    assert!(MetricsEvaluator::new(&engine, req).is_err());
    let engine = Engine::compile("{ } | rate()").expect("valid");
    assert!(
        MetricsEvaluator::new(
            &engine,
            MetricsRequest {
                step_nanos: 0,
                ..req
            }
        )
        .is_err()
    );
}
