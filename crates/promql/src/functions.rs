//! Function calls: dispatch, range-vector windows, and the instant-vector functions.

use chrono::{DateTime, Datelike, Timelike};
use promql_parser::parser::{Call, Expr, VectorSelector};

use crate::error::{Error, Result};
use crate::eval::{Ctx, Ev, Matrix, SeriesPts, VSample, Val, Vector, duration_ms};
use crate::labels::{Labels, METRIC_NAME};
use crate::range_funcs::{RangeFn, Window, apply, is_range_function};
use crate::rate::{Extrapolation, extrapolated_rate};
use crate::source::is_stale;

/// Evaluates a function call over all steps.
pub(crate) fn eval_call(ev: &Ev, c: &Call) -> Result<Matrix> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
    if is_range_function(name) {
        return eval_range_call(ev, name, &args);
    }
    match name {
        "label_replace" => return crate::labels_fn::label_replace(ev, &args),
        "label_join" => return crate::labels_fn::label_join(ev, &args),
        "info" => return Err(Error::exec("info() is not supported")),
        "timestamp" => {
            if let Some(Expr::VectorSelector(vs)) = args.first() {
                let mut m = ev.vector_selector(vs, true)?;
                m.iter_mut().for_each(|s| s.drop_name = true);
                return Ok(m);
            }
        }
        _ => {}
    }
    if name.starts_with("sort") && (ev.ctx.range_query || ev.steps.start != ev.steps.end) {
        ev.ctx.warn("PromQL warning: sort is ineffective for range queries since results are always ordered by labels".into());
    }
    let mut inputs: Vec<Matrix> = Vec::with_capacity(args.len());
    let mut strings: Vec<String> = Vec::new();
    for a in &args {
        match ev.eval(a)? {
            Val::Matrix(m) => inputs.push(m),
            Val::Str(s) => {
                strings.push(s);
                inputs.push(Vec::new());
            }
        }
    }
    if name == "absent" {
        let labels = absent_labels(args[0]);
        return ev.range_eval(&[&inputs[0]], |_, v| {
            Ok(if v[0].is_empty() {
                vec![one(labels.clone(), 1.0)]
            } else {
                Vec::new()
            })
        });
    }
    let refs: Vec<&Matrix> = inputs.iter().collect();
    ev.range_eval(&refs, |ts, v| instant_function(ev, name, ts, v, &strings))
}

fn one(labels: Labels, f: f64) -> VSample {
    VSample {
        labels,
        f,
        drop_name: false,
        idx: 0,
    }
}

fn scalar_arg(v: &[Vector], i: usize) -> f64 {
    v.get(i).and_then(|x| x.first()).map_or(f64::NAN, |s| s.f)
}

fn map_values(v: &Vector, f: impl Fn(f64) -> f64) -> Vector {
    v.iter()
        .map(|s| VSample {
            labels: s.labels.clone(),
            f: f(s.f),
            drop_name: true,
            idx: s.idx,
        })
        .collect()
}

fn instant_function(
    ev: &Ev,
    name: &str,
    ts: i64,
    v: &[Vector],
    strings: &[String],
) -> Result<Vector> {
    let simple: Option<fn(f64) -> f64> = match name {
        "abs" => Some(f64::abs),
        "ceil" => Some(f64::ceil),
        "floor" => Some(f64::floor),
        "exp" => Some(f64::exp),
        "sqrt" => Some(f64::sqrt),
        "ln" => Some(f64::ln),
        "log2" => Some(f64::log2),
        "log10" => Some(f64::log10),
        "sin" => Some(f64::sin),
        "cos" => Some(f64::cos),
        "tan" => Some(f64::tan),
        "asin" => Some(f64::asin),
        "acos" => Some(f64::acos),
        "atan" => Some(f64::atan),
        "sinh" => Some(f64::sinh),
        "cosh" => Some(f64::cosh),
        "tanh" => Some(f64::tanh),
        "asinh" => Some(f64::asinh),
        "acosh" => Some(f64::acosh),
        "atanh" => Some(f64::atanh),
        "rad" => Some(f64::to_radians),
        "deg" => Some(f64::to_degrees),
        "sgn" => Some(|x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        }),
        _ => None,
    };
    if let Some(f) = simple {
        return Ok(map_values(&v[0], f));
    }
    let out = match name {
        "time" => vec![one(Labels::empty(), ts as f64 / 1000.0)],
        "pi" => vec![one(Labels::empty(), std::f64::consts::PI)],
        "vector" => vec![one(Labels::empty(), scalar_arg(v, 0))],
        "scalar" => {
            let f = if v[0].len() == 1 { v[0][0].f } else { f64::NAN };
            vec![one(Labels::empty(), f)]
        }
        "timestamp" => map_values(&v[0], |_| ts as f64 / 1000.0),
        "clamp" => {
            let (lo, hi) = (scalar_arg(v, 1), scalar_arg(v, 2));
            if hi < lo {
                return Ok(Vec::new());
            }
            map_values(&v[0], |x| x.max(lo).min(hi))
        }
        "clamp_min" => {
            let lo = scalar_arg(v, 1);
            map_values(&v[0], |x| x.max(lo))
        }
        "clamp_max" => {
            let hi = scalar_arg(v, 1);
            map_values(&v[0], |x| x.min(hi))
        }
        "round" => {
            let to = if v.len() > 1 { scalar_arg(v, 1) } else { 1.0 };
            let inv = 1.0 / to;
            map_values(&v[0], |x| (x * inv + 0.5).floor() / inv)
        }
        "sort" | "sort_desc" => {
            let mut out = v[0].clone();
            out.sort_by(|a, b| cmp_nan_last(a.f, b.f, name == "sort_desc"));
            out
        }
        "sort_by_label" | "sort_by_label_desc" => {
            let mut out = v[0].clone();
            let desc = name == "sort_by_label_desc";
            out.sort_by(|a, b| {
                for l in strings {
                    let o =
                        natural_cmp(a.labels.get(l).unwrap_or(""), b.labels.get(l).unwrap_or(""));
                    if o.is_ne() {
                        return if desc { o.reverse() } else { o };
                    }
                }
                let o = a.labels.cmp(&b.labels);
                if desc { o.reverse() } else { o }
            });
            out
        }
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => date_function(name, ts, v.first()),
        "histogram_quantile" => {
            crate::histogram::quantile_vector(ev.ctx, scalar_arg(v, 0), &v[1], ts)
        }
        "histogram_quantiles" => {
            let label = strings.first().map_or("", String::as_str);
            let qs: Vec<f64> = (2..v.len()).map(|i| scalar_arg(v, i)).collect();
            crate::histogram::quantiles_vector(ev.ctx, label, &qs, &v[0], ts)
        }
        "histogram_fraction" => {
            crate::histogram::fraction_vector(ev.ctx, scalar_arg(v, 0), scalar_arg(v, 1), &v[2])
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => Vec::new(),
        "max_of" | "min_of" => {
            let (a, b) = (scalar_arg(v, 0), scalar_arg(v, 1));
            // A NaN argument gives NaN (`f64::max`/`min` would drop it).
            let f = if a.is_nan() || b.is_nan() {
                f64::NAN
            } else if name == "max_of" {
                a.max(b)
            } else {
                a.min(b)
            };
            vec![one(Labels::empty(), f)]
        }
        // The query's bounds, length and step in seconds (0 step and length when instant).
        "start" => vec![one(Labels::empty(), ev.ctx.qstart as f64 / 1000.0)],
        "end" => vec![one(Labels::empty(), ev.ctx.qend as f64 / 1000.0)],
        "range" => {
            let secs = (ev.ctx.qend - ev.ctx.qstart) as f64 / 1000.0;
            vec![one(Labels::empty(), secs)]
        }
        "step" => vec![one(Labels::empty(), ev.ctx.qstep as f64 / 1000.0)],
        _ => return Err(Error::exec(format!("function {name}() is not supported"))),
    };
    Ok(out)
}

fn cmp_nan_last(a: f64, b: f64, desc: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Equal,
        (true, false) => Greater,
        (false, true) => Less,
        _ if desc => b.total_cmp(&a),
        _ => a.total_cmp(&b),
    }
}

/// Compares strings with digit runs compared by numeric value.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    while !x.is_empty() && !y.is_empty() {
        if x[0].is_ascii_digit() && y[0].is_ascii_digit() {
            let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
            let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
            let (dx, dy) = (&x[..nx], &y[..ny]);
            let tx = dx.iter().skip_while(|c| **c == b'0').count();
            let ty = dy.iter().skip_while(|c| **c == b'0').count();
            let o = tx.cmp(&ty).then_with(|| dx[nx - tx..].cmp(&dy[ny - ty..]));
            if o.is_ne() {
                return o;
            }
            x = &x[nx..];
            y = &y[ny..];
        } else {
            if x[0] != y[0] {
                return x[0].cmp(&y[0]);
            }
            x = &x[1..];
            y = &y[1..];
        }
    }
    x.len().cmp(&y.len())
}

fn date_function(name: &str, ts: i64, arg: Option<&Vector>) -> Vector {
    let f = |secs: f64| -> f64 {
        let Some(t) = DateTime::from_timestamp(secs.floor() as i64, 0) else {
            return f64::NAN;
        };
        match name {
            "days_in_month" => {
                let (y, m) = (t.year(), t.month());
                let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let first = chrono::NaiveDate::from_ymd_opt(y, m, 1);
                let first_next = chrono::NaiveDate::from_ymd_opt(next.0, next.1, 1);
                match (first, first_next) {
                    (Some(a), Some(b)) => (b - a).num_days() as f64,
                    _ => f64::NAN,
                }
            }
            "day_of_month" => t.day() as f64,
            "day_of_week" => t.weekday().num_days_from_sunday() as f64,
            "day_of_year" => t.ordinal() as f64,
            "hour" => t.hour() as f64,
            "minute" => t.minute() as f64,
            "month" => t.month() as f64,
            _ => t.year() as f64,
        }
    };
    match arg {
        None => vec![one(Labels::empty(), f(ts as f64 / 1000.0))],
        Some(v) => v
            .iter()
            .filter(|s| !s.f.is_nan())
            .map(|s| VSample {
                labels: s.labels.clone(),
                f: f(s.f),
                drop_name: true,
                idx: s.idx,
            })
            .collect(),
    }
}

/// Labels of `absent()`'s output: the equality matchers of a plain selector argument.
pub(crate) fn absent_labels(e: &Expr) -> Labels {
    let vs = match e {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut removed: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        let has = pairs.iter().any(|(n, _)| *n == m.name);
        if matches!(m.op, promql_parser::label::MatchOp::Equal)
            && !has
            && !removed.contains(&m.name.as_str())
        {
            pairs.push((m.name.clone(), m.value.clone()));
        } else {
            pairs.retain(|(n, _)| *n != m.name);
            removed.push(&m.name);
        }
    }
    Labels::new(pairs)
}

/// A call of a range function, prepared once: its argument, scalar parameters per step and
/// the steps it is evaluated at.
pub(crate) struct RangeCall<'e> {
    func: RangeFn,
    arg: &'e Expr,
    params: Vec<Vec<f64>>,
    steps: Vec<i64>,
}

impl<'e> RangeCall<'e> {
    pub(crate) fn new(ev: &Ev, name: &str, args: &[&'e Expr]) -> Result<Self> {
        let Some(func) = RangeFn::from_name(name) else {
            return Err(Error::BadData(format!("unknown range function {name}")));
        };
        let pos = args
            .iter()
            .position(|a| a.value_type() == promql_parser::parser::value::ValueType::Matrix)
            .unwrap_or(0);
        let mut params: Vec<Vec<f64>> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i != pos {
                params.push(crate::aggregate::scalar_per_step(ev, a)?);
            }
        }
        Ok(RangeCall {
            func,
            arg: args[pos],
            params,
            steps: ev.steps.iter().collect(),
        })
    }

    /// Evaluates the call series by series, handing each output series that has points to
    /// `sink` in input order. A selector argument is streamed from the source, so its samples
    /// are walked while still in cache and never all held at once.
    pub(crate) fn each(
        &self,
        ev: &Ev,
        sink: &mut dyn FnMut(SeriesPts) -> Result<()>,
    ) -> Result<()> {
        let mut walker = Walker {
            call: self,
            ev,
            scratch: WindowScratch::default(),
            total: 0,
        };
        match unparen(self.arg) {
            Expr::MatrixSelector(ms) => {
                let vs: &VectorSelector = &ms.vs;
                let refs = ev.ref_times(&vs.at, &vs.offset);
                let range_ms = duration_ms(&ms.range);
                let (Some(&lo), Some(&hi)) = (refs.iter().min(), refs.iter().max()) else {
                    return Ok(());
                };
                let mut live = Vec::new();
                ev.select_each(vs, lo - range_ms + 1, hi, &mut |labels, samples| {
                    let samples = if samples.iter().any(|p| is_stale(p.1)) {
                        live.clear();
                        live.extend(samples.iter().filter(|p| !is_stale(p.1)));
                        &live[..]
                    } else {
                        samples
                    };
                    walker.series(labels, false, samples, &refs, range_ms, sink)
                })
            }
            Expr::Subquery(sq) => {
                let (series, refs) = ev.subquery(sq)?;
                let range_ms = duration_ms(&sq.range);
                for s in &series {
                    walker.series(&s.labels, s.drop_name, &s.pts, &refs, range_ms, sink)?;
                }
                Ok(())
            }
            _ => Err(Error::BadData("expected a range vector argument".into())),
        }
    }
}

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        other => other,
    }
}

/// Applies a [`RangeCall`] to one input series after another.
struct Walker<'a, 'e> {
    call: &'a RangeCall<'e>,
    ev: &'a Ev<'a>,
    scratch: WindowScratch,
    total: usize,
}

impl Walker<'_, '_> {
    fn series(
        &mut self,
        labels: &Labels,
        drop_name: bool,
        samples: &[(i64, f64)],
        refs: &[i64],
        range_ms: i64,
        sink: &mut dyn FnMut(SeriesPts) -> Result<()>,
    ) -> Result<()> {
        let func = self.call.func;
        let pts = windows_of(
            self.ev.ctx,
            func,
            samples,
            self.call,
            refs,
            range_ms,
            &mut self.scratch,
        )?;
        self.total += pts.len();
        if self.total > self.ev.ctx.max_samples {
            return Err(Error::TooManySamples(
                "query processing would load too many samples into memory in query execution"
                    .into(),
            ));
        }
        if pts.is_empty() {
            return Ok(());
        }
        if let Some(n) = labels.metric_name().filter(|_| func.is_counter())
            && !["_total", "_sum", "_count", "_bucket"]
                .iter()
                .any(|x| n.ends_with(x))
        {
            self.ev.ctx.info(format!(
                "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {n:?}"
            ));
        }
        let keep_name = matches!(func, RangeFn::LastOverTime | RangeFn::FirstOverTime);
        sink(SeriesPts {
            labels: labels.clone(),
            pts,
            drop_name: !keep_name || drop_name,
        })
    }
}

fn eval_range_call(ev: &Ev, name: &str, args: &[&Expr]) -> Result<Matrix> {
    let call = RangeCall::new(ev, name, args)?;
    let mut out = Vec::new();
    call.each(ev, &mut |s| {
        out.push(s);
        Ok(())
    })?;
    if call.func == RangeFn::AbsentOverTime {
        return Ok(absent_over_time(ev, &out, call.arg));
    }
    Ok(out)
}

/// How many windows can hold a sample: those ending at or after the first sample and starting
/// before the last (window ends ascend; unsorted ends only make this a worse capacity hint).
fn window_count_bound(samples: &[(i64, f64)], refs: &[i64], range_ms: i64) -> usize {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return 0;
    };
    let a = refs.partition_point(|&r| r < first.0);
    let b = refs.partition_point(|&r| r - range_ms < last.0);
    b.saturating_sub(a)
}

/// Buffers reused from one series to the next.
#[derive(Default)]
struct WindowScratch {
    /// `drops[i]`: how many of the first `i + 1` samples are below their predecessor.
    drops: Vec<u32>,
    params: Vec<f64>,
}

/// Applies `func` to each step's window of one series; a prefix count of counter drops lets
/// `rate`/`increase` skip the per-window reset scan when the window has none.
fn windows_of(
    ctx: &Ctx,
    func: RangeFn,
    samples: &[(i64, f64)],
    call: &RangeCall,
    refs: &[i64],
    range_ms: i64,
    scratch: &mut WindowScratch,
) -> Result<Vec<(i64, f64)>> {
    let (steps, params) = (&call.steps, &call.params);
    let mut pts = Vec::with_capacity(window_count_bound(samples, refs, range_ms));
    if func.is_counter() {
        scratch.drops.clear();
        let mut n = 0u32;
        scratch.drops.push(0);
        for x in samples.windows(2) {
            n += u32::from(x[1].1 < x[0].1);
            scratch.drops.push(n);
        }
        // `rate`/`increase` call the rate directly: this loop is a long query's hot path.
        let drops = &scratch.drops;
        let is_rate = func == RangeFn::Rate;
        let mut memo = Extrapolation::default();
        slide(samples, steps, refs, range_ms, |_, lo, hi, w| {
            w.no_resets = drops[hi - 1] == drops[lo];
            if let Some(f) = extrapolated_rate(w, true, is_rate, &mut memo) {
                pts.push((w.ts, f));
            }
            Ok(())
        })?;
        return Ok(pts);
    }
    scratch.params.resize(params.len(), 0.0);
    let args = &mut scratch.params;
    slide(samples, steps, refs, range_ms, |k, _, _, w| {
        for (j, p) in params.iter().enumerate() {
            args[j] = p[k];
        }
        if func == RangeFn::QuantileOverTime {
            crate::histogram::warn_bad_quantile(ctx, args[0]);
        }
        if let Some(f) = apply(func, w, args)? {
            pts.push((w.ts, f));
        }
        Ok(())
    })?;
    Ok(pts)
}

/// Calls `f(step index, lo, hi, window)` for each step whose window `(r - range, r]` holds
/// samples `lo..hi`. Window ends never move backwards (steps ascend, and `@`/offset shift
/// them all alike), so the bounds slide forward with two indices instead of a search per step.
fn slide(
    samples: &[(i64, f64)],
    steps: &[i64],
    refs: &[i64],
    range_ms: i64,
    mut f: impl FnMut(usize, usize, usize, &mut Window) -> Result<()>,
) -> Result<()> {
    let (mut lo, mut hi, mut prev_r) = (0usize, 0usize, i64::MIN);
    for (k, (&ts, &r)) in steps.iter().zip(refs).enumerate() {
        if r < prev_r {
            (lo, hi) = (0, 0);
        }
        prev_r = r;
        let start = r - range_ms;
        while lo < samples.len() && samples[lo].0 <= start {
            lo += 1;
        }
        hi = hi.max(lo);
        while hi < samples.len() && samples[hi].0 <= r {
            hi += 1;
        }
        if lo >= hi {
            continue;
        }
        let mut w = Window {
            pts: &samples[lo..hi],
            ts,
            start,
            end: r,
            range_ms,
            no_resets: false,
        };
        f(k, lo, hi, &mut w)?;
    }
    Ok(())
}

fn absent_over_time(ev: &Ev, present: &Matrix, arg: &Expr) -> Matrix {
    let mut found = std::collections::HashSet::new();
    for s in present {
        found.extend(s.pts.iter().map(|p| p.0));
    }
    let pts: Vec<(i64, f64)> = ev
        .steps
        .iter()
        .filter(|t| !found.contains(t))
        .map(|t| (t, 1.0))
        .collect();
    if pts.is_empty() {
        return Vec::new();
    }
    vec![SeriesPts {
        labels: absent_labels(arg),
        pts,
        drop_name: true,
    }]
}
