//! The public engine: parses a query, evaluates it as an instant or range query, and applies
//! the final `__name__` removal and result shaping.

use std::cell::RefCell;

use promql_parser::parser::value::ValueType;
use promql_parser::parser::{self, Expr};

use crate::error::{Error, Result};
use crate::eval::{Annotations, Ctx, Ev, Matrix, Steps, Val};
use crate::labels_fn::merge_same_labels;
use crate::source::SeriesSource;
use crate::value::{QueryResult, RangeSeries, Sample, Value};

/// Engine settings (Prometheus's defaults unless changed).
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for the latest sample.
    pub lookback_delta_ms: i64,
    /// Cap on samples held per query.
    pub max_samples: usize,
    /// Step of subqueries written without one (`x[10m:]`).
    pub default_subquery_step_ms: i64,
    /// Threads one range query may use: its steps are split into contiguous parts evaluated
    /// in parallel (each part selects and walks its own time range; `max_samples` applies to
    /// each part).
    pub threads: usize,
    /// Fewest steps a part of a split range query gets; shorter queries run on one thread.
    pub min_steps_per_thread: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60_000,
            max_samples: 50_000_000,
            default_subquery_step_ms: 60_000,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            min_steps_per_thread: 256,
        }
    }
}

/// A PromQL engine. Cheap to create; holds only settings.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOptions,
}

/// Parses a query, mapping parse errors to [`Error::BadData`].
pub fn parse(query: &str) -> Result<Expr> {
    parser::parse(query).map_err(Error::BadData)
}

impl Engine {
    /// An engine with the given settings.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// Evaluates `query` at `ts_ms`.
    pub fn eval_instant(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        ts_ms: i64,
    ) -> Result<QueryResult> {
        self.instant_expr(src, &parse(query)?, ts_ms)
    }

    /// Evaluates a parsed expression at `ts_ms`.
    pub fn instant_expr(
        &self,
        src: &dyn SeriesSource,
        expr: &Expr,
        ts_ms: i64,
    ) -> Result<QueryResult> {
        let ctx = self.ctx(src, ts_ms, ts_ms, 0);
        let ev = Ev {
            ctx: &ctx,
            steps: Steps {
                start: ts_ms,
                end: ts_ms,
                interval: 1,
            },
        };
        let value = match ev.eval(expr)? {
            Val::Str(s) => Value::String {
                t_ms: ts_ms,
                value: s,
            },
            Val::Matrix(m) => match expr.value_type() {
                ValueType::Scalar => {
                    let value = m
                        .first()
                        .and_then(|s| s.pts.first())
                        .map_or(f64::NAN, |p| p.1);
                    Value::Scalar { t_ms: ts_ms, value }
                }
                ValueType::Matrix => Value::Matrix(finish_matrix(m)?),
                _ => Value::Vector(finish_vector(m, ts_ms)?),
            },
        };
        Ok(result(value, ctx.annos.into_inner()))
    }

    /// Evaluates `query` at every `step_ms` from `start_ms` to `end_ms`.
    pub fn eval_range(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult> {
        self.range_expr(src, &parse(query)?, start_ms, end_ms, step_ms)
    }

    /// Range evaluation of a parsed expression.
    pub fn range_expr(
        &self,
        src: &dyn SeriesSource,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult> {
        if step_ms <= 0 {
            return Err(Error::BadData(
                "zero or negative query resolution step widths are not accepted".into(),
            ));
        }
        if end_ms < start_ms {
            return Err(Error::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        let vt = expr.value_type();
        if vt != ValueType::Scalar && vt != ValueType::Vector {
            return Err(Error::BadData(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                type_name(vt)
            )));
        }
        let n_steps = usize::try_from((end_ms - start_ms) / step_ms).unwrap_or(usize::MAX - 1) + 1;
        let parts = self
            .opts
            .threads
            .min(n_steps / self.opts.min_steps_per_thread.max(1))
            .max(1);
        let (series, annos) = if parts > 1 {
            crate::parallel::eval_parts(parts, start_ms, end_ms, step_ms, |s, e| {
                self.range_part(src, expr, (start_ms, end_ms), (s, e, step_ms))
            })?
        } else {
            self.range_part(src, expr, (start_ms, end_ms), (start_ms, end_ms, step_ms))?
        };
        let mut series = series;
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(result(Value::Matrix(series), annos))
    }

    /// Evaluates the steps `from..=to` every `step` of a range query over `query` (the whole
    /// query's bounds, for `@ start()`/`@ end()`).
    pub(crate) fn range_part(
        &self,
        src: &dyn SeriesSource,
        expr: &Expr,
        query: (i64, i64),
        (from, to, step): (i64, i64, i64),
    ) -> Result<(Vec<RangeSeries>, Annotations)> {
        let ctx = self.ctx(src, query.0, query.1, step);
        let ev = Ev {
            ctx: &ctx,
            steps: Steps {
                start: from,
                end: to,
                interval: step,
            },
        };
        let m = ev.eval_matrix(expr)?;
        Ok((finish_matrix(m)?, ctx.annos.into_inner()))
    }

    /// The evaluation context of a query from `qstart` to `qend` every `qstep` (0: instant).
    fn ctx<'a>(&self, src: &'a dyn SeriesSource, qstart: i64, qend: i64, qstep: i64) -> Ctx<'a> {
        Ctx {
            src,
            lookback: self.opts.lookback_delta_ms,
            max_samples: self.opts.max_samples,
            default_subquery_step: self.opts.default_subquery_step_ms,
            qstart,
            qend,
            qstep,
            range_query: qstep > 0,
            annos: RefCell::new(Annotations::default()),
        }
    }
}

fn type_name(vt: ValueType) -> &'static str {
    match vt {
        ValueType::Vector => "instant vector",
        ValueType::Scalar => "scalar",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

fn result(value: Value, a: Annotations) -> QueryResult {
    QueryResult {
        value,
        warnings: a.warnings,
        infos: a.infos,
    }
}

fn drop_names(m: &mut Matrix) {
    for s in m.iter_mut() {
        if s.drop_name {
            s.labels = s.labels.without_metadata();
            s.drop_name = false;
        }
    }
}

fn finish_matrix(mut m: Matrix) -> Result<Vec<RangeSeries>> {
    drop_names(&mut m);
    let m = merge_same_labels(m)?;
    Ok(m.into_iter()
        .map(|s| RangeSeries {
            labels: s.labels,
            points: s.pts,
        })
        .collect())
}

fn finish_vector(mut m: Matrix, ts_ms: i64) -> Result<Vec<Sample>> {
    drop_names(&mut m);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(m.len());
    for s in m {
        if !seen.insert(s.labels.clone()) {
            return Err(Error::exec(
                "vector cannot contain metrics with the same labelset",
            ));
        }
        if let Some(p) = s.pts.first() {
            out.push(Sample {
                labels: s.labels,
                t_ms: ts_ms,
                value: p.1,
            });
        }
    }
    Ok(out)
}
