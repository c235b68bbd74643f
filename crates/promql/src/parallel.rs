//! Range queries split by time across threads.
//!
//! Every PromQL step is computed from the data at and before that step only (windows,
//! lookback, subquery grids aligned to absolute time, `@ start()`/`@ end()` fixed by the whole
//! query), so a range query's steps can be cut into contiguous parts that each select, walk
//! and aggregate their own time range on their own thread. The parts' series are then joined
//! by labels; their points never share a timestamp, so the result is the one a single pass
//! gives, bit for bit (float folds still see a step's samples in input-series order).

use std::collections::HashMap;

use crate::error::Result;
use crate::eval::Annotations;
use crate::labels::Labels;
use crate::value::RangeSeries;

/// What one part of a range query yields.
pub(crate) type PartResult = Result<(Vec<RangeSeries>, Annotations)>;

/// The first and last step of each of `parts` contiguous parts of `start..=end` every `step`.
pub(crate) fn split_steps(start: i64, end: i64, step: i64, parts: usize) -> Vec<(i64, i64)> {
    let n = (end - start) / step + 1;
    let parts = (parts as i64).clamp(1, n.max(1));
    (0..parts)
        .map(|i| {
            let (a, b) = (i * n / parts, (i + 1) * n / parts);
            (start + a * step, start + (b - 1) * step)
        })
        .collect()
}

/// Evaluates `part(first_step, last_step)` for `parts` parts of the query's steps, the first on
/// the calling thread and the others on scoped threads, and joins the results. The first
/// error in step order wins.
pub(crate) fn eval_parts(
    parts: usize,
    start: i64,
    end: i64,
    step: i64,
    part: impl Fn(i64, i64) -> PartResult + Sync,
) -> PartResult {
    let ranges = split_steps(start, end, step, parts);
    let results: Vec<PartResult> = std::thread::scope(|scope| {
        let part = &part;
        let handles: Vec<_> = ranges[1..]
            .iter()
            .map(|&(a, b)| scope.spawn(move || part(a, b)))
            .collect();
        let mut results = vec![part(ranges[0].0, ranges[0].1)];
        for h in handles {
            results.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        results
    });
    let mut series: Vec<RangeSeries> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut annos = Annotations::default();
    for r in results {
        let (part_series, part_annos) = r?;
        for s in part_series {
            match index.get(&s.labels) {
                Some(&i) => series[i].points.extend(s.points),
                None => {
                    index.insert(s.labels.clone(), series.len());
                    series.push(s);
                }
            }
        }
        merge_annotations(&mut annos, part_annos);
    }
    Ok((series, annos))
}

fn merge_annotations(into: &mut Annotations, from: Annotations) {
    for w in from.warnings {
        if !into.warnings.contains(&w) {
            into.warnings.push(w);
        }
    }
    for i in from.infos {
        if !into.infos.contains(&i) {
            into.infos.push(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_every_step_once_in_order() {
        for (start, end, step, parts) in [(0, 100, 10, 2), (5, 5, 1, 4), (0, 99, 1, 3)] {
            let got = split_steps(start, end, step, parts);
            let mut steps = Vec::new();
            for (a, b) in &got {
                steps.extend((*a..=*b).step_by(step as usize));
            }
            let want: Vec<i64> = (start..=end).step_by(step as usize).collect();
            assert_eq!(steps, want, "{start} {end} {step} {parts}: {got:?}");
        }
        assert_eq!(split_steps(0, 30, 10, 8).len(), 4);
    }

    #[test]
    fn joined_series_concatenate_points_and_dedup_annotations() -> Result<()> {
        let l = Labels::from_pairs(&[("a", "1")]);
        let (series, annos) = eval_parts(2, 0, 3, 1, |a, b| {
            let annos = Annotations {
                warnings: vec!["w".into()],
                infos: vec![format!("i{a}")],
            };
            let points = (a..=b).map(|t| (t, t as f64)).collect();
            let labels = l.clone();
            Ok((vec![RangeSeries { labels, points }], annos))
        })?;
        assert_eq!(series.len(), 1);
        assert_eq!(
            series[0].points,
            vec![(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0)]
        );
        assert_eq!(annos.warnings, vec!["w"]);
        assert_eq!(annos.infos, vec!["i0", "i2"]);
        Ok(())
    }
}
