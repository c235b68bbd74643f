//! One block of a candidate search, read late-materialized:
//!
//! ```text
//!  row groups ──stats rule out?──▶ skipped (never decoded)
//!      │ kept
//!      ▼
//!  phase 1: predicate columns only (strings as dictionaries) ──▶ mask per row
//!      │ rows with a satisfied group (all rows when every trace is a candidate)
//!      ▼
//!  phase 2: trace id, start, duration of those rows only (RowSelection) ──▶ candidates
//! ```
//!
//! A selective query thus decodes its few predicate columns plus the ids of the matching rows,
//! instead of the ids and times of every span.

use std::collections::HashMap;

use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;

use super::{CandidateSearch, CmpOp, ColumnIndex, ScanStats, Test, fold_rows, span_masks};
use crate::block::{Block, ROW_GROUP_ROWS};
use arrow_array::RecordBatch;

use crate::error::Result;
use crate::schema::col;
use crate::summary::TraceId;

/// Adds the candidates of one block to `acc`.
pub(super) fn fold_block(
    block: &Block,
    search: &CandidateSearch,
    everything: bool,
    acc: &mut HashMap<TraceId, (u64, u64)>,
    stats: &mut ScanStats,
) -> Result<()> {
    let meta = block.spans_metadata();
    let present = meta.schema().fields().len();
    let row_groups = meta.metadata().row_groups();
    let kept: Vec<usize> = (0..row_groups.len())
        .filter(|&i| may_hold(&row_groups[i], search, everything, present))
        .collect();
    if kept.is_empty() {
        return Ok(());
    }
    let mut pred_cols: Vec<usize> = (search.groups.iter().flatten())
        .map(|p| p.column)
        .filter(|c| *c < present)
        .collect();
    pred_cols.sort_unstable();
    pred_cols.dedup();
    let masks = if pred_cols.is_empty() {
        // No predicate can be tested here: every span satisfies no group.
        if !everything {
            return Ok(());
        }
        let rows = kept.iter().map(|&i| rows_of(&row_groups[i])).sum();
        vec![0; rows]
    } else {
        predicate_masks(block, &kept, &pred_cols, search, stats)?
    };
    let wanted = |m: u64| everything || m != 0;
    let (groups, selection, selected) = select(&kept, row_groups, &masks, wanted);
    if groups.is_empty() {
        return Ok(());
    }
    // The time test needs durations only when the block reaches outside the range.
    let inside = block.meta.min_start_unix_nano >= search.start
        && block.meta.max_end_unix_nano <= search.end;
    let columns: &[usize] = if inside {
        &[col::TRACE_ID, col::START]
    } else {
        &[col::TRACE_ID, col::START, col::DURATION]
    };
    let builder = block.spans_reader(meta.clone())?;
    let projection = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
    let reader = builder
        .with_projection(projection)
        .with_row_groups(groups)
        .with_row_selection(selection)
        .with_batch_size(ROW_GROUP_ROWS)
        .build()?;
    let proj = ColumnIndex::of(columns.to_vec());
    let mut done = 0;
    for batch in reader {
        let batch = batch?;
        let n = batch.num_rows();
        stats.inspected_bytes += batch.get_array_memory_size() as u64;
        if pred_cols.is_empty() {
            stats.inspected_spans += n as u64;
        }
        let part = selected.get(done..done + n).unwrap_or_default();
        fold_rows(&batch, &proj, part.iter().copied().enumerate(), search, acc);
        done += n;
    }
    Ok(())
}

fn rows_of(rg: &RowGroupMetaData) -> usize {
    usize::try_from(rg.num_rows()).unwrap_or(0)
}

/// Phase 1: the group mask of every row of the `kept` row groups, in order.
fn predicate_masks(
    block: &Block,
    kept: &[usize],
    pred_cols: &[usize],
    search: &CandidateSearch,
    stats: &mut ScanStats,
) -> Result<Vec<u64>> {
    let builder = block.spans_reader(block.spans_metadata_dictionary().clone())?;
    let projection = ProjectionMask::roots(builder.parquet_schema(), pred_cols.iter().copied());
    let reader = builder
        .with_projection(projection)
        .with_row_groups(kept.to_vec())
        .with_batch_size(ROW_GROUP_ROWS)
        .build()?;
    let proj = ColumnIndex::of(pred_cols.to_vec());
    let mut masks = Vec::new();
    let mut decoder = block.decoder();
    for batch in reader {
        let batch = decoder.apply(batch?)?;
        stats.inspected_spans += batch.num_rows() as u64;
        stats.inspected_bytes += batch.get_array_memory_size() as u64;
        masks.extend(span_masks(&batch, &proj, &search.groups));
    }
    Ok(masks)
}

/// Phase 2's plan: the row groups with a wanted row, the selection of those rows within
/// them, and the masks of the selected rows in order.
fn select(
    kept: &[usize],
    row_groups: &[RowGroupMetaData],
    masks: &[u64],
    wanted: impl Fn(u64) -> bool,
) -> (Vec<usize>, RowSelection, Vec<u64>) {
    let mut groups = Vec::new();
    let mut selectors = Vec::new();
    let mut selected = Vec::new();
    let mut offset = 0;
    for &i in kept {
        let n = rows_of(&row_groups[i]);
        let rows = masks.get(offset..offset + n).unwrap_or_default();
        offset += n;
        let before = selected.len();
        let mut runs: Vec<RowSelector> = Vec::new();
        for &m in rows {
            let take = wanted(m);
            if take {
                selected.push(m);
            }
            match runs.last_mut() {
                Some(r) if r.skip != take => r.row_count += 1,
                _ => runs.push(if take {
                    RowSelector::select(1)
                } else {
                    RowSelector::skip(1)
                }),
            }
        }
        if selected.len() > before {
            groups.push(i);
            selectors.extend(runs);
        }
    }
    (groups, RowSelection::from(selectors), selected)
}

/// Every span of a block with only `columns` (sorted, deduplicated original indices; those
/// the block lacks are left out), string columns as dictionaries.
pub(super) fn read_dictionary(
    block: &Block,
    columns: &[usize],
) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
    let meta = block.spans_metadata_dictionary().clone();
    let present = meta.schema().fields().len();
    let builder = block.spans_reader(meta)?;
    let wanted = columns.iter().copied().filter(|c| *c < present);
    let projection = ProjectionMask::roots(builder.parquet_schema(), wanted);
    let reader = builder
        .with_projection(projection)
        .with_batch_size(ROW_GROUP_ROWS)
        .build()?;
    let mut decoder = block.decoder();
    Ok(reader.map(move |b| decoder.apply(b?)))
}

/// Whether a row group's statistics leave room for a span in the time range that satisfies
/// an accepted combination of groups.
fn may_hold(
    rg: &RowGroupMetaData,
    search: &CandidateSearch,
    everything: bool,
    present: usize,
) -> bool {
    if let Some(Statistics::Int64(s)) = rg.column(col::START).statistics()
        && s.min_opt().is_some_and(|m| (*m as u64) > search.end)
    {
        return false;
    }
    everything
        || search.groups.iter().take(64).any(|g| {
            g.iter()
                .all(|p| p.column < present && may_pass(rg.column(p.column).statistics(), &p.test))
        })
}

/// Whether a column chunk with these statistics may hold a value passing `t`; true when
/// unknown.
pub(super) fn may_pass(stats: Option<&Statistics>, t: &Test) -> bool {
    match (stats, t) {
        (Some(Statistics::ByteArray(s)), Test::Str(op, v)) => {
            let min = (s.min_opt().filter(|_| s.min_is_exact())).and_then(|b| b.as_utf8().ok());
            let max = (s.max_opt().filter(|_| s.max_is_exact())).and_then(|b| b.as_utf8().ok());
            in_range(*op, min, max, v.as_str())
        }
        (Some(Statistics::Int64(s)), Test::Int(op, v)) => {
            // Span columns of 64 bits are unsigned; Parquet keeps their statistics as bits.
            let wide = |x: Option<&i64>| x.map(|x| i128::from(*x as u64));
            in_range(*op, wide(s.min_opt()), wide(s.max_opt()), i128::from(*v))
        }
        (Some(Statistics::Int32(s)), Test::Int(op, v)) => {
            let wide = |x: Option<&i32>| x.map(|x| i64::from(*x));
            in_range(*op, wide(s.min_opt()), wide(s.max_opt()), *v)
        }
        // NaN is left out of float statistics and passes `!=`: only ordered tests prune.
        (Some(Statistics::Double(s)), Test::Float(op, v)) if *op != CmpOp::Ne => {
            in_range(*op, s.min_opt().copied(), s.max_opt().copied(), *v)
        }
        (Some(Statistics::Int64(s)), Test::Float(op, v)) if *op != CmpOp::Ne => {
            let wide = |x: Option<&i64>| x.map(|x| *x as u64 as f64);
            in_range(*op, wide(s.min_opt()), wide(s.max_opt()), *v)
        }
        _ => true,
    }
}

/// Whether some value in `[min, max]` (either bound unknown when `None`) may satisfy
/// `value op v`.
fn in_range<T: PartialOrd>(op: CmpOp, min: Option<T>, max: Option<T>, v: T) -> bool {
    let ok = |f: fn(&T, &T) -> bool, b: &Option<T>| b.as_ref().is_none_or(|b| f(b, &v));
    match op {
        CmpOp::Eq => ok(|m, v| m <= v, &min) && ok(|m, v| m >= v, &max),
        CmpOp::Ne => !(min.as_ref() == Some(&v) && max.as_ref() == Some(&v)),
        CmpOp::Lt => ok(|m, v| m < v, &min),
        CmpOp::Le => ok(|m, v| m <= v, &min),
        CmpOp::Gt => ok(|m, v| m > v, &max),
        CmpOp::Ge => ok(|m, v| m >= v, &max),
    }
}
