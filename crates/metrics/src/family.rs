//! Label-keyed counters and histograms with a cardinality guard, for metrics Sextant derives
//! itself: beyond the per-metric series limit or a label's value limit, observations go to one
//! `{otel_metric_overflow="true"}` series (as the OpenTelemetry SDK does) and are counted.

use std::collections::{HashMap, HashSet};

use sextant_promql::{Labels, METRIC_NAME};

use crate::otlp::format_float;

/// Cardinality limits of a derived metric.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Series per metric (per tenant).
    pub max_series: usize,
    /// Distinct values per label (per metric and tenant).
    pub max_label_values: usize,
}

/// What a family accumulates per series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A monotonic counter.
    Counter,
    /// A histogram with these upper bounds (ascending, `+Inf` implied).
    Histogram(&'static [f64]),
}

impl Shape {
    /// A series' accumulator before its first observation.
    pub(crate) fn empty_acc(self) -> Vec<f64> {
        match self {
            Shape::Counter => vec![0.0],
            Shape::Histogram(b) => vec![0.0; b.len() + 2],
        }
    }
}

#[derive(Debug, Clone)]
struct State {
    values: Box<[String]>,
    /// Counter: `[value]`; histogram: per-bucket counts (bounds + 1), then sum.
    acc: Vec<f64>,
}

/// The cardinality guard of one metric: the series it admitted and each label's values.
#[derive(Debug)]
pub(crate) struct Guard {
    count: usize,
    seen: Vec<HashSet<String>>,
}

impl Guard {
    /// A guard for series of `labels` label values.
    pub(crate) fn new(labels: usize) -> Self {
        Guard {
            count: 0,
            seen: vec![HashSet::new(); labels],
        }
    }

    /// Admits a new series of `values` (recording them) unless it would pass the series limit
    /// or bring a label past its value limit: then it belongs in the overflow series.
    pub(crate) fn admit(&mut self, values: &[&str], limits: Limits) -> bool {
        let label_full = values
            .iter()
            .zip(&self.seen)
            .any(|(val, seen)| !seen.contains(*val) && seen.len() >= limits.max_label_values);
        if label_full || self.count >= limits.max_series {
            return false;
        }
        for (val, seen) in values.iter().zip(&mut self.seen) {
            if !seen.contains(*val) {
                seen.insert((*val).to_owned());
            }
        }
        self.count += 1;
        true
    }
}

/// One derived metric: its name, label names, shape and series.
#[derive(Debug)]
pub struct Family {
    name: &'static str,
    label_names: &'static [&'static str],
    shape: Shape,
    /// Keyed by the label hash, which is already a keyed hash: the map only spreads it.
    series: HashMap<u64, Vec<State>, rustc_hash::FxBuildHasher>,
    guard: Guard,
    overflow: Option<Vec<f64>>,
    /// Observations routed to the overflow series.
    pub overflowed: u64,
}

/// The hash of a list of label values, built label by label so that the hash of `values` plus
/// one more label extends the hash of `values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelHash(u64);

/// Keyed once per process: label values come from clients.
static LABEL_HASHER: std::sync::LazyLock<ahash::RandomState> =
    std::sync::LazyLock::new(ahash::RandomState::new);

impl LabelHash {
    /// The hash of `values`.
    pub fn of(values: &[&str]) -> Self {
        values.iter().fold(LabelHash(0), |h, v| h.then(v))
    }

    /// The hash as a map key.
    pub(crate) fn value(self) -> u64 {
        self.0
    }

    /// The hash of the values hashed so far followed by `value`.
    pub fn then(self, value: &str) -> Self {
        LabelHash(LABEL_HASHER.hash_one((self.0, value)))
    }

    /// The hash of `values` in one pass, a third of the cost of `of` for six labels; `then` does
    /// not extend it, so a family keyed by it hashes every series' values this way.
    pub(crate) fn of_fixed(values: &[&str]) -> Self {
        LabelHash(LABEL_HASHER.hash_one(values))
    }
}

impl Family {
    /// An empty family.
    pub fn new(name: &'static str, label_names: &'static [&'static str], shape: Shape) -> Self {
        Family {
            name,
            label_names,
            shape,
            series: HashMap::default(),
            guard: Guard::new(label_names.len()),
            overflow: None,
            overflowed: 0,
        }
    }

    /// The metric name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Adds `v` (counter increment or histogram observation) to the series of `values` (one per
    /// label name; empty means absent).
    #[cfg(test)]
    pub fn observe(&mut self, values: &[&str], v: f64, limits: Limits) {
        self.observe_hashed(LabelHash::of(values), values, v, limits);
    }

    /// `observe` with the hash of `values` already computed: families that share labels (or
    /// extend another's labels by one) hash each span's values once.
    pub fn observe_hashed(&mut self, hash: LabelHash, values: &[&str], v: f64, limits: Limits) {
        let hash = hash.0;
        let found = self.series.get_mut(&hash).and_then(|list| {
            list.iter_mut().find(|s| {
                s.values
                    .iter()
                    .map(String::as_str)
                    .eq(values.iter().copied())
            })
        });
        let shape = self.shape;
        if let Some(s) = found {
            apply(shape, &mut s.acc, v);
            return;
        }
        if !self.guard.admit(values, limits) {
            let mut acc = self
                .overflow
                .take()
                .unwrap_or_else(|| self.shape.empty_acc());
            apply(shape, &mut acc, v);
            self.overflow = Some(acc);
            self.overflowed += 1;
            return;
        }
        let mut acc = self.shape.empty_acc();
        apply(shape, &mut acc, v);
        let state = State {
            values: values.iter().map(|s| (*s).to_owned()).collect(),
            acc,
        };
        self.series.entry(hash).or_default().push(state);
    }

    /// Appends the current cumulative samples at `t` to `out`.
    pub fn snapshot(&self, t: i64, out: &mut Vec<(Labels, i64, f64)>) {
        for s in self.series.values().flatten() {
            let pairs: Vec<(String, String)> = self
                .label_names
                .iter()
                .zip(s.values.iter())
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect();
            self.emit(pairs, &s.acc, t, out);
        }
        if let Some(acc) = &self.overflow {
            let pairs = vec![("otel_metric_overflow".to_owned(), "true".to_owned())];
            self.emit(pairs, acc, t, out);
        }
    }

    fn emit(
        &self,
        base: Vec<(String, String)>,
        acc: &[f64],
        t: i64,
        out: &mut Vec<(Labels, i64, f64)>,
    ) {
        emit(self.name, self.shape, base, acc, t, out);
    }
}

/// The samples of one series of metric `name`: its value, or its cumulative buckets, sum and
/// count.
pub(crate) fn emit(
    name: &str,
    shape: Shape,
    base: Vec<(String, String)>,
    acc: &[f64],
    t: i64,
    out: &mut Vec<(Labels, i64, f64)>,
) {
    let with = |extra: &[(&str, String)]| {
        let mut p = base.clone();
        p.extend(extra.iter().map(|(n, v)| ((*n).to_owned(), v.clone())));
        Labels::new(p)
    };
    match shape {
        Shape::Counter => out.push((with(&[(METRIC_NAME, name.to_owned())]), t, acc[0])),
        Shape::Histogram(bounds) => {
            let bucket = format!("{name}_bucket");
            let mut cumulative = 0.0;
            for (i, b) in bounds.iter().enumerate() {
                cumulative += acc[i];
                let l = with(&[(METRIC_NAME, bucket.clone()), ("le", format_float(*b))]);
                out.push((l, t, cumulative));
            }
            let count = cumulative + acc[bounds.len()];
            let l = with(&[(METRIC_NAME, bucket), ("le", "+Inf".to_owned())]);
            out.push((l, t, count));
            let sum = with(&[(METRIC_NAME, format!("{name}_sum"))]);
            out.push((sum, t, acc[bounds.len() + 1]));
            let cnt = with(&[(METRIC_NAME, format!("{name}_count"))]);
            out.push((cnt, t, count));
        }
    }
}

pub(crate) fn apply(shape: Shape, acc: &mut [f64], v: f64) {
    match shape {
        Shape::Counter => acc[0] += v,
        Shape::Histogram(bounds) => {
            let i = bounds.partition_point(|b| *b < v);
            acc[i] += 1.0;
            acc[bounds.len() + 1] += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_series: 3,
        max_label_values: 2,
    };

    fn render(f: &Family) -> Vec<String> {
        let mut out = Vec::new();
        f.snapshot(5, &mut out);
        let mut lines: Vec<String> = out.iter().map(|(l, _, v)| format!("{l} {v}")).collect();
        lines.sort();
        lines
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_le_inclusive() {
        let mut f = Family::new("h", &["a"], Shape::Histogram(&[1.0, 2.0]));
        for v in [0.5, 1.0, 1.5, 3.0] {
            f.observe(&["x"], v, LIMITS);
        }
        assert_eq!(
            render(&f),
            vec![
                r#"{__name__="h_bucket", a="x", le="+Inf"} 4"#,
                r#"{__name__="h_bucket", a="x", le="1"} 2"#,
                r#"{__name__="h_bucket", a="x", le="2"} 3"#,
                r#"{__name__="h_count", a="x"} 4"#,
                r#"{__name__="h_sum", a="x"} 6"#,
            ]
        );
    }

    #[test]
    fn a_label_hash_extends_the_hash_of_its_prefix() {
        let values = ["svc", "openai", "gpt-4o", "chat", "", "", "input"];
        assert_eq!(
            LabelHash::of(&values[..6]).then(values[6]),
            LabelHash::of(&values)
        );
        // Where one label ends and the next starts is part of the hash.
        assert_ne!(LabelHash::of(&["ab", "c"]), LabelHash::of(&["a", "bc"]));
        assert_ne!(
            LabelHash::of_fixed(&["ab", "c"]),
            LabelHash::of_fixed(&["a", "bc"])
        );
        assert_eq!(
            LabelHash::of_fixed(&values),
            LabelHash::of_fixed(&values.map(|v| v))
        );
        let mut f = Family::new("c", &["a", "b"], Shape::Counter);
        f.observe(&["1", "x"], 1.0, LIMITS);
        f.observe_hashed(LabelHash::of(&["1"]).then("x"), &["1", "x"], 2.0, LIMITS);
        assert_eq!(render(&f), ["{__name__=\"c\", a=\"1\", b=\"x\"} 3"]);
    }

    #[test]
    fn limits_route_to_one_overflow_series() {
        let mut f = Family::new("c", &["a", "b"], Shape::Counter);
        f.observe(&["1", "x"], 1.0, LIMITS);
        f.observe(&["2", "x"], 1.0, LIMITS);
        // A third value of `a` is over the per-label limit.
        f.observe(&["3", "x"], 1.0, LIMITS);
        f.observe(&["1", "y"], 1.0, LIMITS);
        // A fourth series is over the per-metric limit.
        f.observe(&["2", "y"], 1.0, LIMITS);
        f.observe(&["1", "x"], 1.0, LIMITS);
        assert_eq!(f.overflowed, 2);
        assert_eq!(
            render(&f),
            vec![
                r#"{__name__="c", a="1", b="x"} 2"#,
                r#"{__name__="c", a="1", b="y"} 1"#,
                r#"{__name__="c", a="2", b="x"} 1"#,
                r#"{__name__="c", otel_metric_overflow="true"} 2"#,
            ]
        );
    }
}
