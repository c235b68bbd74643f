//! Candidate search for span queries (TraceQL): find the traces that may match a query by
//! reading only the columns its conditions name, newest data first, stopping early when enough
//! candidates are known.
//!
//! ```text
//!  groups: [[name =~ "invoke.*"], [gen_ai_tool_name = "search"]]    (conjunctions, one span each)
//!      │  per span: bit i set when the span satisfies every predicate of group i
//!      ▼
//!  per trace: OR of its spans' bits ──accept(mask)──▶ candidate (trace id, newest start)
//! ```
//!
//! The store knows nothing of TraceQL: the caller translates what it can push down into
//! [`SpanPredicate`]s over the span columns (`crate::schema::col`) and says with `accept` which
//! combinations of satisfied groups make a trace worth evaluating. A candidate is only a
//! candidate: the caller still evaluates the whole trace.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, UInt64Type};
use arrow_array::{
    Array, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::DataType;

use crate::block::Block;
use crate::error::Result;
use crate::schema::col;
use crate::store::Store;
use crate::summary::TraceId;
use crate::tenant::validate_tenant;

mod scan;

/// A comparison operator of a predicate, with the column value on the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn holds<T: PartialOrd>(self, l: &T, r: &T) -> bool {
        match self {
            CmpOp::Eq => l == r,
            CmpOp::Ne => l != r,
            CmpOp::Lt => l < r,
            CmpOp::Le => l <= r,
            CmpOp::Gt => l > r,
            CmpOp::Ge => l >= r,
        }
    }
}

/// A string matcher supplied by the caller (e.g. a compiled regex).
pub type StrMatcher = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What a predicate checks on its column. A null value never satisfies a predicate.
#[derive(Clone)]
pub enum Test {
    /// A `Utf8` column compared with a string.
    Str(CmpOp, String),
    /// A `Utf8` column tested by a function.
    StrMatch(StrMatcher),
    /// An integer column (`UInt64` or `Int32`) compared as a signed number.
    Int(CmpOp, i64),
    /// A numeric column (`UInt64`, `Int32` or `Float64`) compared as a float.
    Float(CmpOp, f64),
}

impl std::fmt::Debug for Test {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Test::Str(op, s) => write!(f, "Str({op:?}, {s:?})"),
            Test::StrMatch(_) => write!(f, "StrMatch(..)"),
            Test::Int(op, i) => write!(f, "Int({op:?}, {i})"),
            Test::Float(op, x) => write!(f, "Float({op:?}, {x})"),
        }
    }
}

/// A test on one span column (an original schema index, see `crate::schema::col`).
#[derive(Debug, Clone)]
pub struct SpanPredicate {
    pub column: usize,
    pub test: Test,
}

/// Decides from the set of satisfied groups (bit `i` = group `i`) whether a trace is a candidate.
pub type Accept = Arc<dyn Fn(u64) -> bool + Send + Sync>;

/// What [`Store::search_candidates`] looks for.
#[derive(Clone)]
pub struct CandidateSearch {
    /// Spans overlapping `[start, end]`, Unix nanoseconds.
    pub start: u64,
    pub end: u64,
    /// Conjunctions of predicates, each satisfied by one span; at most 64 (more are ignored,
    /// as if never satisfied — keep `accept` conservative).
    pub groups: Vec<Vec<SpanPredicate>>,
    /// Whether a trace with these satisfied groups may match.
    pub accept: Accept,
    /// Stop reading older data once this many candidates newer than it are known.
    pub limit: Option<usize>,
}

/// A trace that may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub trace_id: TraceId,
    /// The latest start among the trace's spans seen by the scan (the order of candidates).
    pub newest_start: u64,
}

/// What a scan read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Spans looked at.
    pub inspected_spans: u64,
    /// Decoded (Arrow) bytes of the columns read.
    pub inspected_bytes: u64,
    /// Blocks opened.
    pub blocks: u32,
}

impl Store {
    /// Calls `f` with batches of spans that may overlap `[start, end]`: the head first (whole
    /// batches), then blocks newest first, read with only `columns`. `f` returns `Break` to stop
    /// before the next source; `next_end` is the latest span end of the next source, if any.
    pub fn scan_newest_first(
        &self,
        tenant: &str,
        start: u64,
        end: u64,
        columns: &[usize],
        f: impl FnMut(Source<'_>) -> ControlFlow<()>,
    ) -> Result<ScanStats> {
        self.scan_sources(tenant, start, end, columns, false, f)
    }

    /// [`Store::scan_newest_first`], with the string columns of blocks read as dictionaries
    /// (`Dictionary(Int32, Utf8)`: keys per span, each distinct value once per batch), so a
    /// caller can work per distinct value. Head batches keep their `Utf8` columns.
    pub fn scan_newest_first_dictionary(
        &self,
        tenant: &str,
        start: u64,
        end: u64,
        columns: &[usize],
        f: impl FnMut(Source<'_>) -> ControlFlow<()>,
    ) -> Result<ScanStats> {
        self.scan_sources(tenant, start, end, columns, true, f)
    }

    fn scan_sources(
        &self,
        tenant: &str,
        start: u64,
        end: u64,
        columns: &[usize],
        dictionary: bool,
        mut f: impl FnMut(Source<'_>) -> ControlFlow<()>,
    ) -> Result<ScanStats> {
        validate_tenant(tenant)?;
        let snap = self.snapshot(tenant);
        let mut stats = ScanStats::default();
        let mut blocks: Vec<&Arc<Block>> = snap
            .blocks
            .iter()
            .filter(|b| b.overlaps(start, end))
            .collect();
        blocks.sort_unstable_by_key(|b| std::cmp::Reverse(b.meta.max_end_unix_nano));
        let head: Vec<&RecordBatch> = snap
            .head
            .iter()
            .map(|b| b.as_ref())
            .filter(|b| {
                let (lo, hi) = crate::head::time_range(b);
                lo <= end && hi >= start
            })
            .collect();
        let full = ColumnIndex::full();
        let next_end = blocks.first().map(|b| b.meta.max_end_unix_nano);
        for batch in &head {
            stats.inspected_spans += batch.num_rows() as u64;
            stats.inspected_bytes += batch.get_array_memory_size() as u64;
        }
        if !head.is_empty() && f(Source::new(head, &full, next_end)).is_break() {
            return Ok(stats);
        }
        let mut cols = columns.to_vec();
        cols.sort_unstable();
        cols.dedup();
        let projected = ColumnIndex::of(cols.clone());
        for (i, block) in blocks.iter().enumerate() {
            stats.blocks += 1;
            let mut batches = Vec::new();
            let read: Box<dyn Iterator<Item = Result<RecordBatch>>> = if dictionary {
                Box::new(scan::read_dictionary(block, &cols)?)
            } else {
                Box::new(block.scan_columns(&cols)?)
            };
            for batch in read {
                let batch = batch?;
                stats.inspected_spans += batch.num_rows() as u64;
                stats.inspected_bytes += batch.get_array_memory_size() as u64;
                batches.push(batch);
            }
            let next_end = blocks.get(i + 1).map(|b| b.meta.max_end_unix_nano);
            let refs = batches.iter().collect();
            if f(Source::new(refs, &projected, next_end)).is_break() {
                break;
            }
        }
        Ok(stats)
    }

    /// Calls `f` with each batch of spans that may overlap `[start, end]`: head batches whole,
    /// then the batches of blocks newest first (about a row group each), read with only
    /// `columns` and one at a time, so that `f` returning `Break` stops the scan at once, even
    /// in the middle of a block (tag discovery reads only the newest spans it needs).
    pub fn scan_batches_newest_first(
        &self,
        tenant: &str,
        start: u64,
        end: u64,
        columns: &[usize],
        mut f: impl FnMut(&RecordBatch, &ColumnIndex) -> ControlFlow<()>,
    ) -> Result<ScanStats> {
        validate_tenant(tenant)?;
        let snap = self.snapshot(tenant);
        let mut stats = ScanStats::default();
        let full = ColumnIndex::full();
        for batch in snap.head.iter().filter(|b| {
            let (lo, hi) = crate::head::time_range(b);
            lo <= end && hi >= start
        }) {
            stats.inspected_spans += batch.num_rows() as u64;
            stats.inspected_bytes += batch.get_array_memory_size() as u64;
            if f(batch, &full).is_break() {
                return Ok(stats);
            }
        }
        let mut blocks: Vec<&Arc<Block>> = (snap.blocks.iter())
            .filter(|b| b.overlaps(start, end))
            .collect();
        blocks.sort_unstable_by_key(|b| std::cmp::Reverse(b.meta.max_end_unix_nano));
        let mut cols = columns.to_vec();
        cols.sort_unstable();
        cols.dedup();
        for block in blocks {
            stats.blocks += 1;
            // Older blocks lack the GenAI columns: index only the columns read.
            let present = block.spans_metadata().schema().fields().len();
            let read: Vec<usize> = cols.iter().copied().filter(|c| *c < present).collect();
            let projected = ColumnIndex::of(read.clone());
            for batch in block.scan_columns(&read)? {
                let batch = batch?;
                stats.inspected_spans += batch.num_rows() as u64;
                stats.inspected_bytes += batch.get_array_memory_size() as u64;
                if f(&batch, &projected).is_break() {
                    return Ok(stats);
                }
            }
        }
        Ok(stats)
    }

    /// The traces that may match `search`, newest first (by their newest span seen).
    ///
    /// The head is tested whole; each block, newest first, in two phases (`scan.rs`): the
    /// predicate columns of the row groups their statistics do not rule out, then trace id and
    /// time only for the rows that satisfied a group. Stops before an older block once
    /// `limit` accepted candidates are newer than anything it holds.
    pub fn search_candidates(
        &self,
        tenant: &str,
        search: &CandidateSearch,
    ) -> Result<(Vec<Candidate>, ScanStats)> {
        validate_tenant(tenant)?;
        let snap = self.snapshot(tenant);
        let mut blocks: Vec<&Arc<Block>> = (snap.blocks.iter())
            .filter(|b| b.overlaps(search.start, search.end))
            .collect();
        blocks.sort_unstable_by_key(|b| std::cmp::Reverse(b.meta.max_end_unix_nano));
        let everything = (search.accept)(0);
        let mut acc: HashMap<TraceId, (u64, u64)> = HashMap::new();
        let mut stats = ScanStats::default();
        let full = ColumnIndex::full();
        for batch in snap.head.iter().filter(|b| {
            let (lo, hi) = crate::head::time_range(b);
            lo <= search.end && hi >= search.start
        }) {
            stats.inspected_spans += batch.num_rows() as u64;
            stats.inspected_bytes += batch.get_array_memory_size() as u64;
            let masks = span_masks(batch, &full, &search.groups);
            let rows = (0..batch.num_rows()).filter(|r| everything || masks[*r] != 0);
            fold_rows(batch, &full, rows.map(|r| (r, masks[r])), search, &mut acc);
        }
        for block in blocks {
            if let Some(n) = search.limit
                && enough(&acc, &search.accept, n, block.meta.max_end_unix_nano)
            {
                break;
            }
            stats.blocks += 1;
            scan::fold_block(block, search, everything, &mut acc, &mut stats)?;
        }
        let mut out: Vec<Candidate> = acc
            .into_iter()
            .filter(|(_, (mask, _))| (search.accept)(*mask))
            .map(|(trace_id, (_, newest_start))| Candidate {
                trace_id,
                newest_start,
            })
            .collect();
        out.sort_unstable_by_key(|c| (std::cmp::Reverse(c.newest_start), c.trace_id));
        Ok((out, stats))
    }
}

/// Whether `n` accepted candidates all start after `next_end`, so older data cannot add
/// newer ones.
fn enough(acc: &HashMap<TraceId, (u64, u64)>, accept: &Accept, n: usize, next_end: u64) -> bool {
    let newer = acc
        .values()
        .filter(|(mask, start)| *start > next_end && accept(*mask))
        .count();
    newer >= n
}

/// Where an original span-schema column sits in a batch of a scan (like `read::Projection`).
#[derive(Debug, Clone)]
pub struct ColumnIndex {
    /// Sorted original indices present in the batch; `None` when it has every column.
    columns: Option<Vec<usize>>,
}

impl ColumnIndex {
    fn full() -> Self {
        Self { columns: None }
    }

    fn of(columns: Vec<usize>) -> Self {
        Self {
            columns: Some(columns),
        }
    }

    /// The batch index of original column `col`, if the batch has it.
    pub fn index(&self, col: usize) -> Option<usize> {
        match &self.columns {
            None => Some(col),
            Some(c) => c.binary_search(&col).ok(),
        }
    }
}

/// One source of a scan: the head, or one block.
pub struct Source<'a> {
    pub batches: Vec<&'a RecordBatch>,
    pub projection: &'a ColumnIndex,
    /// Latest span end of the next source, `None` when this is the last.
    pub next_end: Option<u64>,
}

impl<'a> Source<'a> {
    fn new(batches: Vec<&'a RecordBatch>, projection: &'a ColumnIndex, next: Option<u64>) -> Self {
        Self {
            batches,
            projection,
            next_end: next,
        }
    }
}

/// A column of a batch, typed for predicate tests.
enum Column<'a> {
    Str(&'a StringArray),
    /// Strings read as a dictionary (block scans): tests run once per distinct value.
    Dict(&'a DictionaryArray<Int32Type>, &'a StringArray),
    U64(&'a UInt64Array),
    I32(&'a Int32Array),
    F64(&'a Float64Array),
    /// Absent (older block) or of a type no test reads: never satisfies.
    Missing,
}

fn column<'a>(batch: &'a RecordBatch, proj: &ColumnIndex, c: usize) -> Column<'a> {
    let Some(i) = proj.index(c).filter(|i| *i < batch.num_columns()) else {
        return Column::Missing;
    };
    let a = batch.column(i);
    match a.data_type() {
        DataType::Utf8 => Column::Str(a.as_string::<i32>()),
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            let d = a.as_dictionary::<Int32Type>();
            Column::Dict(d, d.values().as_string::<i32>())
        }
        DataType::UInt64 => Column::U64(a.as_primitive::<UInt64Type>()),
        DataType::Int32 => Column::I32(a.as_primitive::<Int32Type>()),
        DataType::Float64 => Column::F64(a.as_primitive::<Float64Type>()),
        _ => Column::Missing,
    }
}

fn test_str(t: &Test, v: &str) -> bool {
    match t {
        Test::Str(op, s) => op.holds(&v, &s.as_str()),
        Test::StrMatch(m) => m(v),
        _ => false,
    }
}

/// Whether the value at `row` of a non-string column passes `t`.
fn test_num(c: &Column<'_>, t: &Test, row: usize) -> bool {
    match (c, t) {
        (Column::U64(a), Test::Int(op, v)) => {
            a.is_valid(row) && op.holds(&i128::from(a.value(row)), &i128::from(*v))
        }
        (Column::I32(a), Test::Int(op, v)) => {
            a.is_valid(row) && op.holds(&i64::from(a.value(row)), v)
        }
        (Column::U64(a), Test::Float(op, v)) => {
            a.is_valid(row) && op.holds(&(a.value(row) as f64), v)
        }
        (Column::I32(a), Test::Float(op, v)) => {
            a.is_valid(row) && op.holds(&f64::from(a.value(row)), v)
        }
        (Column::F64(a), Test::Float(op, v)) => a.is_valid(row) && op.holds(&a.value(row), v),
        (Column::F64(a), Test::Int(op, v)) => {
            a.is_valid(row) && op.holds(&a.value(row), &(*v as f64))
        }
        _ => false,
    }
}

/// Narrows `pass` (one flag per row) to the rows whose value in `c` passes `t`.
fn and_test(c: &Column<'_>, t: &Test, pass: &mut [bool]) {
    match c {
        Column::Missing => pass.fill(false),
        Column::Str(a) => {
            for (row, p) in pass.iter_mut().enumerate() {
                *p = *p && a.is_valid(row) && test_str(t, a.value(row));
            }
        }
        Column::Dict(d, values) => {
            let ok: Vec<bool> = (0..values.len())
                .map(|i| values.is_valid(i) && test_str(t, values.value(i)))
                .collect();
            let keys = d.keys();
            for (row, p) in pass.iter_mut().enumerate() {
                *p = *p
                    && keys.is_valid(row)
                    && usize::try_from(keys.value(row))
                        .ok()
                        .and_then(|k| ok.get(k).copied())
                        .unwrap_or(false);
            }
        }
        _ => {
            for (row, p) in pass.iter_mut().enumerate() {
                *p = *p && test_num(c, t, row);
            }
        }
    }
}

/// For each row of `batch`, the groups (bit `i` = group `i`, at most 64) the span satisfies.
/// Each predicate is tested column-wise (once per distinct value for dictionary columns).
pub fn span_masks(
    batch: &RecordBatch,
    idx: &ColumnIndex,
    groups: &[Vec<SpanPredicate>],
) -> Vec<u64> {
    let n = batch.num_rows();
    let mut masks = vec![0u64; n];
    let mut pass = vec![true; n];
    for (i, g) in groups.iter().take(64).enumerate() {
        pass.fill(true);
        for p in g {
            and_test(&column(batch, idx, p.column), &p.test, &mut pass);
        }
        for (m, ok) in masks.iter_mut().zip(&pass) {
            *m |= u64::from(*ok) << i;
        }
    }
    masks
}

/// Adds `(row, mask)` pairs of `batch` to the candidates, skipping spans outside the time range.
fn fold_rows(
    batch: &RecordBatch,
    proj: &ColumnIndex,
    rows: impl Iterator<Item = (usize, u64)>,
    search: &CandidateSearch,
    acc: &mut HashMap<TraceId, (u64, u64)>,
) {
    let (Some(ti), Some(si)) = (proj.index(col::TRACE_ID), proj.index(col::START)) else {
        return;
    };
    let ids = batch.column(ti).as_fixed_size_binary();
    let starts = batch.column(si).as_primitive::<UInt64Type>();
    // Without durations the caller knows every span ends in range.
    let durs = (proj.index(col::DURATION)).map(|di| batch.column(di).as_primitive::<UInt64Type>());
    for (row, mask) in rows {
        let start = starts.value(row);
        let end = durs.map_or(search.end, |d| start.saturating_add(d.value(row)));
        if start > search.end || end < search.start {
            continue;
        }
        let Ok(id) = TraceId::try_from(ids.value(row)) else {
            continue;
        };
        let e = acc.entry(id).or_insert((0, start));
        e.0 |= mask;
        e.1 = e.1.max(start);
    }
}

#[cfg(test)]
mod tests;
