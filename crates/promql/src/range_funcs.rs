//! Functions over range vectors (`rate`, `*_over_time`, `deriv`, ...), applied to one series'
//! samples inside one window.

use crate::aggregate::{kahan_inc, quantile};
use crate::error::{Error, Result};
use crate::rate::{Extrapolation, extrapolated_rate};

/// The samples of one series in one window `(start, end]`.
pub(crate) struct Window<'a> {
    pub pts: &'a [(i64, f64)],
    /// The evaluation time of the step.
    pub ts: i64,
    pub start: i64,
    pub end: i64,
    pub range_ms: i64,
    /// The caller knows no value in `pts` drops below its predecessor, so counter functions
    /// can skip their reset scan (which is what makes a long range query linear in samples).
    pub no_resets: bool,
}

/// A function over range vectors, resolved from its name once per call rather than per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    Resets,
    Changes,
    AvgOverTime,
    SumOverTime,
    CountOverTime,
    MinOverTime,
    MaxOverTime,
    LastOverTime,
    FirstOverTime,
    PresentOverTime,
    QuantileOverTime,
    StddevOverTime,
    StdvarOverTime,
    MadOverTime,
    TsOfMaxOverTime,
    TsOfMinOverTime,
    TsOfFirstOverTime,
    TsOfLastOverTime,
    DoubleExponentialSmoothing,
    AbsentOverTime,
}

impl RangeFn {
    /// The function called `name`, if it takes a range vector.
    pub(crate) fn from_name(name: &str) -> Option<RangeFn> {
        use RangeFn::*;
        Some(match name {
            "rate" => Rate,
            "increase" => Increase,
            "delta" => Delta,
            "irate" => Irate,
            "idelta" => Idelta,
            "deriv" => Deriv,
            "predict_linear" => PredictLinear,
            "resets" => Resets,
            "changes" => Changes,
            "avg_over_time" => AvgOverTime,
            "sum_over_time" => SumOverTime,
            "count_over_time" => CountOverTime,
            "min_over_time" => MinOverTime,
            "max_over_time" => MaxOverTime,
            "last_over_time" => LastOverTime,
            "first_over_time" => FirstOverTime,
            "present_over_time" => PresentOverTime,
            "quantile_over_time" => QuantileOverTime,
            "stddev_over_time" => StddevOverTime,
            "stdvar_over_time" => StdvarOverTime,
            "mad_over_time" => MadOverTime,
            "ts_of_max_over_time" => TsOfMaxOverTime,
            "ts_of_min_over_time" => TsOfMinOverTime,
            "ts_of_first_over_time" => TsOfFirstOverTime,
            "ts_of_last_over_time" => TsOfLastOverTime,
            "double_exponential_smoothing" => DoubleExponentialSmoothing,
            "absent_over_time" => AbsentOverTime,
            _ => return None,
        })
    }

    /// Whether the function treats its input as a counter (and so scans for resets).
    pub(crate) fn is_counter(self) -> bool {
        matches!(self, RangeFn::Rate | RangeFn::Increase)
    }
}

/// Whether `name` takes a range vector.
pub(crate) fn is_range_function(name: &str) -> bool {
    RangeFn::from_name(name).is_some()
}

/// Applies range function `f`; `params` are its scalar arguments at this step.
pub(crate) fn apply(f: RangeFn, w: &Window, params: &[f64]) -> Result<Option<f64>> {
    use RangeFn::*;
    let pts = w.pts;
    let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
        return Ok(None);
    };
    let p = |i: usize| params.get(i).copied().unwrap_or(f64::NAN);
    let v = match f {
        Rate => {
            return Ok(extrapolated_rate(
                w,
                true,
                true,
                &mut Extrapolation::default(),
            ));
        }
        Increase => {
            return Ok(extrapolated_rate(
                w,
                true,
                false,
                &mut Extrapolation::default(),
            ));
        }
        Delta => {
            return Ok(extrapolated_rate(
                w,
                false,
                false,
                &mut Extrapolation::default(),
            ));
        }
        Irate => return Ok(instant_value(pts, true)),
        Idelta => return Ok(instant_value(pts, false)),
        Deriv | PredictLinear if pts.len() < 2 => return Ok(None),
        Deriv => linear_regression(pts, first.0).0,
        PredictLinear => {
            let (slope, intercept) = linear_regression(pts, w.ts);
            slope * p(0) + intercept
        }
        Resets => pts.windows(2).filter(|x| x[1].1 < x[0].1).count() as f64,
        Changes => pts
            .windows(2)
            .filter(|x| x[1].1 != x[0].1 && !(x[1].1.is_nan() && x[0].1.is_nan()))
            .count() as f64,
        AvgOverTime => avg(pts),
        SumOverTime => {
            let (s, c) = pts
                .iter()
                .fold((0.0, 0.0), |(s, c), x| kahan_inc(x.1, s, c));
            s + c
        }
        CountOverTime => pts.len() as f64,
        MinOverTime => compare(pts, |cur, m| cur < m || m.is_nan()).1,
        MaxOverTime => compare(pts, |cur, m| cur > m || m.is_nan()).1,
        TsOfMinOverTime => compare(pts, |cur, m| cur <= m || m.is_nan()).0 as f64 / 1000.0,
        TsOfMaxOverTime => compare(pts, |cur, m| cur >= m || m.is_nan()).0 as f64 / 1000.0,
        LastOverTime => last.1,
        FirstOverTime => first.1,
        TsOfLastOverTime => last.0 as f64 / 1000.0,
        TsOfFirstOverTime => first.0 as f64 / 1000.0,
        PresentOverTime | AbsentOverTime => 1.0,
        QuantileOverTime => quantile(p(0), &mut pts.iter().map(|x| x.1).collect::<Vec<_>>()),
        StdvarOverTime => variance(pts),
        StddevOverTime => variance(pts).sqrt(),
        MadOverTime => mad(pts),
        DoubleExponentialSmoothing => return double_exp_smoothing(pts, p(0), p(1)),
    };
    Ok(Some(v))
}

fn mad(pts: &[(i64, f64)]) -> f64 {
    if pts.iter().any(|x| x.1.is_nan()) {
        return f64::NAN;
    }
    let mut vals: Vec<f64> = pts.iter().map(|x| x.1).collect();
    let median = quantile(0.5, &mut vals);
    let mut dev: Vec<f64> = vals.iter().map(|v| (v - median).abs()).collect();
    quantile(0.5, &mut dev)
}

fn compare(pts: &[(i64, f64)], better: impl Fn(f64, f64) -> bool) -> (i64, f64) {
    let mut best = pts[0];
    for &x in pts {
        if better(x.1, best.1) {
            best = x;
        }
    }
    best
}

fn avg(pts: &[(i64, f64)]) -> f64 {
    let mut sum = pts[0].1;
    if pts.len() == 1 {
        return sum;
    }
    let (mut c, mut mean, mut incremental) = (0.0, 0.0, false);
    for (i, x) in pts.iter().enumerate().skip(1) {
        let count = (i + 1) as f64;
        if !incremental {
            let (ns, nc) = kahan_inc(x.1, sum, c);
            if !ns.is_infinite() {
                (sum, c) = (ns, nc);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(x.1 / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        let n = pts.len() as f64;
        sum / n + c / n
    }
}

fn variance(pts: &[(i64, f64)]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for x in pts {
        count += 1.0;
        let delta = x.1 - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (x.1 - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

fn instant_value(pts: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let (a, b) = (pts[pts.len() - 2], pts[pts.len() - 1]);
    let interval = b.0 - a.0;
    if interval == 0 {
        return None;
    }
    // Only a drop is a counter reset (a NaN neighbour gives NaN, as in Prometheus).
    let mut f = b.1 - a.1;
    if is_rate && b.1 < a.1 {
        f = b.1;
    }
    if is_rate {
        f /= interval as f64 / 1000.0;
    }
    Some(f)
}

/// Least-squares fit with x in seconds relative to `intercept_t`: `(slope, intercept)`.
fn linear_regression(pts: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init_y = pts[0].1;
    let mut const_y = true;
    for (i, &(t, f)) in pts.iter().enumerate() {
        if const_y && i > 0 && f != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(f, sy, cy);
        (sxy, cxy) = kahan_inc(x * f, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn double_exp_smoothing(pts: &[(i64, f64)], sf: f64, tf: f64) -> Result<Option<f64>> {
    if sf <= 0.0 || sf >= 1.0 || sf.is_nan() {
        return Err(Error::exec(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
        )));
    }
    if tf <= 0.0 || tf >= 1.0 || tf.is_nan() {
        return Err(Error::exec(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
        )));
    }
    if pts.len() < 2 {
        return Ok(None);
    }
    let (mut s0, mut s1) = (0.0, pts[0].1);
    let mut b = pts[1].1 - pts[0].1;
    for (i, x) in pts.iter().enumerate().skip(1) {
        let xx = sf * x.1;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, xx + y);
    }
    Ok(Some(s1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_of_steady_counter() -> Result<()> {
        let pts: Vec<(i64, f64)> = (1..=5).map(|i| (i * 60_000, i as f64 * 60.0)).collect();
        let w = Window {
            pts: &pts,
            ts: 300_000,
            start: 0,
            end: 300_000,
            range_ms: 300_000,
            no_resets: false,
        };
        let r = apply(RangeFn::Rate, &w, &[])?.expect("two or more samples give a rate");
        assert!((r - 1.0).abs() < 1e-9, "{r}");
        Ok(())
    }

    #[test]
    fn irate_handles_reset() {
        assert_eq!(instant_value(&[(0, 10.0), (1000, 2.0)], true), Some(2.0));
    }
}
