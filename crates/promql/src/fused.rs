//! An aggregation over a range-function call (`sum by (x) (rate(m[5m]))`, the commonest
//! dashboard query) folded as the call produces each series, instead of first materializing
//! every input series' points: each series' output is folded into the group states while it
//! is still in cache and then dropped.
//!
//! Series arrive in input order and groups are numbered in order of first appearance, so each
//! step's samples meet their group state in the order the materialized path
//! ([`crate::aggregate`]'s column fold) uses, and results are bit-identical.

use std::collections::HashMap;

use promql_parser::parser::token::*;
use promql_parser::parser::{AggregateExpr, Expr};

use crate::aggregate::{Group, GroupOut, State, SumState, assemble, grouping_labels};
use crate::error::{Error, Result};
use crate::eval::{Ev, Matrix, SeriesPts};
use crate::functions::RangeCall;
use crate::labels::Labels;
use crate::range_funcs::RangeFn;

/// Most bytes of group state the fold holds; beyond it (many groups × many steps) the
/// materialized path, which folds over bounded blocks of steps, is taken instead.
const STATE_BYTES: usize = 64 << 20;

/// Evaluates `a` by folding its range-call argument as it streams, or `None` when `a` is not
/// such an aggregation (or its state would not fit in [`STATE_BYTES`]) and the general path
/// applies.
pub(crate) fn aggregate_range_call(ev: &Ev, a: &AggregateExpr) -> Result<Option<Matrix>> {
    let op = a.op.id();
    let foldable = matches!(
        op,
        T_SUM | T_AVG | T_COUNT | T_MIN | T_MAX | T_GROUP | T_STDDEV | T_STDVAR
    );
    let Expr::Call(c) = unparen(&a.expr) else {
        return Ok(None);
    };
    let Some(func) = RangeFn::from_name(c.func.name) else {
        return Ok(None);
    };
    if !foldable || a.param.is_some() || func == RangeFn::AbsentOverTime {
        return Ok(None);
    }
    let args: Vec<&Expr> = c.args.args.iter().map(|x| x.as_ref()).collect();
    let call = RangeCall::new(ev, c.func.name, &args)?;
    if op == T_SUM {
        Fold::<SumState>::run(ev, a, &call)
    } else {
        Fold::<Group>::run(ev, a, &call)
    }
}

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        other => other,
    }
}

/// The group states of a streaming fold: one row of per-step states per group.
struct Fold<'a, S> {
    a: &'a AggregateExpr,
    n_steps: usize,
    index: HashMap<Labels, usize>,
    labels: Vec<Labels>,
    rows: Vec<Vec<S>>,
}

/// The fold outgrew [`STATE_BYTES`].
struct TooBig;

impl<S: State> Fold<'_, S> {
    fn run(ev: &Ev, a: &AggregateExpr, call: &RangeCall) -> Result<Option<Matrix>> {
        let mut fold: Fold<S> = Fold {
            a,
            n_steps: ev.steps.count(),
            index: HashMap::new(),
            labels: Vec::new(),
            rows: Vec::new(),
        };
        let mut too_big = false;
        let folded = call.each(ev, &mut |s| {
            fold.add(ev, &s).map_err(|TooBig| {
                too_big = true;
                Error::exec("aggregation state too large to fold while streaming")
            })
        });
        match folded {
            Err(_) if too_big => return Ok(None),
            other => other?,
        }
        fold.finish(ev).map(Some)
    }

    /// Folds one input series into its group's row.
    fn add(&mut self, ev: &Ev, s: &SeriesPts) -> std::result::Result<(), TooBig> {
        let key = grouping_labels(&s.labels, &self.a.modifier);
        let g = match self.index.get(&key) {
            Some(&g) => g,
            None => {
                let states = (self.rows.len() + 1) * self.n_steps;
                if states * std::mem::size_of::<S>() > STATE_BYTES {
                    return Err(TooBig);
                }
                self.index.insert(key.clone(), self.labels.len());
                self.labels.push(key);
                self.rows.push(vec![S::default(); self.n_steps]);
                self.rows.len() - 1
            }
        };
        let (start, interval) = (ev.steps.start, ev.steps.interval.max(1));
        let row = &mut self.rows[g];
        let op = self.a.op.id();
        // The step after the previous point: points usually sit on consecutive steps, and
        // checking that saves a 64-bit division per point.
        let mut next: Option<(i64, usize)> = None;
        for &(t, f) in &s.pts {
            let off = t - start;
            let k = match next {
                Some((o, k)) if o == off => k,
                _ if off < 0 || off % interval != 0 => continue,
                _ => (off / interval) as usize,
            };
            next = Some((off + interval, k + 1));
            if let Some(st) = row.get_mut(k) {
                st.add(op, f, s.drop_name);
            }
        }
        Ok(())
    }

    /// The output series, in the order a step-wise walk creates them.
    fn finish(mut self, ev: &Ev) -> Result<Matrix> {
        let op = self.a.op.id();
        let (start, interval) = (ev.steps.start, ev.steps.interval.max(1));
        let mut outs = vec![GroupOut::default(); self.rows.len()];
        let mut total = 0usize;
        for (row, out) in self.rows.iter_mut().zip(&mut outs) {
            for (k, st) in row.iter_mut().enumerate() {
                if !st.seen() {
                    continue;
                }
                if out.pts.is_empty() {
                    (out.drop_name, out.first_step) = (st.drop_name(), k);
                }
                out.pts
                    .push((start + k as i64 * interval, st.finish(op, f64::NAN)));
            }
            total += out.pts.len();
        }
        if total > ev.ctx.max_samples {
            return Err(Error::TooManySamples(
                "query processing would load too many samples into memory in query execution"
                    .into(),
            ));
        }
        Ok(assemble(&self.labels, outs))
    }
}
