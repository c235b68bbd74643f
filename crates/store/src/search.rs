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
use arrow_array::{Array, Float64Array, Int32Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::DataType;

use crate::block::Block;
use crate::error::Result;
use crate::schema::col;
use crate::store::Store;
use crate::summary::TraceId;
use crate::tenant::validate_tenant;

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
            for batch in block.scan_columns(&cols)? {
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

    /// The traces that may match `search`, newest first (by their newest span seen).
    pub fn search_candidates(
        &self,
        tenant: &str,
        search: &CandidateSearch,
    ) -> Result<(Vec<Candidate>, ScanStats)> {
        let mut columns = vec![col::TRACE_ID, col::START, col::DURATION];
        columns.extend(search.groups.iter().flatten().map(|p| p.column));
        let everything = (search.accept)(0);
        let mut acc: HashMap<TraceId, (u64, u64)> = HashMap::new();
        let stats = self.scan_newest_first(tenant, search.start, search.end, &columns, |src| {
            for batch in &src.batches {
                fold_batch(batch, src.projection, search, everything, &mut acc);
            }
            match (search.limit, src.next_end) {
                (Some(n), Some(next)) if enough(&acc, &search.accept, n, next) => {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        })?;
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
        DataType::UInt64 => Column::U64(a.as_primitive::<UInt64Type>()),
        DataType::Int32 => Column::I32(a.as_primitive::<Int32Type>()),
        DataType::Float64 => Column::F64(a.as_primitive::<Float64Type>()),
        _ => Column::Missing,
    }
}

fn test_row(c: &Column<'_>, t: &Test, row: usize) -> bool {
    match (c, t) {
        (Column::Missing, _) => false,
        (Column::Str(a), Test::Str(op, v)) => {
            a.is_valid(row) && op.holds(&a.value(row), &v.as_str())
        }
        (Column::Str(a), Test::StrMatch(m)) => a.is_valid(row) && m(a.value(row)),
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

/// For each row of `batch`, the groups (bit `i` = group `i`, at most 64) the span satisfies.
pub fn span_masks(
    batch: &RecordBatch,
    idx: &ColumnIndex,
    groups: &[Vec<SpanPredicate>],
) -> Vec<u64> {
    let cols = resolve(batch, idx, groups);
    (0..batch.num_rows())
        .map(|row| mask_of(&cols, row))
        .collect()
}

type Resolved<'a, 't> = Vec<Vec<(Column<'a>, &'t Test)>>;

fn resolve<'a, 't>(
    batch: &'a RecordBatch,
    idx: &ColumnIndex,
    groups: &'t [Vec<SpanPredicate>],
) -> Resolved<'a, 't> {
    groups
        .iter()
        .take(64)
        .map(|g| {
            g.iter()
                .map(|p| (column(batch, idx, p.column), &p.test))
                .collect()
        })
        .collect()
}

fn mask_of(groups: &Resolved<'_, '_>, row: usize) -> u64 {
    let mut mask = 0u64;
    for (i, g) in groups.iter().enumerate() {
        if g.iter().all(|(c, t)| test_row(c, t, row)) {
            mask |= 1 << i;
        }
    }
    mask
}

fn fold_batch(
    batch: &RecordBatch,
    proj: &ColumnIndex,
    search: &CandidateSearch,
    everything: bool,
    acc: &mut HashMap<TraceId, (u64, u64)>,
) {
    let (Some(ti), Some(si), Some(di)) = (
        proj.index(col::TRACE_ID),
        proj.index(col::START),
        proj.index(col::DURATION),
    ) else {
        return;
    };
    let ids = batch.column(ti).as_fixed_size_binary();
    let starts = batch.column(si).as_primitive::<UInt64Type>();
    let durs = batch.column(di).as_primitive::<UInt64Type>();
    let groups = resolve(batch, proj, &search.groups);
    for row in 0..batch.num_rows() {
        let start = starts.value(row);
        if start > search.end || start.saturating_add(durs.value(row)) < search.start {
            continue;
        }
        let mask = mask_of(&groups, row);
        if mask == 0 && !everything {
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
mod tests {
    use super::*;
    use crate::genai::NoEnrichment;
    use crate::testutil::{sample_request, trace_id};
    use crate::{SpanBatchBuilder, StoreConfig, StoreMetrics};
    use prost::Message;

    fn store_with(dir: &std::path::Path, flush: bool) -> Store {
        let mut c = StoreConfig::new(dir);
        c.head_max_age = std::time::Duration::from_secs(3600);
        let store = Store::open(c, StoreMetrics::default(), Arc::new(NoEnrichment)).expect("open");
        let req = sample_request(6, 4, 3);
        let mut b = SpanBatchBuilder::with_capacity(24);
        b.push_request(&req, &NoEnrichment).expect("push");
        let batch = b.finish().expect("batch");
        futures::executor::block_on(store.write("t", req.encode_to_vec().into(), batch))
            .expect("write");
        if flush {
            store.flush().expect("flush");
        }
        store
    }

    fn search(groups: Vec<Vec<SpanPredicate>>, accept: Accept) -> CandidateSearch {
        CandidateSearch {
            start: 0,
            end: u64::MAX,
            groups,
            accept,
            limit: None,
        }
    }

    fn status_error() -> SpanPredicate {
        SpanPredicate {
            column: col::STATUS_CODE,
            test: Test::Int(CmpOp::Eq, 2),
        }
    }

    #[test]
    fn candidates_agree_between_head_and_blocks() {
        for flush in [false, true] {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = store_with(dir.path(), flush);
            let all = store
                .search_candidates("t", &search(vec![], Arc::new(|_| true)))
                .expect("search")
                .0;
            assert_eq!(all.len(), 6, "flush={flush}");
            // Newest first: trace t starts at base + t ms.
            let want: [u8; 16] = trace_id(3, 5).try_into().expect("16 bytes");
            assert_eq!(all[0].trace_id, want);
            let (errs, stats) = store
                .search_candidates(
                    "t",
                    &search(vec![vec![status_error()]], Arc::new(|m| m & 1 == 1)),
                )
                .expect("search");
            assert_eq!(errs.len(), 6);
            assert_eq!(stats.inspected_spans, 24);
            let none = store
                .search_candidates(
                    "t",
                    &search(
                        vec![vec![
                            status_error(),
                            SpanPredicate {
                                column: col::NAME,
                                test: Test::StrMatch(Arc::new(|s| s.starts_with("invoke"))),
                            },
                        ]],
                        Arc::new(|m| m & 1 == 1),
                    ),
                )
                .expect("search")
                .0;
            assert!(none.is_empty(), "the root span is not the failing one");
        }
    }

    #[test]
    fn time_range_and_limit_cut_candidates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(dir.path(), true);
        let base = 1_700_000_000_000_000_000u64;
        let mut s = search(vec![], Arc::new(|_| true));
        s.start = base + 3_000_000;
        let got = store.search_candidates("t", &s).expect("search").0;
        assert_eq!(got.len(), 3, "traces 3, 4 and 5 start in range");
        let mut s = search(
            vec![vec![SpanPredicate {
                column: col::DURATION,
                test: Test::Int(CmpOp::Gt, 500),
            }]],
            Arc::new(|m| m & 1 == 1),
        );
        s.limit = Some(1);
        assert!(
            store
                .search_candidates("t", &s)
                .expect("search")
                .0
                .is_empty()
        );
    }

    #[test]
    fn ops_compare_with_column_on_the_left() {
        assert!(CmpOp::Lt.holds(&1, &2));
        assert!(!CmpOp::Gt.holds(&1, &2));
        assert!(CmpOp::Ne.holds(&"a", &"b"));
        assert!(CmpOp::Ge.holds(&2.0, &2.0));
    }
}
