//! Exact counter arithmetic over the span metrics' cumulative samples: what a counter gained in a
//! window (no extrapolation, so counts stay whole numbers), and a quantile of a histogram's
//! bucket gains the way `histogram_quantile` interpolates.
//!
//! ```text
//!   value ▲        reset
//!         │   ●──●  │ ●──●        gain in (from, to] = (b1 - base) + (b2 - b1) + c1 + (c2 - c1)
//!         │ ●       ●             base = last sample at or before `from`, else 0 (the series
//!         └─┼──────────────┼─▶    was born, or the server restarted, inside the window)
//!          from            to
//! ```

/// Calls `gain(t, delta)` for each positive step of a cumulative counter inside `(from, to]`.
/// `samples` are ascending by time and may start before `from` (the baseline). A drop is a
/// counter reset: the new value counts in full, as in Prometheus's `increase`.
pub(super) fn gains(samples: &[(i64, f64)], from: i64, to: i64, mut gain: impl FnMut(i64, f64)) {
    let mut prev = 0.0;
    for &(t, v) in samples {
        if v.is_nan() || t > to {
            continue;
        }
        if t <= from {
            prev = v;
            continue;
        }
        let delta = if v >= prev { v - prev } else { v };
        if delta > 0.0 {
            gain(t, delta);
        }
        prev = v;
    }
}

/// The whole gain of a counter in `(from, to]`.
pub(super) fn gain(samples: &[(i64, f64)], from: i64, to: i64) -> f64 {
    let mut total = 0.0;
    gains(samples, from, to, |_, d| total += d);
    total
}

/// The `q` quantile of a histogram given as `(upper bound, cumulative count)` per bucket, the
/// last bound `+Inf`; `None` without observations. Interpolates linearly inside the bucket
/// that holds the rank, like Prometheus's `histogram_quantile`.
pub(super) fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let mut b: Vec<(f64, f64)> = buckets.to_vec();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Cumulative counts never fall with the bound, whatever rounding did to the sums.
    let mut max = 0.0f64;
    for e in &mut b {
        max = max.max(e.1);
        e.1 = max;
    }
    let &(last_bound, count) = b.last()?;
    if last_bound != f64::INFINITY || count <= 0.0 || b.len() < 2 {
        return None;
    }
    let rank = q * count;
    let i = b.iter().position(|e| e.1 >= rank)?;
    if i == b.len() - 1 {
        return Some(b[b.len() - 2].0);
    }
    let (lower, below) = if i == 0 { (0.0, 0.0) } else { b[i - 1] };
    let (upper, at) = b[i];
    if i == 0 && upper <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * ((rank - below) / (at - below)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_born_in_the_window_counts_from_zero() {
        assert_eq!(gain(&[(10, 5.0), (20, 7.0)], 0, 30), 7.0);
    }

    #[test]
    fn the_last_sample_before_the_window_is_the_baseline() {
        let s = [(5, 100.0), (10, 103.0), (20, 110.0), (40, 150.0)];
        assert_eq!(gain(&s, 10, 30), 7.0);
        assert_eq!(gain(&s, 6, 40), 50.0);
        assert_eq!(gain(&s, 40, 50), 0.0);
    }

    #[test]
    fn a_reset_counts_the_new_value_in_full() {
        let s = [(0, 100.0), (10, 120.0), (20, 4.0), (30, 9.0)];
        assert_eq!(gain(&s, 0, 30), 20.0 + 4.0 + 5.0);
    }

    #[test]
    fn gains_land_at_the_sample_that_shows_them_and_skip_stale_markers() {
        let s = [(0, 1.0), (10, 3.0), (15, f64::NAN), (20, 3.0), (30, 6.0)];
        let mut seen = Vec::new();
        gains(&s, 0, 30, |t, d| seen.push((t, d)));
        assert_eq!(seen, vec![(10, 2.0), (30, 3.0)]);
    }

    #[test]
    fn quantiles_interpolate_inside_the_bucket_holding_the_rank() {
        let b = [(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)];
        assert_eq!(quantile(0.5, &b), Some(1.0));
        assert_eq!(quantile(0.75, &b), Some(1.5));
        assert_eq!(quantile(0.25, &b), Some(0.5));
    }

    #[test]
    fn a_rank_in_the_inf_bucket_answers_the_highest_finite_bound() {
        let b = [(f64::INFINITY, 4.0), (1.0, 1.0), (2.0, 2.0)];
        assert_eq!(quantile(0.95, &b), Some(2.0));
    }

    #[test]
    fn no_observations_no_quantile() {
        assert_eq!(quantile(0.95, &[(1.0, 0.0), (f64::INFINITY, 0.0)]), None);
        assert_eq!(quantile(0.95, &[]), None);
    }
}
