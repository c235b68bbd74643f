//! The Overview's figures from span-metric series: requests (traces, counted by their root
//! span), failed requests (root span status error) and their p95 duration, tokens and cost, per
//! service and per model, and requests over time. The series
//! are cumulative counters and histograms; every figure is the exact gain in the window
//! ([`super::counters`]), so reading them costs the same at any number of stored spans.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sextant_promql::{MatchOp, Matcher, Series};

use super::counters::{gain, gains, quantile};

/// Traces (requests) by the service and status of their root span.
pub(super) const TRACES: &str = "sextant_traces_total";
/// Duration histogram of root spans (its `_bucket` series).
pub(super) const DURATION: &str = "sextant_trace_duration_seconds_bucket";
/// The `status_code` of a failed request's root span.
const ERROR: &str = "STATUS_CODE_ERROR";
/// Token sums of model calls by `gen_ai_token_type`.
pub(super) const TOKENS: &str = "gen_ai_client_token_usage_sum";
/// Cost of priced model calls.
pub(super) const COST: &str = "sextant_gen_ai_cost_usd_total";
/// Tempo's RED span counter.
pub(super) const SPANS: &str = "traces_spanmetrics_calls_total";

/// The matchers of each series set the Overview reads, in the order of [`Selected`].
pub(super) fn selections() -> sextant_promql::Result<[Vec<Matcher>; 5]> {
    let name = |n: &str| Matcher::new("__name__", MatchOp::Equal, n);
    Ok([
        vec![name(TRACES)?],
        vec![name(DURATION)?],
        vec![
            name(TOKENS)?,
            Matcher::new("gen_ai_token_type", MatchOp::Regex, "input|output")?,
        ],
        vec![name(COST)?],
        vec![name(SPANS)?],
    ])
}

/// The series read, one set per [`selections`] entry.
#[derive(Debug, Default)]
pub(super) struct Selected {
    pub traces: Vec<Series>,
    pub durations: Vec<Series>,
    pub tokens: Vec<Series>,
    pub cost: Vec<Series>,
    pub spans: Vec<Series>,
}

/// Times in Unix milliseconds: the range `(start, end]`, the chart's step, and the start of
/// the caller's day for "cost today".
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub today: i64,
}

#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct Requests {
    pub total: f64,
    pub failed: f64,
    pub p95_seconds: Option<f64>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct Service {
    pub service: String,
    pub requests: f64,
    pub failed: f64,
    pub p95_seconds: Option<f64>,
    pub spans: f64,
    pub failed_spans: f64,
    pub cost_usd: f64,
}

#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct Model {
    /// `gen_ai.request.model`.
    pub model: String,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub total_tokens: f64,
    /// `None` when no call of the model had a price (its cost is unknown, not zero).
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct Point {
    /// Bucket start, Unix seconds.
    pub t: f64,
    pub requests: f64,
    pub failed: f64,
}

#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct Overview {
    pub requests: Requests,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub total_tokens: f64,
    pub cost_usd: f64,
    pub cost_today_usd: f64,
    pub services: Vec<Service>,
    pub models: Vec<Model>,
    pub series: Vec<Point>,
}

fn label<'a>(s: &'a Series, name: &str) -> &'a str {
    s.labels.get(name).unwrap_or("")
}

/// Builds the Overview of `w` from `sel`.
pub(super) fn build(sel: &Selected, w: Window) -> Overview {
    let mut services: BTreeMap<String, Service> = BTreeMap::new();
    let mut out = Overview {
        series: requests_over_time(&sel.traces, w),
        ..Default::default()
    };
    for s in &sel.traces {
        let (n, failed) = (
            gain(&s.samples, w.start, w.end),
            label(s, "status_code") == ERROR,
        );
        let svc = service(&mut services, label(s, "service"));
        svc.requests += n;
        out.requests.total += n;
        if failed {
            svc.failed += n;
            out.requests.failed += n;
        }
    }
    for s in &sel.spans {
        let n = gain(&s.samples, w.start, w.end);
        let svc = service(&mut services, label(s, "service"));
        svc.spans += n;
        if label(s, "status_code") == ERROR {
            svc.failed_spans += n;
        }
    }
    for s in &sel.cost {
        let n = gain(&s.samples, w.start, w.end);
        service(&mut services, label(s, "service")).cost_usd += n;
        out.cost_usd += n;
        out.cost_today_usd += gain(&s.samples, w.today, w.end);
    }
    let (overall, by_service) = p95s(&sel.durations, w);
    out.requests.p95_seconds = overall;
    for (name, p95) in by_service {
        service(&mut services, &name).p95_seconds = p95;
    }
    out.models = models(sel, w);
    for m in &out.models {
        out.input_tokens += m.input_tokens;
        out.output_tokens += m.output_tokens;
    }
    out.total_tokens = out.input_tokens + out.output_tokens;
    out.services = services.into_values().collect();
    out
}

fn service<'a>(services: &'a mut BTreeMap<String, Service>, name: &str) -> &'a mut Service {
    services.entry(name.to_owned()).or_insert_with(|| Service {
        service: name.to_owned(),
        ..Default::default()
    })
}

/// p95 of the requests' (root spans') durations, overall and per service.
fn p95s(durations: &[Series], w: Window) -> (Option<f64>, Vec<(String, Option<f64>)>) {
    let mut all: HashMap<u64, (f64, f64)> = HashMap::new();
    let mut per: HashMap<&str, HashMap<u64, (f64, f64)>> = HashMap::new();
    for s in durations {
        let Ok(le) = label(s, "le").parse::<f64>() else {
            continue;
        };
        let n = gain(&s.samples, w.start, w.end);
        all.entry(le.to_bits()).or_insert((le, 0.0)).1 += n;
        let svc = per.entry(label(s, "service")).or_default();
        svc.entry(le.to_bits()).or_insert((le, 0.0)).1 += n;
    }
    let q = |m: &HashMap<u64, (f64, f64)>| quantile(0.95, &m.values().copied().collect::<Vec<_>>());
    let by_service = per.iter().map(|(k, m)| ((*k).to_owned(), q(m))).collect();
    (q(&all), by_service)
}

fn by_model<'a>(by: &'a mut BTreeMap<String, Model>, s: &Series) -> &'a mut Model {
    let name = label(s, "gen_ai_request_model");
    by.entry(name.to_owned()).or_insert_with(|| Model {
        model: name.to_owned(),
        ..Default::default()
    })
}

/// Tokens and cost per requested model, most expensive first (unpriced ones last).
fn models(sel: &Selected, w: Window) -> Vec<Model> {
    let mut by: BTreeMap<String, Model> = BTreeMap::new();
    for s in &sel.tokens {
        let n = gain(&s.samples, w.start, w.end);
        let m = by_model(&mut by, s);
        match label(s, "gen_ai_token_type") {
            "input" => m.input_tokens += n,
            _ => m.output_tokens += n,
        }
    }
    for s in &sel.cost {
        let n = gain(&s.samples, w.start, w.end);
        let m = by_model(&mut by, s);
        m.cost_usd = Some(m.cost_usd.unwrap_or(0.0) + n);
    }
    let mut out: Vec<Model> = by.into_values().collect();
    for m in &mut out {
        m.total_tokens = m.input_tokens + m.output_tokens;
    }
    out.retain(|m| m.total_tokens > 0.0 || m.cost_usd.is_some_and(|c| c > 0.0));
    out.sort_by(|a, b| {
        let c = |m: &Model| m.cost_usd.unwrap_or(-1.0);
        c(b).total_cmp(&c(a)).then_with(|| a.model.cmp(&b.model))
    });
    out
}

/// Requests and failed requests per `w.step` bucket, each gain in the bucket of the sample that
/// shows it.
fn requests_over_time(traces: &[Series], w: Window) -> Vec<Point> {
    let step = w.step.max(1);
    let buckets = ((w.end - w.start + step - 1) / step).clamp(1, 11_000) as usize;
    let mut points: Vec<Point> = (0..buckets)
        .map(|i| Point {
            t: (w.start + i as i64 * step) as f64 / 1e3,
            ..Default::default()
        })
        .collect();
    for s in traces {
        let failed = label(s, "status_code") == ERROR;
        gains(&s.samples, w.start, w.end, |t, d| {
            let i = (((t - w.start - 1) / step) as usize).min(buckets - 1);
            points[i].requests += d;
            if failed {
                points[i].failed += d;
            }
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_promql::Labels;

    fn series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> Series {
        Series {
            labels: Labels::from_pairs(pairs),
            samples: samples.to_vec(),
        }
    }

    const W: Window = Window {
        start: 1_000,
        end: 61_000,
        step: 30_000,
        today: 0,
    };

    fn traces(service: &str, status: &str, samples: &[(i64, f64)]) -> Series {
        series(
            &[
                ("__name__", TRACES),
                ("service", service),
                ("status_code", status),
            ],
            samples,
        )
    }

    #[test]
    fn requests_failures_and_their_chart_are_exact_gains() {
        let sel = Selected {
            traces: vec![
                traces(
                    "a",
                    "STATUS_CODE_UNSET",
                    &[(0, 10.0), (15_000, 14.0), (45_000, 20.0)],
                ),
                traces("a", ERROR, &[(45_000, 2.0)]),
                traces("b", "STATUS_CODE_OK", &[(61_000, 3.0), (75_000, 9.0)]),
            ],
            ..Default::default()
        };
        let o = build(&sel, W);
        assert_eq!(o.requests.total, 10.0 + 2.0 + 3.0);
        assert_eq!(o.requests.failed, 2.0);
        let a = &o.services[0];
        assert_eq!((a.service.as_str(), a.requests, a.failed), ("a", 12.0, 2.0));
        let chart: Vec<(f64, f64, f64)> = o
            .series
            .iter()
            .map(|p| (p.t, p.requests, p.failed))
            .collect();
        assert_eq!(chart, vec![(1.0, 4.0, 0.0), (31.0, 11.0, 2.0)]);
    }

    #[test]
    fn p95_comes_from_the_bucket_gains_of_the_window() {
        let bucket = |le: &str, before: f64, after: f64| {
            series(
                &[("__name__", DURATION), ("service", "a"), ("le", le)],
                &[(0, before), (30_000, after)],
            )
        };
        // Before the window: 100 slow requests; inside it: 20, all at most 1 s.
        let sel = Selected {
            durations: vec![
                bucket("1", 0.0, 20.0),
                bucket("10", 0.0, 20.0),
                bucket("+Inf", 100.0, 120.0),
            ],
            ..Default::default()
        };
        let o = build(&sel, W);
        assert_eq!(o.requests.p95_seconds, Some(0.95));
        assert_eq!(o.services[0].p95_seconds, Some(0.95));
    }

    #[test]
    fn models_add_tokens_and_cost_and_unpriced_ones_have_no_cost() {
        let tok = |model: &str, kind: &str, v: f64| {
            series(
                &[
                    ("__name__", TOKENS),
                    ("gen_ai_request_model", model),
                    ("gen_ai_token_type", kind),
                ],
                &[(5_000, v)],
            )
        };
        let cost = |model: &str, svc: &str, samples: &[(i64, f64)]| {
            series(
                &[
                    ("__name__", COST),
                    ("gen_ai_request_model", model),
                    ("service", svc),
                ],
                samples,
            )
        };
        let sel = Selected {
            tokens: vec![
                tok("gpt", "input", 100.0),
                tok("gpt", "output", 20.0),
                tok("acme", "input", 7.0),
            ],
            cost: vec![
                cost("gpt", "a", &[(500, 1.0), (5_000, 1.5)]),
                cost("gpt", "b", &[(5_000, 0.25)]),
            ],
            ..Default::default()
        };
        let o = build(&sel, W);
        assert_eq!(o.total_tokens, 127.0);
        assert_eq!(o.cost_usd, 0.75);
        assert_eq!(o.cost_today_usd, 1.75, "today starts before the range");
        let m: Vec<(&str, f64, Option<f64>)> = o
            .models
            .iter()
            .map(|m| (m.model.as_str(), m.total_tokens, m.cost_usd))
            .collect();
        assert_eq!(m, vec![("gpt", 120.0, Some(0.75)), ("acme", 7.0, None)]);
    }

    #[test]
    fn every_service_with_spans_has_a_health_row() {
        let spans = |svc: &str, status: &str, v: f64| {
            series(
                &[
                    ("__name__", SPANS),
                    ("service", svc),
                    ("status_code", status),
                ],
                &[(2_000, v)],
            )
        };
        let sel = Selected {
            spans: vec![
                spans("tools", "STATUS_CODE_UNSET", 8.0),
                spans("tools", "STATUS_CODE_ERROR", 2.0),
            ],
            ..Default::default()
        };
        let o = build(&sel, W);
        let s = &o.services[0];
        assert_eq!(
            (s.service.as_str(), s.spans, s.failed_spans, s.requests),
            ("tools", 10.0, 2.0, 0.0)
        );
        assert_eq!(s.p95_seconds, None);
    }
}
