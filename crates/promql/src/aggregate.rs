//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`, ...) with
//! `by`/`without` grouping.

use std::collections::HashMap;

use promql_parser::parser::token::TokenId;
use promql_parser::parser::token::*;
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use crate::error::{Error, Result};
use crate::eval::{Ev, Matrix, SeriesPts, VSample, Val, Vector};
use crate::labels::{Labels, METRIC_NAME};

/// Evaluates an aggregation over all steps.
pub(crate) fn eval_aggregate(ev: &Ev, a: &AggregateExpr) -> Result<Matrix> {
    let op = a.op.id();
    if let Some(m) = crate::fused::aggregate_range_call(ev, a)? {
        return Ok(m);
    }
    let input = ev.eval_matrix(&a.expr)?;
    if op == T_COUNT_VALUES {
        let label = match a.param.as_deref().map(|p| ev.eval(p)).transpose()? {
            Some(Val::Str(s)) => s,
            _ => {
                return Err(Error::BadData(
                    "count_values expects a string parameter".into(),
                ));
            }
        };
        return count_values(ev, a, &input, &label);
    }
    let params = match a.param.as_deref() {
        Some(p) => scalar_per_step(ev, p)?,
        None => Vec::new(),
    };
    check_params(ev, op, &params)?;
    let (group_of, group_labels) = groups(&input, &a.modifier);
    if matches!(op, T_TOPK | T_BOTTOMK | T_LIMITK) {
        let mut step_idx = 0usize;
        return ev.range_eval(&[&input], |_, v| {
            let param = params.get(step_idx).copied().unwrap_or(f64::NAN);
            step_idx += 1;
            Ok(top_k(op, &v[0], &group_of, group_labels.len(), param))
        });
    }
    if op == T_LIMIT_RATIO {
        return Err(Error::exec("limit_ratio is not supported"));
    }
    let cols = Columns {
        op,
        group_of: &group_of,
        labels: &group_labels,
        params: &params,
    };
    cols.eval(ev, &input)
}

/// Evaluates a scalar parameter to one value per step.
pub(crate) fn scalar_per_step(ev: &Ev, p: &Expr) -> Result<Vec<f64>> {
    let m = ev.eval_matrix(p)?;
    let mut out = vec![f64::NAN; ev.steps.count()];
    if let Some(s) = m.first() {
        for &(t, f) in &s.pts {
            let i = ((t - ev.steps.start) / ev.steps.interval.max(1)) as usize;
            if let Some(slot) = out.get_mut(i) {
                *slot = f;
            }
        }
    }
    Ok(out)
}

fn check_params(ev: &Ev, op: TokenId, params: &[f64]) -> Result<()> {
    match op {
        // Every step's `k` is checked, with or without input (as Prometheus does).
        T_TOPK | T_BOTTOMK | T_LIMITK => {
            for &p in params {
                if p.is_nan() {
                    return Err(Error::exec("Parameter value is NaN"));
                }
                if p <= i64::MIN as f64 {
                    return Err(Error::exec(format!("Scalar value {p} underflows int64")));
                }
                if p >= i64::MAX as f64 {
                    return Err(Error::exec(format!("Scalar value {p} overflows int64")));
                }
            }
        }
        T_QUANTILE => {
            for p in params {
                if p.is_nan() || *p < 0.0 || *p > 1.0 {
                    ev.ctx.warn(format!(
                        "PromQL warning: quantile value should be between 0 and 1, got {}",
                        fmt_go(*p)
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Group index per input series, and the output labels of each group.
fn groups(input: &Matrix, modifier: &Option<LabelModifier>) -> (Vec<usize>, Vec<Labels>) {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut labels = Vec::new();
    let group_of = input
        .iter()
        .map(|s| {
            let key = grouping_labels(&s.labels, modifier);
            *index.entry(key.clone()).or_insert_with(|| {
                labels.push(key);
                labels.len() - 1
            })
        })
        .collect();
    (group_of, labels)
}

/// Output series in the order a step-wise walk creates them: by first step, then group.
pub(crate) fn assemble(labels: &[Labels], outs: Vec<GroupOut>) -> Matrix {
    let mut outs: Vec<(usize, GroupOut)> = outs
        .into_iter()
        .enumerate()
        .filter(|(_, o)| !o.pts.is_empty())
        .collect();
    outs.sort_by_key(|(_, o)| o.first_step);
    outs.into_iter()
        .map(|(g, o)| SeriesPts {
            labels: labels[g].clone(),
            pts: o.pts,
            drop_name: o.drop_name,
        })
        .collect()
}

pub(crate) fn grouping_labels(l: &Labels, modifier: &Option<LabelModifier>) -> Labels {
    match modifier {
        Some(LabelModifier::Include(by)) => l.filter(|n| by.labels.iter().any(|x| x == n)),
        Some(LabelModifier::Exclude(without)) => {
            l.filter(|n| n != METRIC_NAME && !without.labels.iter().any(|x| x == n))
        }
        None => Labels::empty(),
    }
}

/// One group's running state at one step, as [`Columns`] folds samples into it.
pub(crate) trait State: Default + Clone {
    /// Forgets the inputs (keeping allocations).
    fn reset(&mut self);
    /// Adds one input sample, in input-series order (the order fixes the float rounding).
    fn add(&mut self, op: TokenId, f: f64, drop_name: bool);
    /// Whether any sample was added since the last reset.
    fn seen(&self) -> bool;
    /// Whether the output drops `__name__`.
    fn drop_name(&self) -> bool;
    /// The group's result; `q` is the `quantile` parameter.
    fn finish(&mut self, op: TokenId, q: f64) -> f64;
}

/// `sum`'s state alone: a quarter of [`Group`]'s size, so folding a long range query moves
/// a quarter of the memory.
#[derive(Default, Clone)]
pub(crate) struct SumState {
    value: f64,
    kahan: f64,
    seen: bool,
    drop_name: bool,
}

impl State for SumState {
    fn reset(&mut self) {
        self.seen = false;
    }

    fn add(&mut self, _: TokenId, f: f64, drop_name: bool) {
        if self.seen {
            self.drop_name |= drop_name;
            (self.value, self.kahan) = kahan_inc(f, self.value, self.kahan);
        } else {
            *self = SumState {
                value: f,
                kahan: 0.0,
                seen: true,
                drop_name,
            };
        }
    }

    fn seen(&self) -> bool {
        self.seen
    }

    fn drop_name(&self) -> bool {
        self.drop_name
    }

    fn finish(&mut self, _: TokenId, _: f64) -> f64 {
        self.value + self.kahan
    }
}

impl State for Group {
    fn reset(&mut self) {
        Group::reset(self);
    }

    fn add(&mut self, op: TokenId, f: f64, drop_name: bool) {
        Group::add(self, op, f, drop_name);
    }

    fn seen(&self) -> bool {
        self.seen
    }

    fn drop_name(&self) -> bool {
        self.drop_name
    }

    fn finish(&mut self, op: TokenId, q: f64) -> f64 {
        Group::finish(self, op, q)
    }
}

#[derive(Default, Clone)]
pub(crate) struct Group {
    seen: bool,
    value: f64,
    kahan: f64,
    mean: f64,
    count: f64,
    incremental: bool,
    drop_name: bool,
    values: Vec<f64>,
}

impl Group {
    /// Forgets the group's inputs, keeping the `values` allocation.
    fn reset(&mut self) {
        self.seen = false;
        self.values.clear();
    }

    /// Adds one input sample, in input-series order (the order fixes the float rounding).
    fn add(&mut self, op: TokenId, f: f64, drop_name: bool) {
        if !self.seen {
            self.seen = true;
            (self.value, self.kahan, self.mean, self.count) = (f, 0.0, f, 1.0);
            self.incremental = false;
            self.drop_name = drop_name;
            match op {
                T_STDDEV | T_STDVAR => {
                    self.value = if f.is_nan() || f.is_infinite() {
                        f64::NAN
                    } else {
                        0.0
                    }
                }
                T_QUANTILE => self.values.push(f),
                T_GROUP => self.value = 1.0,
                _ => {}
            }
            return;
        }
        self.drop_name |= drop_name;
        match op {
            T_SUM => (self.value, self.kahan) = kahan_inc(f, self.value, self.kahan),
            T_AVG => self.add_avg(f),
            T_MAX if self.value < f || self.value.is_nan() => self.value = f,
            T_MIN if self.value > f || self.value.is_nan() => self.value = f,
            T_COUNT => self.count += 1.0,
            T_STDDEV | T_STDVAR => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            T_QUANTILE => self.values.push(f),
            _ => {}
        }
    }

    /// Prometheus's `avg`: a compensated sum, switching to an incremental mean on overflow.
    fn add_avg(&mut self, f: f64) {
        self.count += 1.0;
        if !self.incremental {
            let (nv, nc) = kahan_inc(f, self.value, self.kahan);
            if !nv.is_infinite() {
                (self.value, self.kahan) = (nv, nc);
                return;
            }
            self.incremental = true;
            self.mean = self.value / (self.count - 1.0);
            self.kahan /= self.count - 1.0;
        }
        let q = (self.count - 1.0) / self.count;
        (self.mean, self.kahan) = kahan_inc(f / self.count, q * self.mean, q * self.kahan);
    }

    /// The group's result; `q` is the `quantile` parameter.
    fn finish(&mut self, op: TokenId, q: f64) -> f64 {
        match op {
            T_AVG if self.incremental => self.mean + self.kahan,
            T_AVG => self.value / self.count + self.kahan / self.count,
            T_COUNT => self.count,
            T_STDVAR => self.value / self.count,
            T_STDDEV => (self.value / self.count).sqrt(),
            T_QUANTILE => quantile(q, &mut self.values),
            T_SUM => self.value + self.kahan,
            _ => self.value,
        }
    }
}

/// Neumaier-compensated addition, as Prometheus's `kahansum.Inc`.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    if t.is_infinite() {
        (t, 0.0)
    } else if sum.abs() >= inc.abs() {
        (t, c + ((sum - t) + inc))
    } else {
        (t, c + ((inc - t) + sum))
    }
}

/// Group states held at once by [`Columns::eval`] (groups × steps of one block).
const STATE_BUDGET: usize = 1 << 16;

/// An aggregation with one state per group (everything but `topk`/`bottomk`/`limitk`/
/// `count_values`), evaluated series by series over blocks of steps: each input series'
/// points are read in one forward pass and folded into `state[group][step]`, instead of
/// building an instant vector (labels included) per step. Samples of a group still arrive
/// in input-series order at each step, so results are bit-identical to a step-wise walk.
struct Columns<'a> {
    op: TokenId,
    group_of: &'a [usize],
    labels: &'a [Labels],
    params: &'a [f64],
}

impl Columns<'_> {
    fn eval(&self, ev: &Ev, input: &Matrix) -> Result<Matrix> {
        if self.op == T_SUM {
            self.fold::<SumState>(ev, input)
        } else {
            self.fold::<Group>(ev, input)
        }
    }

    fn fold<S: State>(&self, ev: &Ev, input: &Matrix) -> Result<Matrix> {
        let steps = ev.steps;
        let (n_steps, interval) = (steps.count(), steps.interval.max(1));
        let n_groups = self.labels.len();
        let block = (STATE_BUDGET / n_groups.max(1)).clamp(1, n_steps.max(1));
        let mut state = vec![S::default(); n_groups * block];
        let mut cursors = vec![0usize; input.len()];
        let mut outs = vec![GroupOut::default(); n_groups];
        for b0 in (0..n_steps).step_by(block) {
            let b1 = (b0 + block).min(n_steps);
            state.iter_mut().for_each(S::reset);
            let last_t = steps.start + (b1 as i64 - 1) * interval;
            for (i, s) in input.iter().enumerate() {
                let row = &mut state[self.group_of[i] * block..][..block];
                let c = &mut cursors[i];
                // The step after the previous point: inputs usually have a point at every
                // step, and checking that saves a 64-bit division per point.
                let mut next: Option<(i64, usize)> = None;
                while let Some(&(t, f)) = s.pts.get(*c).filter(|p| p.0 <= last_t) {
                    *c += 1;
                    let off = t - steps.start;
                    let k = match next {
                        Some((o, k)) if o == off => k,
                        // Points off the step grid (or before it) are not part of any step.
                        _ if off < 0 || off % interval != 0 => continue,
                        _ => (off / interval) as usize,
                    };
                    next = Some((off + interval, k + 1));
                    row[k - b0].add(self.op, f, s.drop_name);
                }
            }
            for k in b0..b1 {
                let q = self.params.get(k).copied().unwrap_or(f64::NAN);
                let ts = steps.start + k as i64 * interval;
                for (g, out) in outs.iter_mut().enumerate() {
                    let st = &mut state[g * block + k - b0];
                    if st.seen() {
                        if out.pts.is_empty() {
                            (out.drop_name, out.first_step) = (st.drop_name(), k);
                        }
                        out.pts.push((ts, st.finish(self.op, q)));
                    }
                }
            }
            if outs.iter().map(|o| o.pts.len()).sum::<usize>() > ev.ctx.max_samples {
                return Err(Error::TooManySamples(
                    "query processing would load too many samples into memory in query execution"
                        .into(),
                ));
            }
        }
        Ok(assemble(self.labels, outs))
    }
}

/// One group's output while an aggregation runs.
#[derive(Default, Clone)]
pub(crate) struct GroupOut {
    pub pts: Vec<(i64, f64)>,
    /// The name-drop flag at the group's first step (a step-wise walk keeps the first one).
    pub drop_name: bool,
    pub first_step: usize,
}

/// Prometheus's `quantile`: linear interpolation between the closest ranks.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    values[lower as usize] * (1.0 - w) + values[upper as usize] * w
}

fn top_k(op: TokenId, vec: &Vector, group_of: &[usize], n_groups: usize, param: f64) -> Vector {
    let k = (param as i64).min(vec.len() as i64);
    if k < 1 {
        return Vec::new();
    }
    let mut per_group: Vec<Vec<&VSample>> = vec![Vec::new(); n_groups];
    for s in vec {
        per_group[group_of[s.idx]].push(s);
    }
    let mut out = Vec::new();
    for members in per_group.iter_mut() {
        if op != T_LIMITK {
            members.sort_by(|a, b| match (a.f.is_nan(), b.f.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if op == T_TOPK => b.f.total_cmp(&a.f),
                _ => a.f.total_cmp(&b.f),
            });
        }
        out.extend(members.iter().take(k as usize).map(|s| VSample {
            idx: 0,
            ..(*s).clone()
        }));
    }
    out
}

fn count_values(ev: &Ev, a: &AggregateExpr, input: &Matrix, label: &str) -> Result<Matrix> {
    if !is_valid_label_name(label) {
        return Err(Error::exec(format!("invalid label name {label:?}")));
    }
    let base: Vec<Labels> = input
        .iter()
        .map(|s| grouping_labels(&s.labels, &a.modifier))
        .collect();
    let without = matches!(a.modifier, Some(LabelModifier::Exclude(_)));
    ev.range_eval(&[input], |_, v| {
        let mut counts: Vec<(Labels, f64)> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for s in &v[0] {
            let mut l = base[s.idx].clone();
            if without {
                l = s.labels.filter(|n| n != METRIC_NAME).filter(|n| {
                    !matches!(&a.modifier, Some(LabelModifier::Exclude(w)) if w.labels.iter().any(|x| x == n))
                });
            }
            let l = l.with(label, &fmt_go(s.f));
            match index.get(&l) {
                Some(&i) => counts[i].1 += 1.0,
                None => {
                    index.insert(l.clone(), counts.len());
                    counts.push((l, 1.0));
                }
            }
        }
        Ok(counts.into_iter().map(|(labels, f)| VSample { labels, f, drop_name: false, idx: 0 }).collect())
    })
}

fn is_valid_label_name(s: &str) -> bool {
    !s.is_empty() && std::str::from_utf8(s.as_bytes()).is_ok()
}

/// Formats a float like Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
pub(crate) fn fmt_go(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{f}")
    }
}
