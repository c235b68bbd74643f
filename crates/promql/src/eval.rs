//! The evaluator core: every node is evaluated once over all steps of its range, as a matrix
//! with one point per step, and step-wise operators walk those matrices (as Prometheus does).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{
    AtModifier, Expr, MatrixSelector, Offset, SubqueryExpr, VectorSelector,
};

use crate::error::{Error, Result};
use crate::labels::{Labels, METRIC_NAME, MatchOp, Matcher};
use crate::source::{SeriesSource, is_stale};

/// One series of an intermediate result: a point per step at which it has a value.
#[derive(Debug, Clone)]
pub(crate) struct SeriesPts {
    pub labels: Labels,
    pub pts: Vec<(i64, f64)>,
    /// Delayed name removal: `__name__` is dropped when the final result is built.
    pub drop_name: bool,
}

/// An intermediate result over all steps.
pub(crate) type Matrix = Vec<SeriesPts>;

/// One element of an instant vector at one step.
#[derive(Debug, Clone)]
pub(crate) struct VSample {
    pub labels: Labels,
    pub f: f64,
    pub drop_name: bool,
    /// Index of the input series this sample came from.
    pub idx: usize,
}

/// An instant vector at one step.
pub(crate) type Vector = Vec<VSample>;

/// Result of evaluating a node.
pub(crate) enum Val {
    Matrix(Matrix),
    Str(String),
}

/// Warnings and infos collected while evaluating.
#[derive(Debug, Default, Clone)]
pub(crate) struct Annotations {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

/// Settings and state shared by the evaluator and its children (subqueries).
pub(crate) struct Ctx<'a> {
    pub src: &'a dyn SeriesSource,
    pub lookback: i64,
    pub max_samples: usize,
    pub default_subquery_step: i64,
    /// Start and end of the whole query, for `@ start()` / `@ end()`.
    pub qstart: i64,
    pub qend: i64,
    /// The query's step (0 for an instant query), for `step()`.
    pub qstep: i64,
    /// Whether this is a range query (a part of a split one may hold a single step).
    pub range_query: bool,
    pub annos: RefCell<Annotations>,
}

impl Ctx<'_> {
    pub fn warn(&self, msg: String) {
        let mut a = self.annos.borrow_mut();
        if !a.warnings.contains(&msg) {
            a.warnings.push(msg);
        }
    }

    pub fn info(&self, msg: String) {
        let mut a = self.annos.borrow_mut();
        if !a.infos.contains(&msg) {
            a.infos.push(msg);
        }
    }
}

/// Evaluation steps: `start..=end` every `interval` (an instant query has `start == end`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    pub start: i64,
    pub end: i64,
    pub interval: i64,
}

impl Steps {
    pub fn iter(self) -> impl Iterator<Item = i64> {
        let Steps {
            start,
            end,
            interval,
        } = self;
        let n = if end < start {
            0
        } else {
            (end - start) / interval.max(1) + 1
        };
        (0..n).map(move |i| start + i * interval.max(1))
    }

    pub fn count(self) -> usize {
        if self.end < self.start {
            0
        } else {
            ((self.end - self.start) / self.interval.max(1) + 1) as usize
        }
    }
}

/// Evaluates expressions over one set of steps.
pub(crate) struct Ev<'a> {
    pub ctx: &'a Ctx<'a>,
    pub steps: Steps,
}

pub(crate) fn duration_ms(d: &std::time::Duration) -> i64 {
    d.as_millis() as i64
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
        None => 0,
    }
}

fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

impl<'a> Ev<'a> {
    pub fn child(&self, steps: Steps) -> Ev<'a> {
        Ev {
            ctx: self.ctx,
            steps,
        }
    }

    /// The fixed time of an `@` modifier, if any.
    pub fn at_ms(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at {
            None => None,
            Some(AtModifier::Start) => Some(self.ctx.qstart),
            Some(AtModifier::End) => Some(self.ctx.qend),
            Some(AtModifier::At(t)) => Some(system_time_ms(t)),
        }
    }

    /// The reference time for each step of a selector with this `@`/offset.
    pub fn ref_times(&self, at: &Option<AtModifier>, off: &Option<Offset>) -> Vec<i64> {
        let off = offset_ms(off);
        let at = self.at_ms(at);
        self.steps.iter().map(|ts| at.unwrap_or(ts) - off).collect()
    }

    pub fn eval(&self, e: &Expr) -> Result<Val> {
        let m = match e {
            Expr::StringLiteral(s) => return Ok(Val::Str(s.val.clone())),
            Expr::NumberLiteral(n) => self.scalar_matrix(|_| n.val),
            Expr::Paren(p) => return self.eval(&p.expr),
            Expr::Unary(u) => {
                let mut m = self.eval_matrix(&u.expr)?;
                for s in &mut m {
                    s.drop_name = true;
                    s.pts.iter_mut().for_each(|p| p.1 = -p.1);
                }
                m
            }
            Expr::VectorSelector(vs) => self.vector_selector(vs, false)?,
            Expr::MatrixSelector(ms) => self.matrix_selector(ms)?,
            Expr::Subquery(sq) => self.subquery(sq)?.0,
            Expr::Binary(b) => crate::binary::eval_binary(self, b)?,
            Expr::Aggregate(a) => crate::aggregate::eval_aggregate(self, a)?,
            Expr::Call(c) => crate::functions::eval_call(self, c)?,
            Expr::Extension(_) => {
                return Err(Error::BadData(
                    "extension expressions are not supported".into(),
                ));
            }
        };
        Ok(Val::Matrix(m))
    }

    pub fn eval_matrix(&self, e: &Expr) -> Result<Matrix> {
        match self.eval(e)? {
            Val::Matrix(m) => Ok(m),
            Val::Str(_) => Err(Error::BadData(
                "expected a vector or scalar, got a string".into(),
            )),
        }
    }

    /// A scalar as a one-series matrix with empty labels and a point per step.
    pub fn scalar_matrix(&self, f: impl Fn(i64) -> f64) -> Matrix {
        vec![SeriesPts {
            labels: Labels::empty(),
            pts: self.steps.iter().map(|t| (t, f(t))).collect(),
            drop_name: false,
        }]
    }

    /// Calls `f` once per step with the input vectors at that step and assembles the output
    /// series, failing on two output samples with the same labels at one step.
    pub fn range_eval(
        &self,
        inputs: &[&Matrix],
        mut f: impl FnMut(i64, &[Vector]) -> Result<Vector>,
    ) -> Result<Matrix> {
        let mut cursors: Vec<Vec<usize>> = inputs.iter().map(|m| vec![0; m.len()]).collect();
        let mut vectors: Vec<Vector> = inputs.iter().map(|m| Vec::with_capacity(m.len())).collect();
        let mut out: Matrix = Vec::new();
        let mut index: HashMap<Labels, (usize, i64)> = HashMap::new();
        let instant = self.steps.start == self.steps.end;
        let mut total = 0usize;
        for ts in self.steps.iter() {
            for (k, m) in inputs.iter().enumerate() {
                gather(ts, m, &mut cursors[k], &mut vectors[k]);
            }
            let res = f(ts, &vectors)?;
            total += res.len();
            if total > self.ctx.max_samples {
                return Err(too_many_samples());
            }
            if instant {
                return Ok(res
                    .into_iter()
                    .map(|s| SeriesPts {
                        labels: s.labels,
                        pts: vec![(ts, s.f)],
                        drop_name: s.drop_name,
                    })
                    .collect());
            }
            for s in res {
                match index.get_mut(&s.labels) {
                    Some((i, last)) => {
                        if *last == ts {
                            return Err(Error::exec(
                                "vector cannot contain metrics with the same labelset",
                            ));
                        }
                        *last = ts;
                        out[*i].pts.push((ts, s.f));
                    }
                    None => {
                        index.insert(s.labels.clone(), (out.len(), ts));
                        out.push(SeriesPts {
                            labels: s.labels,
                            pts: vec![(ts, s.f)],
                            drop_name: s.drop_name,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Fetches the series of a selector with samples in `[mint, maxt]`.
    pub fn select(
        &self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<crate::source::Series>> {
        let sets = matcher_sets(vs)?;
        if sets.len() == 1 {
            return self.ctx.src.select(&sets[0], mint, maxt);
        }
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for set in &sets {
            for s in self.ctx.src.select(set, mint, maxt)? {
                if seen.insert(s.labels.clone(), ()).is_none() {
                    out.push(s);
                }
            }
        }
        Ok(out)
    }

    /// Hands the series of a selector with samples in `[mint, maxt]` to `f` one at a time
    /// (see [`SeriesSource::for_each_series`]); `or` alternatives skip series already seen.
    pub fn select_each(
        &self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        f: &mut crate::source::SeriesVisitor<'_>,
    ) -> Result<()> {
        let sets = matcher_sets(vs)?;
        if sets.len() == 1 {
            return self.ctx.src.for_each_series(&sets[0], mint, maxt, f);
        }
        let mut seen = std::collections::HashSet::new();
        for set in &sets {
            self.ctx
                .src
                .for_each_series(set, mint, maxt, &mut |labels, samples| {
                    if seen.insert(labels.clone()) {
                        f(labels, samples)?;
                    }
                    Ok(())
                })?;
        }
        Ok(())
    }

    /// Evaluates an instant vector selector; with `record_orig_t` the value is the sample's
    /// timestamp in seconds (for `timestamp()`).
    pub fn vector_selector(&self, vs: &VectorSelector, record_orig_t: bool) -> Result<Matrix> {
        let refs = self.ref_times(&vs.at, &vs.offset);
        let (Some(&lo), Some(&hi)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok(Vec::new());
        };
        let series = self.select(vs, lo - self.ctx.lookback + 1, hi)?;
        let mut out = Vec::with_capacity(series.len());
        let mut total = 0usize;
        for s in series {
            let mut pts = Vec::new();
            for (ts, &r) in self.steps.iter().zip(&refs) {
                let i = s.samples.partition_point(|p| p.0 <= r);
                if i == 0 {
                    continue;
                }
                let (t, v) = s.samples[i - 1];
                if t <= r - self.ctx.lookback || is_stale(v) {
                    continue;
                }
                pts.push((ts, if record_orig_t { t as f64 / 1000.0 } else { v }));
            }
            total += pts.len();
            if total > self.ctx.max_samples {
                return Err(too_many_samples());
            }
            if !pts.is_empty() {
                out.push(SeriesPts {
                    labels: s.labels,
                    pts,
                    drop_name: false,
                });
            }
        }
        Ok(out)
    }

    /// A range vector at a single evaluation time (instant queries only).
    fn matrix_selector(&self, ms: &MatrixSelector) -> Result<Matrix> {
        if self.steps.start != self.steps.end {
            return Err(Error::BadData(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".into(),
            ));
        }
        let r = self.ref_times(&ms.vs.at, &ms.vs.offset)[0];
        let range = duration_ms(&ms.range);
        let series = self.select(&ms.vs, r - range + 1, r)?;
        let mut out = Vec::new();
        for s in series {
            let pts: Vec<_> = s
                .samples
                .into_iter()
                .filter(|p| p.0 > r - range && p.0 <= r && !is_stale(p.1))
                .collect();
            if !pts.is_empty() {
                out.push(SeriesPts {
                    labels: s.labels,
                    pts,
                    drop_name: false,
                });
            }
        }
        Ok(out)
    }

    /// Evaluates a subquery's inner expression on its own step grid. Returns the inner result
    /// and the reference time (end of the window) for each outer step.
    pub fn subquery(&self, sq: &SubqueryExpr) -> Result<(Matrix, Vec<i64>)> {
        let refs = self.ref_times(&sq.at, &sq.offset);
        let range = duration_ms(&sq.range);
        let step = match &sq.step {
            Some(d) if !d.is_zero() => duration_ms(d),
            _ => self.ctx.default_subquery_step,
        };
        let (Some(&lo), Some(&hi)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok((Vec::new(), refs));
        };
        let first = lo - range;
        let mut start = step * first.div_euclid(step);
        if start <= first {
            start += step;
        }
        let child = self.child(Steps {
            start,
            end: hi,
            interval: step,
        });
        let m = child.eval_matrix(&sq.expr)?;
        Ok((m, refs))
    }
}

fn too_many_samples() -> Error {
    Error::TooManySamples(
        "query processing would load too many samples into memory in query execution".into(),
    )
}

/// Collects the samples of `m` at `ts` into `out`, advancing per-series cursors.
fn gather(ts: i64, m: &Matrix, cursors: &mut [usize], out: &mut Vector) {
    out.clear();
    for (i, s) in m.iter().enumerate() {
        let c = &mut cursors[i];
        while *c < s.pts.len() && s.pts[*c].0 < ts {
            *c += 1;
        }
        if *c < s.pts.len() && s.pts[*c].0 == ts {
            out.push(VSample {
                labels: s.labels.clone(),
                f: s.pts[*c].1,
                drop_name: s.drop_name,
                idx: i,
            });
        }
    }
}

/// The matcher lists of a selector: one list, or one per `or` alternative.
pub(crate) fn matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>> {
    let convert = |ms: &[promql_parser::label::Matcher]| -> Result<Vec<Matcher>> {
        let mut out = Vec::with_capacity(ms.len() + 1);
        for m in ms {
            let op = match m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(_) => MatchOp::Regex,
                PMatchOp::NotRe(_) => MatchOp::NotRegex,
            };
            out.push(Matcher::new(&m.name, op, &m.value)?);
        }
        if let Some(name) = &vs.name {
            out.push(Matcher::new(METRIC_NAME, MatchOp::Equal, name)?);
        }
        Ok(out)
    };
    if vs.matchers.or_matchers.is_empty() {
        return Ok(vec![convert(&vs.matchers.matchers)?]);
    }
    vs.matchers
        .or_matchers
        .iter()
        .map(|alt| convert(alt))
        .collect()
}
