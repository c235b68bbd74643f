//! Metrics functions on the fixture over (T0, T0+120s] with a 60 s step. T0 is 20 s past a
//! minute, so the range aligns to (T0-20s, T0+160s]: three intervals stamped at their ends.

use sextant_traceql::{Engine, MetricsEvaluator, MetricsRequest, Series, Value};

use crate::fixture::{T0, trace_a, trace_b};

const T0_MS: i64 = (T0 / 1_000_000) as i64;
/// Interval ends: trace A's spans fall in the first, trace B's in the second.
const P0: i64 = T0_MS + 40_000;
const P1: i64 = T0_MS + 100_000;
const P2: i64 = T0_MS + 160_000;

fn run(q: &str, req: MetricsRequest) -> Vec<Series> {
    let engine = Engine::compile(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let mut m = MetricsEvaluator::new(&engine, req).expect("metrics query");
    m.observe_trace(&trace_a()).expect("evaluates");
    m.observe_trace(&trace_b()).expect("evaluates");
    m.finish()
}

fn eval(q: &str) -> Vec<Series> {
    let req = MetricsRequest {
        start_unix_nano: T0,
        end_unix_nano: T0 + 120_000_000_000,
        step_nanos: 60_000_000_000,
        instant: false,
    };
    run(q, req)
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

fn service(s: &str) -> Value {
    Value::Str(s.into())
}

const CHAT: &str = r#"{ name =~ "chat.*" }"#;

#[test]
fn count_and_rate() {
    let s = eval(&format!("{CHAT} | count_over_time()"));
    assert_eq!(only(&s), [(P0, 2.0), (P1, 1.0), (P2, 0.0)]);
    assert_eq!(
        label(&s[0], "__name__"),
        Value::Str("count_over_time".into())
    );
    let s = eval(&format!("{CHAT} | rate()"));
    assert_eq!(only(&s), [(P0, 2.0 / 60.0), (P1, 1.0 / 60.0), (P2, 0.0)]);
    let s = eval("{ status = error } | count_over_time()");
    assert_eq!(only(&s), [(P0, 1.0), (P1, 1.0), (P2, 0.0)]);
}

#[test]
fn by_labels_keep_attribute_names_and_types() {
    let s = eval(&format!(
        "{CHAT} | count_over_time() by (resource.service.name)"
    ));
    assert_eq!(s.len(), 2);
    let find = |name: &str| {
        s.iter()
            .find(|x| label(x, "resource.service.name") == service(name))
    };
    assert_eq!(
        find("my-agent").expect("agent").points,
        [(P0, 2.0), (P1, 0.0), (P2, 0.0)]
    );
    assert_eq!(
        find("llm-proxy").expect("proxy").points,
        [(P0, 0.0), (P1, 1.0), (P2, 0.0)]
    );

    let s = eval("{ } | max_over_time(trace:duration) by (trace:rootService)");
    let a = s
        .iter()
        .find(|x| label(x, "trace:rootService") == service("my-agent"))
        .expect("a");
    // Durations other than the span's own stay in nanoseconds.
    assert_eq!(a.points, [(P0, 10e9)]);
}

#[test]
fn sum_avg_min_max_over_time() {
    let s = eval(&format!("{CHAT} | sum_over_time(span.gen_ai.cost_usd)"));
    let p = only(&s);
    assert_eq!(p.len(), 1, "the proxy chat has no cost");
    assert!((p[0].1 - 0.04).abs() < 1e-12);
    // Span durations are in seconds: 3 s and 1 s in the first interval, 2 s in the second.
    let avg = eval(&format!("{CHAT} | avg_over_time(duration)"));
    assert_eq!(only(&avg), [(P0, 2.0), (P1, 2.0)]);
    let min = eval(&format!("{CHAT} | min_over_time(span:duration)"));
    assert_eq!(only(&min), [(P0, 1.0), (P1, 2.0)]);
    let max = eval(&format!("{CHAT} | max_over_time(duration)"));
    assert_eq!(only(&max), [(P0, 3.0), (P1, 2.0)]);
}

#[test]
fn quantiles_and_histograms_use_log2_buckets() {
    let s = eval(&format!("{CHAT} | quantile_over_time(duration, 0.5, 1)"));
    assert_eq!(s.len(), 2);
    let p50 = s
        .iter()
        .find(|x| label(x, "p") == Value::Float(0.5))
        .expect("p50");
    assert_eq!(p50.points, [(P0, 1.0), (P1, 1.5)]);
    let p100 = s
        .iter()
        .find(|x| label(x, "p") == Value::Float(1.0))
        .expect("p100");
    assert_eq!(p100.points, [(P0, 4.0), (P1, 2.0)]);

    let s = eval(&format!("{CHAT} | histogram_over_time(duration)"));
    let bucket = |b: f64| {
        s.iter()
            .find(|x| label(x, "__bucket") == Value::Float(b))
            .map(|x| x.points.clone())
    };
    assert_eq!(bucket(1.0), Some(vec![(P0, 1.0)]));
    assert_eq!(bucket(2.0), Some(vec![(P1, 1.0)]));
    assert_eq!(bucket(4.0), Some(vec![(P0, 1.0)]));
    assert_eq!(s.len(), 3);
}

/// `(service label, value)` of the series that have a point at `ts`.
fn at(series: &[Series], ts: i64) -> Vec<(Value, f64)> {
    series
        .iter()
        .filter_map(|s| {
            let p = s.points.iter().find(|p| p.0 == ts)?;
            Some((label(s, "resource.service.name"), p.1))
        })
        .collect()
}

#[test]
fn topk_bottomk_and_filters_apply_per_interval() {
    let by = format!("{CHAT} | count_over_time() by (resource.service.name)");
    let top = eval(&format!("{by} | topk(1)"));
    assert_eq!(at(&top, P0), vec![(service("my-agent"), 2.0)]);
    assert_eq!(at(&top, P1), vec![(service("llm-proxy"), 1.0)]);
    assert_eq!(at(&top, P2).len(), 1, "a tie still keeps k series");
    let bottom = eval(&format!("{by} | bottomk(1)"));
    assert_eq!(at(&bottom, P0), vec![(service("llm-proxy"), 0.0)]);
    assert_eq!(at(&bottom, P1), vec![(service("my-agent"), 0.0)]);

    let filtered = eval(&format!("{by} > 0"));
    assert_eq!(at(&filtered, P0), vec![(service("my-agent"), 2.0)]);
    assert_eq!(at(&filtered, P1), vec![(service("llm-proxy"), 1.0)]);
    assert!(at(&filtered, P2).is_empty());
    // Filters and topk chain left to right.
    let chained = eval(&format!("{by} > 0 | topk(1) < 2"));
    assert_eq!(chained.iter().map(|s| s.points.len()).sum::<usize>(), 1);
    assert!(
        eval(&format!("{by} > 5")).is_empty(),
        "series without points are dropped"
    );
}

#[test]
fn instant_query_has_one_interval_ending_at_end() {
    let end = T0 + 61_000_000_000;
    let req = MetricsRequest {
        start_unix_nano: T0 - 1,
        end_unix_nano: end,
        step_nanos: 0,
        instant: true,
    };
    let s = run(
        &format!("{CHAT} | count_over_time() by (resource.service.name)"),
        req,
    );
    let end_ms = (end / 1_000_000) as i64;
    let mut got = at(&s, end_ms);
    got.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(
        got,
        vec![(service("llm-proxy"), 1.0), (service("my-agent"), 2.0)]
    );
}

#[test]
fn search_queries_and_bad_ranges_are_refused() {
    let engine = Engine::compile("{ }").expect("valid");
    let req = MetricsRequest {
        start_unix_nano: 0,
        end_unix_nano: 10,
        step_nanos: 1,
        instant: false,
    };
    assert!(MetricsEvaluator::new(&engine, req).is_err());
    let engine = Engine::compile("{ } | rate()").expect("valid");
    let zero_step = MetricsRequest {
        step_nanos: 0,
        ..req
    };
    assert!(MetricsEvaluator::new(&engine, zero_step).is_err());
}

fn find<'a>(series: &'a [Series], labels: &[(&str, Value)]) -> Option<&'a Series> {
    series
        .iter()
        .find(|s| labels.iter().all(|(k, v)| label(s, k) == *v) && s.labels.len() == labels.len())
}

#[test]
fn compare_splits_attribute_values_into_selection_and_baseline() {
    use sextant_traceql::ast::Status;
    let s = eval("{ } | compare({ status = error })");
    let meta = |t: &str| ("__meta_type", Value::Str(t.into()));
    let sel_error = find(
        &s,
        &[meta("selection"), ("status", Value::Status(Status::Error))],
    )
    .expect("selection");
    assert_eq!(sel_error.points, [(P0, 1.0), (P1, 1.0), (P2, 0.0)]);
    let base_unset = find(
        &s,
        &[meta("baseline"), ("status", Value::Status(Status::Unset))],
    )
    .expect("baseline");
    assert_eq!(base_unset.points, [(P0, 3.0), (P1, 1.0), (P2, 0.0)]);
    let base_ok = find(
        &s,
        &[meta("baseline"), ("status", Value::Status(Status::Ok))],
    )
    .expect("ok");
    assert_eq!(base_ok.points, [(P0, 1.0), (P1, 0.0), (P2, 0.0)]);
    let total = find(
        &s,
        &[
            meta("selection_total"),
            ("resource.service.name", Value::Nil),
        ],
    )
    .expect("total");
    assert_eq!(total.points, [(P0, 1.0), (P1, 1.0), (P2, 0.0)]);
    let model = find(
        &s,
        &[
            meta("baseline"),
            ("span.gen_ai.request.model", Value::Str("gpt-4o".into())),
        ],
    );
    assert_eq!(
        model.expect("span attributes take part").points[0],
        (P0, 1.0)
    );
    let keys: Vec<&str> = s
        .iter()
        .flat_map(|x| x.labels.iter().map(|(k, _)| k.as_str()))
        .collect();
    assert!(
        !keys.contains(&"duration") && !keys.contains(&"trace:id"),
        "{keys:?}"
    );

    // Top 1 keeps the most frequent baseline status and flags the attribute.
    let s = eval("{ } | compare({ status = error }, 1)");
    let statuses: Vec<&Series> = s
        .iter()
        .filter(|x| {
            label(x, "__meta_type") == Value::Str("baseline".into())
                && label(x, "status") != Value::Nil
        })
        .collect();
    assert_eq!(statuses.len(), 1);
    assert_eq!(label(statuses[0], "status"), Value::Status(Status::Unset));
    let err = find(
        &s,
        &[
            ("__meta_error", Value::Str("__too_many_values__".into())),
            ("status", Value::Nil),
        ],
    );
    assert!(err.is_some_and(|e| e.points.is_empty()));
}
