//! `histogram_quantile` and `histogram_fraction` over classic `_bucket` series with `le` labels.

use std::collections::HashMap;

use crate::eval::{Ctx, VSample, Vector};
use crate::labels::Labels;

/// One cumulative bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

/// Groups a vector of bucket samples into histograms (labels without `le`).
pub(crate) fn group_buckets(ctx: &Ctx, v: &Vector) -> Vec<(Labels, Vec<Bucket>)> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<(Labels, Vec<Bucket>)> = Vec::new();
    for s in v {
        let le = s.labels.get("le").unwrap_or("");
        let Some(upper) = parse_le(le) else {
            let name = s.labels.metric_name().unwrap_or("");
            ctx.warn(format!("PromQL warning: bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {name:?}"));
            continue;
        };
        let key = s.labels.filter(|n| n != "le");
        let i = *index.entry(key.clone()).or_insert_with(|| {
            out.push((key, Vec::new()));
            out.len() - 1
        });
        out[i].1.push(Bucket { upper, count: s.f });
    }
    out
}

fn parse_le(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "+inf" | "inf" | "+infinity" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.parse::<f64>().ok(),
    }
}

/// `histogram_quantile(q, buckets)` for each classic histogram in `v`.
pub(crate) fn quantile_vector(ctx: &Ctx, q: f64, v: &Vector, ts: i64) -> Vector {
    warn_bad_quantile(ctx, q);
    let mut out = Vec::new();
    for (labels, mut buckets) in group_buckets(ctx, v) {
        if buckets.is_empty() {
            continue;
        }
        let (f, forced) = bucket_quantile(q, &mut buckets);
        if forced {
            let name = labels.metric_name().unwrap_or("");
            ctx.info(format!(
                "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {name:?} at {ts}"
            ));
        }
        out.push(VSample {
            labels,
            f,
            drop_name: true,
            idx: 0,
        });
    }
    out
}

/// `histogram_quantiles(buckets, label, q...)`: `histogram_quantile` for each `q`, told apart
/// by `label` set to the quantile (`0.0`, `0.25`, `1.0`: integers keep one decimal).
pub(crate) fn quantiles_vector(ctx: &Ctx, label: &str, qs: &[f64], v: &Vector, ts: i64) -> Vector {
    let mut out = Vec::new();
    for &q in qs {
        let value = if q.is_finite() && q.fract() == 0.0 {
            format!("{q:.1}")
        } else {
            crate::aggregate::fmt_go(q)
        };
        out.extend(quantile_vector(ctx, q, v, ts).into_iter().map(|s| VSample {
            labels: s.labels.with(label, &value),
            ..s
        }));
    }
    out
}

/// Prometheus's warning for a quantile outside `[0, 1]` (NaN included), given at every step
/// whether or not there is input.
pub(crate) fn warn_bad_quantile(ctx: &Ctx, q: f64) {
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        ctx.warn(format!(
            "PromQL warning: quantile value should be between 0 and 1, got {}",
            crate::aggregate::fmt_go(q)
        ));
    }
}

/// `histogram_fraction(lower, upper, buckets)` for each classic histogram in `v`.
pub(crate) fn fraction_vector(ctx: &Ctx, lower: f64, upper: f64, v: &Vector) -> Vector {
    group_buckets(ctx, v)
        .into_iter()
        .filter(|(_, b)| !b.is_empty())
        .map(|(labels, mut b)| VSample {
            labels,
            f: bucket_fraction(lower, upper, &mut b),
            drop_name: true,
            idx: 0,
        })
        .collect()
}

fn sort_and_coalesce(buckets: &mut Vec<Bucket>) {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match out.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => out.push(*b),
        }
    }
    *buckets = out;
}

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a == b {
        return true;
    }
    let min_normal = f64::from_bits(0x0010_0000_0000_0000);
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < eps * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// Makes counts monotonic; returns whether a decrease had to be fixed.
fn ensure_monotonic(buckets: &mut [Bucket]) -> bool {
    let mut forced = false;
    let Some(first) = buckets.first() else {
        return false;
    };
    let mut prev = first.count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    forced
}

/// Prometheus's `BucketQuantile`; returns the quantile and whether monotonicity was forced.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    sort_and_coalesce(buckets);
    if buckets.last().is_none_or(|b| b.upper != f64::INFINITY) {
        return (f64::NAN, false);
    }
    let forced = ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let n = buckets.len();
    let observations = buckets[n - 1].count;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let b = buckets[..n - 1].partition_point(|x| x.count < rank);
    let v = if b == n - 1 {
        buckets[n - 2].upper
    } else if b == 0 && buckets[0].upper <= 0.0 {
        buckets[0].upper
    } else {
        let mut start = 0.0;
        let end = buckets[b].upper;
        let mut count = buckets[b].count;
        if b > 0 {
            start = buckets[b - 1].upper;
            count -= buckets[b - 1].count;
            rank -= buckets[b - 1].count;
        }
        start + (end - start) * (rank / count)
    };
    (v, forced)
}

/// Prometheus's `BucketFraction`.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    sort_and_coalesce(buckets);
    let Some(last) = buckets.last() else {
        return f64::NAN;
    };
    if last.upper != f64::INFINITY {
        return f64::NAN;
    }
    let count = last.count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if buckets[0].upper <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (i, b) in buckets.iter().enumerate() {
        if i > 0 {
            lower_bound = buckets[i - 1].upper;
        }
        let upper_bound = b.upper;
        let interp = |v: f64| {
            if lower_bound == f64::NEG_INFINITY {
                b.count
            } else {
                rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
            }
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interp(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interp(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_interpolates_within_bucket() {
        let mut b = vec![
            Bucket {
                upper: 1.0,
                count: 0.0,
            },
            Bucket {
                upper: 2.0,
                count: 10.0,
            },
            Bucket {
                upper: f64::INFINITY,
                count: 10.0,
            },
        ];
        let (q, forced) = bucket_quantile(0.5, &mut b);
        assert!((q - 1.5).abs() < 1e-12);
        assert!(!forced);
    }

    #[test]
    fn missing_inf_bucket_gives_nan() {
        let mut b = vec![Bucket {
            upper: 1.0,
            count: 3.0,
        }];
        assert!(bucket_quantile(0.5, &mut b).0.is_nan());
    }
}
