//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`, ...) with
//! `by`/`without` grouping.

use std::collections::HashMap;

use promql_parser::parser::token::TokenId;
use promql_parser::parser::token::*;
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use crate::error::{Error, Result};
use crate::eval::{Ev, Matrix, VSample, Val, Vector};
use crate::labels::{Labels, METRIC_NAME};

/// Evaluates an aggregation over all steps.
pub(crate) fn eval_aggregate(ev: &Ev, a: &AggregateExpr) -> Result<Matrix> {
    let op = a.op.id();
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
    let mut step_idx = 0usize;
    ev.range_eval(&[&input], |_, v| {
        let param = params.get(step_idx).copied().unwrap_or(f64::NAN);
        step_idx += 1;
        let vec = &v[0];
        match op {
            T_TOPK | T_BOTTOMK | T_LIMITK => {
                Ok(top_k(op, vec, &group_of, group_labels.len(), param))
            }
            T_LIMIT_RATIO => Err(Error::exec("limit_ratio is not supported")),
            _ => Ok(simple(op, vec, &group_of, &group_labels, param)),
        }
    })
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
        T_TOPK | T_BOTTOMK | T_LIMITK => {
            if params.iter().cloned().fold(f64::NEG_INFINITY, f64::max) < 1.0 {
                return Ok(());
            }
            if params.iter().any(|p| p.is_nan()) {
                return Err(Error::exec("Parameter value is NaN"));
            }
            if let Some(p) = params.iter().find(|p| **p <= i64::MIN as f64) {
                return Err(Error::exec(format!("Scalar value {p} underflows int64")));
            }
            if let Some(p) = params.iter().find(|p| **p >= i64::MAX as f64) {
                return Err(Error::exec(format!("Scalar value {p} overflows int64")));
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

pub(crate) fn grouping_labels(l: &Labels, modifier: &Option<LabelModifier>) -> Labels {
    match modifier {
        Some(LabelModifier::Include(by)) => l.filter(|n| by.labels.iter().any(|x| x == n)),
        Some(LabelModifier::Exclude(without)) => {
            l.filter(|n| n != METRIC_NAME && !without.labels.iter().any(|x| x == n))
        }
        None => Labels::empty(),
    }
}

#[derive(Default, Clone)]
struct Group {
    seen: bool,
    value: f64,
    kahan: f64,
    mean: f64,
    count: f64,
    incremental: bool,
    drop_name: bool,
    values: Vec<f64>,
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

fn simple(op: TokenId, vec: &Vector, group_of: &[usize], labels: &[Labels], q: f64) -> Vector {
    let mut groups = vec![Group::default(); labels.len()];
    for s in vec {
        let g = &mut groups[group_of[s.idx]];
        let f = s.f;
        if !g.seen {
            *g = Group {
                seen: true,
                value: f,
                mean: f,
                count: 1.0,
                drop_name: s.drop_name,
                ..Group::default()
            };
            match op {
                T_STDDEV | T_STDVAR => {
                    g.value = if f.is_nan() || f.is_infinite() {
                        f64::NAN
                    } else {
                        0.0
                    }
                }
                T_QUANTILE => g.values.push(f),
                T_GROUP => g.value = 1.0,
                _ => {}
            }
            continue;
        }
        g.drop_name |= s.drop_name;
        match op {
            T_SUM => (g.value, g.kahan) = kahan_inc(f, g.value, g.kahan),
            T_AVG => {
                g.count += 1.0;
                if !g.incremental {
                    let (nv, nc) = kahan_inc(f, g.value, g.kahan);
                    if !nv.is_infinite() {
                        (g.value, g.kahan) = (nv, nc);
                        continue;
                    }
                    g.incremental = true;
                    g.mean = g.value / (g.count - 1.0);
                    g.kahan /= g.count - 1.0;
                }
                let qq = (g.count - 1.0) / g.count;
                (g.mean, g.kahan) = kahan_inc(f / g.count, qq * g.mean, qq * g.kahan);
            }
            T_MAX if g.value < f || g.value.is_nan() => g.value = f,
            T_MIN if g.value > f || g.value.is_nan() => g.value = f,
            T_COUNT => g.count += 1.0,
            T_STDDEV | T_STDVAR => {
                g.count += 1.0;
                let delta = f - g.mean;
                g.mean += delta / g.count;
                g.value += delta * (f - g.mean);
            }
            T_QUANTILE => g.values.push(f),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (i, g) in groups.iter_mut().enumerate() {
        if !g.seen {
            continue;
        }
        let f = match op {
            T_AVG if g.incremental => g.mean + g.kahan,
            T_AVG => g.value / g.count + g.kahan / g.count,
            T_COUNT => g.count,
            T_STDVAR => g.value / g.count,
            T_STDDEV => (g.value / g.count).sqrt(),
            T_QUANTILE => quantile(q, &mut g.values),
            T_SUM => g.value + g.kahan,
            _ => g.value,
        };
        out.push(VSample {
            labels: labels[i].clone(),
            f,
            drop_name: g.drop_name,
            idx: 0,
        });
    }
    out
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
