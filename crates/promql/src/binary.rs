//! Binary operators: arithmetic, comparison (with and without `bool`), set operators, and
//! vector matching (`on`, `ignoring`, `group_left`, `group_right`, `fill*`).

use std::collections::{HashMap, HashSet};

use promql_parser::parser::token::TokenId;
use promql_parser::parser::token::*;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};

use crate::error::{Error, Result};
use crate::eval::{Ev, Matrix, VSample, Vector};
use crate::labels::{Labels, METRIC_NAME};

/// Evaluates a binary expression over all steps.
pub(crate) fn eval_binary(ev: &Ev, b: &BinaryExpr) -> Result<Matrix> {
    let op = b.op.id();
    let lt = b.lhs.value_type();
    let rt = b.rhs.value_type();
    let lhs = ev.eval_matrix(&b.lhs)?;
    let rhs = ev.eval_matrix(&b.rhs)?;
    let return_bool = b.return_bool();
    match (lt, rt) {
        (ValueType::Scalar, ValueType::Scalar) => ev.range_eval(&[&lhs, &rhs], |_, v| {
            let (Some(l), Some(r)) = (v[0].first(), v[1].first()) else {
                return Ok(Vec::new());
            };
            let f = scalar_binop(op, l.f, r.f);
            Ok(vec![VSample {
                labels: Labels::empty(),
                f,
                drop_name: false,
                idx: 0,
            }])
        }),
        (ValueType::Vector, ValueType::Scalar) => ev.range_eval(&[&lhs, &rhs], |_, v| {
            let Some(s) = v[1].first() else {
                return Ok(Vec::new());
            };
            Ok(vector_scalar(op, &v[0], s.f, false, return_bool))
        }),
        (ValueType::Scalar, ValueType::Vector) => ev.range_eval(&[&lhs, &rhs], |_, v| {
            let Some(s) = v[0].first() else {
                return Ok(Vec::new());
            };
            Ok(vector_scalar(op, &v[1], s.f, true, return_bool))
        }),
        _ => {
            let default = BinModifier::default();
            let m = b.modifier.as_ref().unwrap_or(&default);
            let sig_l: Vec<Labels> = lhs.iter().map(|s| signature(&s.labels, m)).collect();
            let sig_r: Vec<Labels> = rhs.iter().map(|s| signature(&s.labels, m)).collect();
            let set_op = matches!(op, T_LAND | T_LOR | T_LUNLESS);
            ev.range_eval(&[&lhs, &rhs], |_, v| {
                let ls: Vec<&Labels> = v[0].iter().map(|s| &sig_l[s.idx]).collect();
                let rs: Vec<&Labels> = v[1].iter().map(|s| &sig_r[s.idx]).collect();
                if set_op {
                    Ok(set_binop(op, &v[0], &v[1], &ls, &rs))
                } else {
                    vector_binop(op, &v[0], &v[1], &ls, &rs, m)
                }
            })
        }
    }
}

/// The labels two series are matched on.
fn signature(l: &Labels, m: &BinModifier) -> Labels {
    match &m.matching {
        Some(LabelModifier::Include(on)) => l.filter(|n| on.labels.iter().any(|x| x == n)),
        Some(LabelModifier::Exclude(ign)) => {
            l.filter(|n| n != METRIC_NAME && !ign.labels.iter().any(|x| x == n))
        }
        None => l.without_name(),
    }
}

fn set_binop(op: TokenId, l: &Vector, r: &Vector, ls: &[&Labels], rs: &[&Labels]) -> Vector {
    let right: HashSet<&Labels> = rs.iter().copied().collect();
    match op {
        T_LAND => l
            .iter()
            .zip(ls)
            .filter(|(_, s)| right.contains(**s))
            .map(|(x, _)| x.clone())
            .collect(),
        T_LUNLESS => l
            .iter()
            .zip(ls)
            .filter(|(_, s)| !right.contains(**s))
            .map(|(x, _)| x.clone())
            .collect(),
        _ => {
            let left: HashSet<&Labels> = ls.iter().copied().collect();
            let mut out = l.clone();
            out.extend(
                r.iter()
                    .zip(rs)
                    .filter(|(_, s)| !left.contains(**s))
                    .map(|(x, _)| x.clone()),
            );
            out
        }
    }
}

/// Arithmetic and comparison between two vectors with matching.
fn vector_binop(
    op: TokenId,
    l: &Vector,
    r: &Vector,
    ls: &[&Labels],
    rs: &[&Labels],
    m: &BinModifier,
) -> Result<Vector> {
    let fill = &m.fill_values;
    if (l.is_empty() && r.is_empty())
        || ((l.is_empty() || r.is_empty()) && fill.lhs.is_none() && fill.rhs.is_none())
    {
        return Ok(Vec::new());
    }
    let one_to_many = matches!(m.card, VectorMatchCardinality::OneToMany(_));
    let one_to_one = matches!(m.card, VectorMatchCardinality::OneToOne);
    let (l, r, ls, rs) = if one_to_many {
        (r, l, rs, ls)
    } else {
        (l, r, ls, rs)
    };
    let (fill_l, fill_r) = if one_to_many {
        (fill.rhs, fill.lhs)
    } else {
        (fill.lhs, fill.rhs)
    };
    let mut right: HashMap<&Labels, &VSample> = HashMap::with_capacity(r.len());
    for (s, sig) in r.iter().zip(rs) {
        if let Some(dup) = right.insert(*sig, s) {
            let side = if one_to_many { "left" } else { "right" };
            let (mut a, mut b) = (s.labels.to_string(), dup.labels.to_string());
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            return Err(Error::exec(format!(
                "found duplicate series for the match group {sig} on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side"
            )));
        }
    }
    let mut matched: HashMap<Labels, HashSet<Labels>> = HashMap::new();
    let mut out = Vec::new();
    let sig_owner: Vec<Labels> = ls.iter().chain(rs.iter()).map(|s| (*s).clone()).collect();
    let job = Job {
        op,
        m,
        one_to_many,
        one_to_one,
    };
    for (i, s) in l.iter().enumerate() {
        let sig = &sig_owner[i];
        match right.get(sig) {
            Some(rsample) => job.apply(&mut matched, s, rsample, sig, &mut out)?,
            None => {
                if let Some(fv) = fill_r {
                    let filled = VSample {
                        labels: match_labels(&s.labels, m),
                        f: fv,
                        drop_name: false,
                        idx: 0,
                    };
                    job.apply(&mut matched, s, &filled, sig, &mut out)?;
                }
            }
        }
    }
    if let Some(fv) = fill_l {
        for (j, s) in r.iter().enumerate() {
            let sig = &sig_owner[l.len() + j];
            if matched.get(sig).is_some_and(|x| !x.is_empty()) {
                continue;
            }
            let filled = VSample {
                labels: match_labels(&s.labels, m),
                f: fv,
                drop_name: false,
                idx: 0,
            };
            job.apply(&mut matched, &filled, s, sig, &mut out)?;
        }
    }
    Ok(out)
}

/// One vector/vector operation's settings.
struct Job<'a> {
    op: TokenId,
    m: &'a BinModifier,
    one_to_many: bool,
    one_to_one: bool,
}

impl Job<'_> {
    /// Combines one matched pair (`ls` is the "many" side) into `out`.
    fn apply(
        &self,
        matched: &mut HashMap<Labels, HashSet<Labels>>,
        ls: &VSample,
        rs: &VSample,
        sig: &Labels,
        out: &mut Vector,
    ) -> Result<()> {
        let (fl, fr) = if self.one_to_many {
            (rs.f, ls.f)
        } else {
            (ls.f, rs.f)
        };
        let (mut f, keep) = elem_binop(self.op, fl, fr);
        let return_bool = self.m.return_bool;
        if return_bool {
            f = if keep { 1.0 } else { 0.0 };
        }
        let metric = result_metric(&ls.labels, &rs.labels, self.op, self.m);
        let seen = matched.entry(sig.clone()).or_default();
        if self.one_to_one {
            if !seen.is_empty() {
                return Err(Error::exec(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
            seen.insert(Labels::empty());
        } else if !seen.insert(metric.clone()) {
            return Err(Error::exec(
                "multiple matches for labels: grouping labels must ensure unique matches",
            ));
        }
        if keep || return_bool {
            out.push(VSample {
                labels: metric,
                f,
                drop_name: return_bool,
                idx: 0,
            });
        }
        Ok(())
    }
}

/// The matching labels of `l` (what a fill sample carries).
fn match_labels(l: &Labels, m: &BinModifier) -> Labels {
    match &m.matching {
        Some(LabelModifier::Include(on)) => l.filter(|n| on.labels.iter().any(|x| x == n)),
        Some(LabelModifier::Exclude(ign)) => l.filter(|n| !ign.labels.iter().any(|x| x == n)),
        None => l.clone(),
    }
}

fn result_metric(l: &Labels, r: &Labels, op: TokenId, m: &BinModifier) -> Labels {
    let mut out = if changes_metric_schema(op) {
        l.without_metadata()
    } else {
        l.clone()
    };
    if matches!(m.card, VectorMatchCardinality::OneToOne) {
        match &m.matching {
            Some(LabelModifier::Include(on)) => {
                out = out.filter(|n| on.labels.iter().any(|x| x == n))
            }
            Some(LabelModifier::Exclude(ign)) => {
                out = out.filter(|n| !ign.labels.iter().any(|x| x == n))
            }
            None => {}
        }
    }
    if let Some(include) = m.card.labels() {
        for name in &include.labels {
            out = out.with(name, r.get(name).unwrap_or(""));
        }
    }
    out
}

fn changes_metric_schema(op: TokenId) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_POW | T_MOD | T_ATAN2)
}

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

fn vector_scalar(op: TokenId, v: &Vector, s: f64, swap: bool, return_bool: bool) -> Vector {
    let mut out = Vec::with_capacity(v.len());
    for x in v {
        let (lf, rf) = if swap { (s, x.f) } else { (x.f, s) };
        let (mut f, mut keep) = elem_binop(op, lf, rf);
        if is_comparison(op) && swap {
            f = rf;
        }
        if return_bool {
            f = if keep { 1.0 } else { 0.0 };
            keep = true;
        }
        if keep {
            let drop_name = x.drop_name || changes_metric_schema(op) || return_bool;
            out.push(VSample {
                labels: x.labels.clone(),
                f,
                drop_name,
                idx: x.idx,
            });
        }
    }
    out
}

/// Applies `op`; returns the value and, for comparisons, whether the pair is kept.
fn elem_binop(op: TokenId, l: f64, r: f64) -> (f64, bool) {
    match op {
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => (scalar_binop(op, l, r), true),
    }
}

/// Applies `op` to two scalars (comparisons give 0 or 1).
pub(crate) fn scalar_binop(op: TokenId, l: f64, r: f64) -> f64 {
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    match op {
        T_ADD => l + r,
        T_SUB => l - r,
        T_MUL => l * r,
        T_DIV => l / r,
        T_POW => l.powf(r),
        T_MOD => go_fmod(l, r),
        T_ATAN2 => l.atan2(r),
        T_EQLC => b(l == r),
        T_NEQ => b(l != r),
        T_GTR => b(l > r),
        T_LSS => b(l < r),
        T_GTE => b(l >= r),
        T_LTE => b(l <= r),
        _ => f64::NAN,
    }
}

/// Go's `math.Mod`: the result has the sign of `l`.
fn go_fmod(l: f64, r: f64) -> f64 {
    l % r
}
