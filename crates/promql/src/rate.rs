//! Prometheus's `extrapolatedRate` (`rate`, `increase`, `delta` over float samples), computed
//! in milliseconds with the part that depends only on sample times remembered from one window
//! to the next: a 24 h range query is millions of windows, and regular scrapes give them all
//! the same shape.

use crate::range_funcs::Window;

/// The time-only part of one window shape (gaps to the window's edges, sampled interval,
/// sample count), remembered by the caller across the windows of one series.
#[derive(Debug, Default)]
pub(crate) struct Extrapolation {
    /// `(first - start, end - last, last - first, samples - 1, range)` in ms and whether
    /// the factor is a rate's, if computed.
    key: Option<(i64, i64, i64, usize, i64, bool)>,
    to_start: f64,
    to_end: f64,
    sampled: f64,
    /// The extrapolation factor, divided by the range in seconds for `rate`.
    factor: f64,
}

impl Extrapolation {
    /// Prometheus's extrapolation factor for `to_start`/`to_end`/`sampled` in ms. The seconds
    /// conversions cancel in the ratio, so this is one division where Prometheus's takes five
    /// (results agree to ~1e-15 relative).
    fn factor(to_start: f64, to_end: f64, sampled: f64, range_ms: i64, is_rate: bool) -> f64 {
        let (num, den) = match (sampled != 0.0, is_rate) {
            (true, true) => (
                (sampled + to_start + to_end) * 1000.0,
                sampled * range_ms as f64,
            ),
            (true, false) => (sampled + to_start + to_end, sampled),
            (false, true) => (1000.0, range_ms as f64),
            (false, false) => (1.0, 1.0),
        };
        num / den
    }

    /// Brings the remembered shape up to date for a window of `n1 + 1` samples from
    /// `first_t` to `last_t`.
    fn update(&mut self, w: &Window, first_t: i64, last_t: i64, n1: usize, is_rate: bool) {
        let key = (
            first_t - w.start,
            w.end - last_t,
            last_t - first_t,
            n1,
            w.range_ms,
            is_rate,
        );
        if self.key == Some(key) {
            return;
        }
        let sampled = (last_t - first_t) as f64;
        let avg_between = sampled / n1 as f64;
        let threshold = avg_between * 1.1;
        let mut to_start = key.0 as f64;
        if to_start >= threshold {
            to_start = avg_between / 2.0;
        }
        let mut to_end = key.1 as f64;
        if to_end >= threshold {
            to_end = avg_between / 2.0;
        }
        let factor = Self::factor(to_start, to_end, sampled, w.range_ms, is_rate);
        *self = Extrapolation {
            key: Some(key),
            to_start,
            to_end,
            sampled,
            factor,
        };
    }
}

/// Prometheus's `extrapolatedRate` for float samples; `memo` carries the window shape from
/// the previous call (one `Extrapolation` per series, or a fresh one).
pub(crate) fn extrapolated_rate(
    w: &Window,
    is_counter: bool,
    is_rate: bool,
    memo: &mut Extrapolation,
) -> Option<f64> {
    let pts = w.pts;
    if pts.len() < 2 {
        return None;
    }
    let n1 = pts.len() - 1;
    let (first, last) = (pts[0], pts[n1]);
    let mut result = last.1 - first.1;
    if is_counter && !w.no_resets {
        for x in pts.windows(2) {
            if x[1].1 < x[0].1 {
                result += x[0].1;
            }
        }
    }
    memo.update(w, first.0, last.0, n1, is_rate);
    // A counter is not extrapolated below zero: Prometheus's `to_zero = sampled * (first /
    // result)`, taken when shorter than the gap to the window start.
    let m = &*memo;
    if is_counter && result > 0.0 && first.1 >= 0.0 && m.sampled * first.1 < m.to_start * result {
        let to_zero = m.sampled * (first.1 / result);
        let factor = Extrapolation::factor(to_zero, m.to_end, m.sampled, w.range_ms, is_rate);
        return Some(result * factor);
    }
    Some(result * m.factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Prometheus's `extrapolatedRate` as written in Go (seconds, seven divisions).
    fn reference(w: &Window, is_counter: bool, is_rate: bool) -> Option<f64> {
        let pts = w.pts;
        if pts.len() < 2 {
            return None;
        }
        let n1 = pts.len() - 1;
        let mut result = pts[n1].1 - pts[0].1;
        if is_counter {
            for x in pts.windows(2) {
                if x[1].1 < x[0].1 {
                    result += x[0].1;
                }
            }
        }
        let mut to_start = (pts[0].0 - w.start) as f64 / 1000.0;
        let mut to_end = (w.end - pts[n1].0) as f64 / 1000.0;
        let sampled = (pts[n1].0 - pts[0].0) as f64 / 1000.0;
        let avg = sampled / n1 as f64;
        if to_start >= avg * 1.1 {
            to_start = avg / 2.0;
        }
        if is_counter && result > 0.0 && pts[0].1 >= 0.0 {
            to_start = to_start.min(sampled * (pts[0].1 / result));
        }
        if to_end >= avg * 1.1 {
            to_end = avg / 2.0;
        }
        let mut factor = if sampled != 0.0 {
            (sampled + to_start + to_end) / sampled
        } else {
            1.0
        };
        if is_rate {
            factor /= w.range_ms as f64 / 1000.0;
        }
        Some(result * factor)
    }

    fn close(a: f64, b: f64) -> bool {
        a == b || (a - b).abs() <= 1e-12 * (a.abs() + b.abs())
    }

    proptest! {
        /// The same windows through one memo (as a series' windows go) give Prometheus's
        /// results, whether or not the shape repeats.
        #[test]
        fn matches_prometheus_formula(
            gaps in proptest::collection::vec((1i64..40_000, 0.0f64..1e6), 2..60),
            starts in proptest::collection::vec(0i64..30_000, 1..8),
            range_ms in 10_000i64..600_000,
        ) {
            let mut pts = Vec::new();
            let mut t = 1_000_000;
            for (dt, v) in gaps {
                t += dt;
                pts.push((t, v));
            }
            let mut memo = Extrapolation::default();
            for lead in starts {
                let end = pts[pts.len() - 1].0 + lead;
                let start = pts[0].0 - 1 - lead;
                for (is_counter, is_rate) in [(true, true), (true, false), (false, false)] {
                    let w = Window { pts: &pts, ts: end, start, end, range_ms, no_resets: false };
                    let got = extrapolated_rate(&w, is_counter, is_rate, &mut memo);
                    let want = reference(&w, is_counter, is_rate);
                    prop_assert!(
                        matches!((got, want), (Some(a), Some(b)) if close(a, b)),
                        "{got:?} vs {want:?}"
                    );
                }
            }
        }
    }
}
