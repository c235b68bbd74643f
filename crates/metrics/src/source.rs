//! The PromQL view of one tenant: [`TenantSource`] implements `promql::SeriesSource`.

use std::sync::Arc;

use sextant_promql::{Error as QueryError, Labels, Matcher, Series, SeriesSource, SeriesVisitor};

use crate::head::{SeriesSamples, sort_dedup};
use crate::tenant::Tenant;

/// Reads one tenant's series from its blocks and head.
#[derive(Clone)]
pub struct TenantSource {
    tenant: Option<Arc<Tenant>>,
}

impl TenantSource {
    pub(crate) fn new(tenant: Option<Arc<Tenant>>) -> Self {
        TenantSource { tenant }
    }

    /// Labels of matching series whose time bounds overlap `[start, end]`.
    fn matching(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<Labels> {
        let Some(t) = &self.tenant else {
            return Vec::new();
        };
        let head = t.head.read();
        head.select(matchers)
            .into_iter()
            .map(|id| head.series(id))
            .filter(|s| s.max_t >= start && s.min_t <= end)
            .map(|s| s.labels.clone())
            .collect()
    }
}

impl TenantSource {
    /// Series matching `matchers` with samples in `[start, end]`: id, labels and head samples
    /// (copied under the lock; block chunks are read after releasing it).
    fn pick(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<SeriesSamples> {
        let Some(t) = &self.tenant else {
            return Vec::new();
        };
        let head = t.head.read();
        head.select(matchers)
            .into_iter()
            .filter_map(|id| {
                let s = head.series(id);
                if s.max_t < start || s.min_t > end {
                    return None;
                }
                let mut samples = Vec::new();
                s.head_samples(start, end, &mut samples);
                Some((id, s.labels.clone(), samples))
            })
            .collect()
    }

    /// Calls `f` with each picked series' samples in `[start, end]`, blocks first and head
    /// samples last (they win at equal timestamps), decoded into one reused buffer.
    fn each_picked(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        mut f: impl FnMut(Labels, &mut Vec<(i64, f64)>) -> sextant_promql::Result<()>,
    ) -> sextant_promql::Result<()> {
        let Some(t) = &self.tenant else {
            return Ok(());
        };
        let picked = self.pick(matchers, start, end);
        let blocks = t.blocks.read().clone();
        let (mut samples, mut bytes) = (Vec::new(), Vec::new());
        for (id, labels, head_samples) in picked {
            samples.clear();
            let mut blocks_read = 0;
            for b in blocks
                .iter()
                .filter(|b| b.max_t >= start && b.min_t <= end && b.overlaps(id, start, end))
            {
                b.read_with(id, start, end, &mut samples, &mut bytes)
                    .map_err(|e| QueryError::Storage(e.to_string()))?;
                blocks_read += 1;
            }
            // One block's samples are sorted and distinct; head samples (out-of-order ones
            // included) or several blocks need the merge.
            if blocks_read != 1 || !head_samples.is_empty() {
                samples.extend(head_samples);
                sort_dedup(&mut samples);
            }
            if !samples.is_empty() {
                f(labels, &mut samples)?;
            }
        }
        Ok(())
    }
}

impl SeriesSource for TenantSource {
    fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> sextant_promql::Result<Vec<Series>> {
        let mut out = Vec::new();
        self.each_picked(matchers, start, end, |labels, samples| {
            out.push(Series {
                labels,
                samples: samples.clone(),
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn for_each_series(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        f: &mut SeriesVisitor<'_>,
    ) -> sextant_promql::Result<()> {
        self.each_picked(matchers, start, end, |labels, samples| f(&labels, samples))
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> sextant_promql::Result<Vec<String>> {
        let mut names: Vec<String> = self
            .matching(matchers, start, end)
            .iter()
            .flat_map(|l| l.iter().map(|(n, _)| n.to_owned()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> sextant_promql::Result<Vec<String>> {
        let mut values: Vec<String> = self
            .matching(matchers, start, end)
            .iter()
            .filter_map(|l| l.get(name).map(str::to_owned))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}
