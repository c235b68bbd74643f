//! TraceQL metrics: folds the spans a metrics query's pipeline keeps into time series.
//!
//! ```text
//!  start (rounded down to a step)                  end (rounded up to a step)
//!    (  step 0  ](  step 1  ](  step 2  ] ...              ]
//!               ^ stamp 0   ^ stamp 1   ^ stamp 2
//! ```
//!
//! As in Tempo, intervals are right-closed: a span counts in the interval holding its start
//! time, and each point is stamped with the end of its interval. An instant query has one
//! interval, `(start, end]`.
//!
//! `rate()` and `count_over_time()` give a point for every step (0 when empty); the other
//! functions only where a step has values. The span `duration` is converted to seconds;
//! other durations stay nanoseconds, except in histograms and quantiles, where every duration
//! is in seconds. Quantiles are estimated from log2 buckets by linear interpolation inside the
//! bucket, as Tempo does.

mod compare;

use std::collections::HashMap;

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::ast::{
    BinaryOp, FieldRef, Intrinsic, MetricsFunc, MetricsQuery, Root, SecondStage, Static,
};
use crate::error::EvalError;
use crate::eval::Engine;
use crate::trace::TraceView;
use crate::value::Value;
use compare::Compare;

/// The time range and resolution of a metrics query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsRequest {
    /// Inclusive start (Unix ns).
    pub start_unix_nano: u64,
    /// Exclusive end (Unix ns).
    pub end_unix_nano: u64,
    /// Step (ns), > 0; ignored for an instant query.
    pub step_nanos: u64,
    /// One interval over the whole range, without aligning it to the step.
    pub instant: bool,
}

impl MetricsRequest {
    /// The evaluated range `(start, end]` and step, aligned as Tempo aligns them.
    fn aligned(&self) -> (u64, u64, u64) {
        if self.instant {
            return (
                self.start_unix_nano,
                self.end_unix_nano,
                self.end_unix_nano - self.start_unix_nano,
            );
        }
        let step = self.step_nanos;
        let start = self.start_unix_nano - self.start_unix_nano % step;
        let end = self.end_unix_nano.div_ceil(step).saturating_mul(step);
        (start, end, step)
    }
}

/// One output series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels: `__name__` for an ungrouped series, else the `by()` fields; plus `p` for
    /// quantiles and `__bucket` for histograms.
    pub labels: Vec<(String, Value)>,
    /// `(timestamp_ms, value)`, ascending.
    pub points: Vec<(i64, f64)>,
}

/// The default step for a range: `(end-start)/240` rounded down to 1h, 5m, 1m, 15s, 5s or 1s;
/// below one minute of range, a multiple of 50 ms.
pub fn default_step(start_unix_nano: u64, end_unix_nano: u64) -> u64 {
    const S: u64 = 1_000_000_000;
    let raw = end_unix_nano.saturating_sub(start_unix_nano) / 240;
    if end_unix_nano.saturating_sub(start_unix_nano) < 60 * S {
        let ms50 = 50_000_000;
        return (raw / ms50).max(1) * ms50;
    }
    [3600 * S, 300 * S, 60 * S, 15 * S, 5 * S, S]
        .into_iter()
        .find(|&s| raw >= s)
        .unwrap_or(S)
}

/// Per-step accumulation of one series.
#[derive(Debug, Clone, Default)]
struct Acc {
    count: Vec<u64>,
    sum: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    /// Per step: log2 bucket upper bound (as bits, for hashing) -> count.
    buckets: Vec<HashMap<u64, u64>>,
}

impl Acc {
    fn new(steps: usize) -> Self {
        Acc {
            count: vec![0; steps],
            sum: vec![0.0; steps],
            min: vec![f64::INFINITY; steps],
            max: vec![f64::NEG_INFINITY; steps],
            buckets: vec![HashMap::new(); steps],
        }
    }

    fn add(&mut self, step: usize, v: f64, bucketed: bool) {
        self.count[step] += 1;
        self.sum[step] += v;
        self.min[step] = self.min[step].min(v);
        self.max[step] = self.max[step].max(v);
        if bucketed {
            *self.buckets[step]
                .entry(log2_bucket(v).to_bits())
                .or_insert(0) += 1;
        }
    }
}

/// The upper bound of the power-of-two bucket holding `v` (0 for values <= 0).
fn log2_bucket(v: f64) -> f64 {
    if v <= 0.0 {
        0.0
    } else {
        2f64.powf(v.log2().ceil())
    }
}

/// Estimates quantile `q` from `(upper bound, count)` buckets sorted by bound.
fn log2_quantile(q: f64, buckets: &[(f64, u64)]) -> Option<f64> {
    let total: u64 = buckets.iter().map(|b| b.1).sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0.0;
    for &(upper, count) in buckets {
        let c = count as f64;
        if below + c >= rank {
            let lower = upper / 2.0;
            let frac = if c > 0.0 { (rank - below) / c } else { 0.0 };
            return Some(lower + (upper - lower) * frac.clamp(0.0, 1.0));
        }
        below += c;
    }
    buckets.last().map(|b| b.0)
}

/// Folds traces into the series of one metrics query.
#[derive(Debug)]
pub struct MetricsEvaluator<'e> {
    engine: &'e Engine,
    query: &'e MetricsQuery,
    start: u64,
    end: u64,
    step: u64,
    steps: usize,
    compare: Option<Compare>,
    /// Series by the debug text of their labels, an index into `accs`.
    index: HashMap<String, usize>,
    accs: Vec<(Vec<Value>, Acc)>,
}

/// A series of a [`MetricsEvaluator`], for callers that fold span columns directly
/// ([`MetricsEvaluator::series_for`], [`MetricsEvaluator::observe_value`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesId(usize);

impl<'e> MetricsEvaluator<'e> {
    /// Prepares to evaluate `engine`'s metrics query over `req`.
    pub fn new(engine: &'e Engine, req: MetricsRequest) -> Result<Self, EvalError> {
        let Root::Metrics(query) = &engine.query().root else {
            return Err(EvalError::BadRequest("not a metrics query".into()));
        };
        if (req.step_nanos == 0 && !req.instant) || req.end_unix_nano <= req.start_unix_nano {
            return Err(EvalError::BadRequest(
                "need start < end and a positive step".into(),
            ));
        }
        let (start, end, step) = req.aligned();
        let steps = (end - start) / step;
        if steps > 11_000 {
            return Err(EvalError::BadRequest(format!(
                "{steps} steps is more than 11000"
            )));
        }
        Ok(MetricsEvaluator {
            engine,
            query,
            start,
            end,
            step,
            steps: steps as usize,
            compare: match &query.func {
                MetricsFunc::Compare {
                    selection,
                    top,
                    window,
                } => Some(Compare::new(selection, *top, *window, steps as usize)),
                _ => None,
            },
            index: HashMap::new(),
            accs: Vec::new(),
        })
    }

    /// Adds the spans of one trace that the query's pipeline keeps.
    pub fn observe_trace(&mut self, trace: &[ResourceSpans]) -> Result<(), EvalError> {
        let view = TraceView::new(trace);
        let mut spans: Vec<usize> = self
            .engine
            .eval_view(&view)?
            .into_iter()
            .flat_map(|s| s.spans)
            .collect();
        spans.sort_unstable();
        spans.dedup();
        for i in spans {
            self.observe_span(&view, i)?;
        }
        Ok(())
    }

    fn observe_span(&mut self, view: &TraceView<'_>, i: usize) -> Result<(), EvalError> {
        let ts = view.spans[i].span.start_time_unix_nano;
        if ts <= self.start || ts > self.end {
            return Ok(());
        }
        // Right-closed intervals: a start exactly on a boundary belongs to the earlier one.
        let step = ((ts - self.start - 1) / self.step) as usize;
        let (field, bucketed) = match &self.query.func {
            MetricsFunc::Rate | MetricsFunc::CountOverTime => (None, false),
            MetricsFunc::MinOverTime(f)
            | MetricsFunc::MaxOverTime(f)
            | MetricsFunc::SumOverTime(f)
            | MetricsFunc::AvgOverTime(f) => (Some(f), false),
            MetricsFunc::HistogramOverTime(f) | MetricsFunc::QuantileOverTime(f, _) => {
                (Some(f), true)
            }
            MetricsFunc::Compare { .. } => {
                if let Some(c) = &mut self.compare {
                    c.observe(self.engine, view, i, step)?;
                }
                return Ok(());
            }
        };
        let value = match field {
            None => 0.0,
            Some(f) => match floatize(f, &self.engine.field_value(view, f, i)?, bucketed) {
                Some(v) => v,
                None => return Ok(()),
            },
        };
        let mut labels = Vec::with_capacity(self.query.by.len());
        for f in &self.query.by {
            labels.push(self.engine.field_value(view, f, i)?);
        }
        let id = self.series_for(labels);
        self.add(id, step, value, bucketed);
        Ok(())
    }

    /// The `by()` fields, in order: the labels [`MetricsEvaluator::series_for`] takes.
    pub fn by_fields(&self) -> &[FieldRef] {
        &self.query.by
    }

    /// For a caller folding span columns instead of traces: `None` when the function cannot
    /// be fed that way (`compare()`), else the field whose value each span contributes
    /// (`None` for `rate()` and `count_over_time()`).
    pub fn columnar_field(&self) -> Option<Option<&FieldRef>> {
        match &self.query.func {
            MetricsFunc::Rate | MetricsFunc::CountOverTime => Some(None),
            MetricsFunc::MinOverTime(f)
            | MetricsFunc::MaxOverTime(f)
            | MetricsFunc::SumOverTime(f)
            | MetricsFunc::AvgOverTime(f)
            | MetricsFunc::HistogramOverTime(f)
            | MetricsFunc::QuantileOverTime(f, _) => Some(Some(f)),
            MetricsFunc::Compare { .. } => None,
        }
    }

    /// The series with these label values (of [`MetricsEvaluator::by_fields`]), created empty
    /// when new.
    pub fn series_for(&mut self, labels: Vec<Value>) -> SeriesId {
        let key = format!("{labels:?}");
        if let Some(&i) = self.index.get(&key) {
            return SeriesId(i);
        }
        self.accs.push((labels, Acc::new(self.steps)));
        self.index.insert(key, self.accs.len() - 1);
        SeriesId(self.accs.len() - 1)
    }

    /// Adds one span that the query keeps, starting at `start_unix_nano`, to `series`;
    /// `value` is the span's value of [`MetricsEvaluator::columnar_field`] (ignored when it
    /// is `None`). Spans outside the range, and values that are not numbers, are skipped.
    pub fn observe_value(&mut self, series: SeriesId, start_unix_nano: u64, value: Option<&Value>) {
        let ts = start_unix_nano;
        if ts <= self.start || ts > self.end {
            return;
        }
        let step = ((ts - self.start - 1) / self.step) as usize;
        let bucketed = matches!(
            self.query.func,
            MetricsFunc::HistogramOverTime(_) | MetricsFunc::QuantileOverTime(..)
        );
        let v = match (self.columnar_field(), value) {
            (Some(None), _) => 0.0,
            (Some(Some(f)), Some(v)) => match floatize(f, v, bucketed) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
        self.add(series, step, v, bucketed);
    }

    fn add(&mut self, series: SeriesId, step: usize, value: f64, bucketed: bool) {
        if let Some((_, acc)) = self.accs.get_mut(series.0) {
            acc.add(step, value, bucketed);
        }
    }

    /// The series, after `topk`/`bottomk` and filters; sorted by labels.
    pub fn finish(self) -> Vec<Series> {
        if let Some(c) = &self.compare {
            let mut out = c.finish(&|s| self.timestamp_ms(s));
            out.sort_by(|a, b| format!("{:?}", a.labels).cmp(&format!("{:?}", b.labels)));
            return out;
        }
        let mut out = Vec::new();
        for (labels, acc) in &self.accs {
            let named = self.label_pairs(labels.clone());
            out.extend(self.series_of(named, acc));
        }
        for stage in &self.query.second {
            apply_second_stage(stage, &mut out);
        }
        out.retain(|s| !s.points.is_empty());
        out.sort_by(|a, b| format!("{:?}", a.labels).cmp(&format!("{:?}", b.labels)));
        out
    }

    fn label_pairs(&self, values: Vec<Value>) -> Vec<(String, Value)> {
        if self.query.by.is_empty() {
            return vec![(
                "__name__".to_string(),
                Value::Str(self.query.func.name().to_string()),
            )];
        }
        self.query
            .by
            .iter()
            .map(ToString::to_string)
            .zip(values)
            .collect()
    }

    fn timestamp_ms(&self, step: usize) -> i64 {
        let ns = self.start + (step as u64 + 1) * self.step;
        (ns / 1_000_000) as i64
    }

    fn series_of(&self, labels: Vec<(String, Value)>, acc: &Acc) -> Vec<Series> {
        let step_secs = self.step as f64 / 1e9;
        let points = |f: &dyn Fn(usize) -> Option<f64>| -> Vec<(i64, f64)> {
            (0..self.steps)
                .filter_map(|s| f(s).map(|v| (self.timestamp_ms(s), v)))
                .collect()
        };
        let has = |s: usize| acc.count[s] > 0;
        let one = |p| {
            vec![Series {
                labels: labels.clone(),
                points: p,
            }]
        };
        match &self.query.func {
            MetricsFunc::Rate => one(points(&|s| Some(acc.count[s] as f64 / step_secs))),
            MetricsFunc::CountOverTime => one(points(&|s| Some(acc.count[s] as f64))),
            MetricsFunc::SumOverTime(_) => one(points(&|s| has(s).then(|| acc.sum[s]))),
            MetricsFunc::MinOverTime(_) => one(points(&|s| has(s).then(|| acc.min[s]))),
            MetricsFunc::MaxOverTime(_) => one(points(&|s| has(s).then(|| acc.max[s]))),
            MetricsFunc::AvgOverTime(_) => one(points(&|s| {
                has(s).then(|| acc.sum[s] / acc.count[s] as f64)
            })),
            MetricsFunc::QuantileOverTime(_, qs) => qs
                .iter()
                .map(|&q| {
                    let mut l = labels.clone();
                    l.push(("p".to_string(), Value::Float(q)));
                    Series {
                        labels: l,
                        points: points(&|s| log2_quantile(q, &sorted_buckets(&acc.buckets[s]))),
                    }
                })
                .collect(),
            MetricsFunc::HistogramOverTime(_) => {
                let mut bounds: Vec<u64> =
                    acc.buckets.iter().flat_map(|b| b.keys().copied()).collect();
                bounds.sort_by(|a, b| f64::from_bits(*a).total_cmp(&f64::from_bits(*b)));
                bounds.dedup();
                bounds
                    .into_iter()
                    .map(|bits| {
                        let mut l = labels.clone();
                        l.push(("__bucket".to_string(), Value::Float(f64::from_bits(bits))));
                        Series {
                            labels: l,
                            points: points(&|s| acc.buckets[s].get(&bits).map(|&c| c as f64)),
                        }
                    })
                    .collect()
            }
            MetricsFunc::Compare { .. } => Vec::new(),
        }
    }
}

fn sorted_buckets(b: &HashMap<u64, u64>) -> Vec<(f64, u64)> {
    let mut v: Vec<(f64, u64)> = b.iter().map(|(k, c)| (f64::from_bits(*k), *c)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// A field value as a float for aggregation; `None` when not numeric.
fn floatize(field: &FieldRef, v: &Value, bucketed: bool) -> Option<f64> {
    let span_duration = matches!(
        field,
        FieldRef::Intrinsic {
            intrinsic: Intrinsic::Duration,
            ..
        }
    );
    match v {
        Value::Duration(d) if span_duration || bucketed => Some(*d as f64 / 1e9),
        other => other.as_f64(),
    }
}

fn threshold(v: &Static) -> f64 {
    match v {
        Static::Int(i) => *i as f64,
        Static::Float(f) => *f,
        Static::Duration(d) => *d as f64 / 1e9,
        _ => f64::NAN,
    }
}

fn apply_second_stage(stage: &SecondStage, series: &mut [Series]) {
    match stage {
        SecondStage::Filter(op, v) => {
            let t = threshold(v);
            for s in series.iter_mut() {
                s.points.retain(|&(_, x)| cmp_f64(*op, x, t));
            }
        }
        SecondStage::TopK(k) | SecondStage::BottomK(k) => {
            let top = matches!(stage, SecondStage::TopK(_));
            let k = usize::try_from(*k).unwrap_or(0);
            let mut stamps: Vec<i64> = series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .collect();
            stamps.sort_unstable();
            stamps.dedup();
            for ts in stamps {
                let mut at: Vec<(usize, f64)> = series
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.points.iter().find(|p| p.0 == ts).map(|p| (i, p.1)))
                    .collect();
                at.sort_by(|a, b| {
                    if top {
                        b.1.total_cmp(&a.1)
                    } else {
                        a.1.total_cmp(&b.1)
                    }
                });
                for &(i, _) in at.iter().skip(k) {
                    series[i].points.retain(|p| p.0 != ts);
                }
            }
        }
    }
}

fn cmp_f64(op: BinaryOp, x: f64, t: f64) -> bool {
    match op {
        BinaryOp::Eq => x == t,
        BinaryOp::Ne => x != t,
        BinaryOp::Lt => x < t,
        BinaryOp::Le => x <= t,
        BinaryOp::Gt => x > t,
        BinaryOp::Ge => x >= t,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_steps_round_down() {
        let s = 1_000_000_000u64;
        assert_eq!(default_step(0, 3600 * s), 15 * s);
        assert_eq!(default_step(0, 24 * 3600 * s), 300 * s);
        assert_eq!(default_step(0, 30 * s), 100_000_000);
    }

    #[test]
    fn log2_quantiles_interpolate_within_the_bucket() {
        assert_eq!(log2_bucket(3.0), 4.0);
        assert_eq!(log2_bucket(4.0), 4.0);
        let b = [(1.0, 2), (4.0, 2)];
        assert_eq!(log2_quantile(0.5, &b), Some(1.0));
        assert_eq!(log2_quantile(1.0, &b), Some(4.0));
        assert_eq!(log2_quantile(0.75, &b), Some(3.0));
    }
}
