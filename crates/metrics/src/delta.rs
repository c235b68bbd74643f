//! Delta temporality turned into cumulative: a running total per series, kept between
//! requests, as the collector's `deltatocumulative` processor does.

use std::collections::HashMap;

use sextant_promql::Labels;

/// Why a delta point could not be accumulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaError {
    /// The state is at its series limit and this series is new.
    Full,
    /// The point ends before the last one accumulated for its series.
    OutOfOrder,
}

#[derive(Debug, Clone)]
struct Running {
    /// Running totals (one value for sums; buckets then sum and count for histograms).
    values: Vec<f64>,
    /// Bucket bounds the totals belong to; a change restarts the series.
    bounds: Vec<f64>,
    last_t: i64,
}

/// Running totals of delta series, keyed by the series' labels.
#[derive(Debug, Clone)]
pub struct DeltaState {
    series: HashMap<Labels, Running, ahash::RandomState>,
    max_series: usize,
}

impl Default for DeltaState {
    fn default() -> Self {
        DeltaState::new(100_000)
    }
}

impl DeltaState {
    /// An empty state that tracks at most `max_series` delta series.
    pub fn new(max_series: usize) -> Self {
        DeltaState {
            series: HashMap::default(),
            max_series,
        }
    }

    /// Number of series tracked.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no series are tracked.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Adds `deltas` (same layout every time for a series) at `t_ms` to the running totals of
    /// `key` and returns the cumulative values. Different `bounds` restart the totals.
    pub fn accumulate(
        &mut self,
        key: &Labels,
        bounds: &[f64],
        t_ms: i64,
        deltas: &[f64],
    ) -> Result<&[f64], DeltaError> {
        if !self.series.contains_key(key) && self.series.len() >= self.max_series {
            return Err(DeltaError::Full);
        }
        let r = self.series.entry(key.clone()).or_insert_with(|| Running {
            values: vec![0.0; deltas.len()],
            bounds: bounds.to_vec(),
            last_t: i64::MIN,
        });
        if t_ms < r.last_t {
            return Err(DeltaError::OutOfOrder);
        }
        if r.bounds != bounds || r.values.len() != deltas.len() {
            r.values = vec![0.0; deltas.len()];
            r.bounds = bounds.to_vec();
        }
        for (acc, d) in r.values.iter_mut().zip(deltas) {
            *acc += d;
        }
        r.last_t = t_ms;
        Ok(&r.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_add_up_and_bounds_changes_restart() {
        let mut s = DeltaState::new(1);
        let k = Labels::from_pairs(&[("__name__", "x")]);
        assert_eq!(s.accumulate(&k, &[], 1, &[2.0]), Ok(&[2.0][..]));
        assert_eq!(s.accumulate(&k, &[], 2, &[3.0]), Ok(&[5.0][..]));
        assert_eq!(
            s.accumulate(&k, &[], 1, &[3.0]),
            Err(DeltaError::OutOfOrder)
        );
        assert_eq!(
            s.accumulate(&k, &[1.0], 3, &[1.0, 1.0]),
            Ok(&[1.0, 1.0][..])
        );
        let other = Labels::from_pairs(&[("__name__", "y")]);
        assert_eq!(s.accumulate(&other, &[], 1, &[1.0]), Err(DeltaError::Full));
    }
}
