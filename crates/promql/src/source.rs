//! The storage interface the engine reads from, and an in-memory implementation.

use std::collections::HashMap;

use crate::error::Result;
use crate::labels::{Labels, Matcher};

/// The bit pattern Prometheus uses for a staleness marker (a special NaN).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// A staleness marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is a staleness marker (not just any NaN).
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One series as the source returns it: labels and samples sorted by timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Label set including `__name__`.
    pub labels: Labels,
    /// `(timestamp ms, value)` pairs, ascending by timestamp, without duplicates.
    pub samples: Vec<(i64, f64)>,
}

/// What [`SeriesSource::for_each_series`] calls with each series: labels and samples.
pub type SeriesVisitor<'a> = dyn FnMut(&Labels, &[(i64, f64)]) -> Result<()> + 'a;

/// What the engine needs from storage (like Prometheus's `storage.Querier`).
pub trait SeriesSource: Send + Sync {
    /// Series whose labels satisfy all `matchers`, with their samples in `[start_ms, end_ms]`.
    /// Series without samples in the range may be omitted.
    fn select(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<Series>>;
    /// Hands the series `select` would return to `f` one at a time, in the same order: labels
    /// and samples in `[start_ms, end_ms]` (the slice lives for the call only). A source
    /// overrides this to decode each series into a reused buffer, so a range function walks
    /// samples still in cache instead of every series being held at once.
    fn for_each_series(
        &self,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
        f: &mut SeriesVisitor<'_>,
    ) -> Result<()> {
        for s in self.select(matchers, start_ms, end_ms)? {
            f(&s.labels, &s.samples)?;
        }
        Ok(())
    }
    /// Sorted, distinct label names of matching series (all series when `matchers` is empty).
    fn label_names(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<String>>;
    /// Sorted, distinct values of label `name` among matching series.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>>;
}

/// An in-memory [`SeriesSource`]: for tests and for small derived data sets.
#[derive(Debug, Default, Clone)]
pub struct MemSource {
    series: Vec<Series>,
    index: HashMap<Labels, usize>,
}

impl MemSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sample; a sample at an existing timestamp replaces the old value.
    pub fn add_sample(&mut self, labels: &Labels, t_ms: i64, value: f64) {
        let idx = match self.index.get(labels) {
            Some(&i) => i,
            None => {
                self.series.push(Series {
                    labels: labels.clone(),
                    samples: Vec::new(),
                });
                self.index.insert(labels.clone(), self.series.len() - 1);
                self.series.len() - 1
            }
        };
        let samples = &mut self.series[idx].samples;
        match samples.last() {
            Some(&(last, _)) if last < t_ms => samples.push((t_ms, value)),
            None => samples.push((t_ms, value)),
            _ => match samples.binary_search_by_key(&t_ms, |s| s.0) {
                Ok(i) => samples[i].1 = value,
                Err(i) => samples.insert(i, (t_ms, value)),
            },
        }
    }

    /// Removes all series.
    pub fn clear(&mut self) {
        self.series.clear();
        self.index.clear();
    }

    /// Number of series held.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no series are held.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    fn matching<'a>(
        &'a self,
        matchers: &'a [Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> impl Iterator<Item = (&'a Series, &'a [(i64, f64)])> + 'a {
        self.series.iter().filter_map(move |s| {
            if !Matcher::all_match(matchers, &s.labels) {
                return None;
            }
            let lo = s.samples.partition_point(|x| x.0 < start_ms);
            let hi = s.samples.partition_point(|x| x.0 <= end_ms);
            (lo < hi).then(|| (s, &s.samples[lo..hi]))
        })
    }
}

impl SeriesSource for MemSource {
    fn select(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<Series>> {
        Ok(self
            .matching(matchers, start_ms, end_ms)
            .map(|(s, samples)| Series {
                labels: s.labels.clone(),
                samples: samples.to_vec(),
            })
            .collect())
    }

    fn for_each_series(
        &self,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
        f: &mut SeriesVisitor<'_>,
    ) -> Result<()> {
        for (s, samples) in self.matching(matchers, start_ms, end_ms) {
            f(&s.labels, samples)?;
        }
        Ok(())
    }

    fn label_names(&self, matchers: &[Matcher], start_ms: i64, end_ms: i64) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .matching(matchers, start_ms, end_ms)
            .flat_map(|(s, _)| {
                s.labels
                    .iter()
                    .map(|(n, _)| n.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>> {
        let mut values: Vec<String> = self
            .matching(matchers, start_ms, end_ms)
            .filter_map(|(s, _)| s.labels.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::MatchOp;

    #[test]
    fn select_filters_by_matchers_and_time() -> Result<()> {
        let mut src = MemSource::new();
        let a = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        let b = Labels::from_pairs(&[("__name__", "up"), ("job", "b")]);
        for t in 0..10 {
            src.add_sample(&a, t * 1000, t as f64);
        }
        src.add_sample(&b, 50_000, 1.0);
        src.add_sample(&a, 3000, 30.0);
        let m = [Matcher::new("__name__", MatchOp::Equal, "up")?];
        let got = src.select(&m, 2000, 4000)?;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples, vec![(2000, 2.0), (3000, 30.0), (4000, 4.0)]);
        assert_eq!(src.label_values("job", &m, 0, 100_000)?, vec!["a", "b"]);
        assert_eq!(src.label_names(&[], 0, 100_000)?, vec!["__name__", "job"]);
        let mut each = Vec::new();
        src.for_each_series(&m, 2000, 4000, &mut |l, s| {
            each.push(Series {
                labels: l.clone(),
                samples: s.to_vec(),
            });
            Ok(())
        })?;
        assert_eq!(each, got);
        Ok(())
    }

    #[test]
    fn stale_marker_is_distinct_from_nan() {
        assert!(is_stale(stale_nan()));
        assert!(!is_stale(f64::NAN));
    }
}
