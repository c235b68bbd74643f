//! The columnar fast path of TraceQL metrics. When a query keeps spans by a filter the
//! columns answer exactly (`pushdown::exact_dnf`, or no filter), groups by fields that are
//! columns, and measures nothing or the span duration, its series are folded straight from
//! those columns, without rebuilding a span: `{ } | rate() by (resource.service.name)` reads
//! start times and service names, the latter as dictionary keys resolved to a series once per
//! distinct value and batch.
//!
//! Filters and labels on the GenAI strings `genai_exact` knows also read the attributes blob,
//! to vouch for each row that the column says what TraceQL would; at the first row it cannot
//! vouch for, the fold is dropped and the caller evaluates spans instead.

use std::collections::HashMap;
use std::ops::ControlFlow;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use sextant_store::Store;
use sextant_store::schema::col;
use sextant_store::search::{ColumnIndex, ScanStats, SpanPredicate, span_masks};
use sextant_traceql::ast::{AttributeScope, FieldRef, Intrinsic, Root, SpansetExpr, Stage};
use sextant_traceql::value::{kind_of_code, status_of_code};
use sextant_traceql::{Engine, MetricsEvaluator, MetricsRequest, SeriesId, Value};

use super::genai_exact::{self, RowCheck};
use super::pushdown;
use crate::error::ApiError;

/// Most `by()` fields the fast path combines into one key.
const MAX_LABELS: usize = 4;
/// The key part of a null label value.
const NULL_PART: u32 = u32::MAX;

/// A `by()` field backed by a column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Label {
    /// A string column (span name, service).
    Str(usize),
    Status,
    Kind,
}

impl Label {
    fn column(self) -> usize {
        match self {
            Label::Str(c) => c,
            Label::Status => col::STATUS_CODE,
            Label::Kind => col::KIND,
        }
    }
}

/// What the fast path reads and tests.
#[derive(Debug)]
struct Plan {
    /// Alternatives of conjunctions; empty when every span is kept.
    groups: Vec<Vec<SpanPredicate>>,
    labels: Vec<Label>,
    /// Whether spans contribute their duration (else only their count).
    duration: bool,
    /// GenAI columns read by the filter or the labels, checked row by row.
    checked: Vec<usize>,
}

impl Plan {
    fn columns(&self) -> Vec<usize> {
        let mut c = vec![col::START];
        c.extend(self.labels.iter().map(|l| l.column()));
        c.extend(self.groups.iter().flatten().map(|p| p.column));
        if self.duration {
            c.push(col::DURATION);
        }
        if !self.checked.is_empty() {
            c.push(col::ATTRIBUTES);
        }
        c.sort_unstable();
        c.dedup();
        c
    }
}

fn plan(engine: &Engine, eval: &MetricsEvaluator<'_>) -> Option<Plan> {
    let Root::Metrics(m) = &engine.query().root else {
        return None;
    };
    if !engine.is_span_local() {
        return None;
    }
    let groups = match m.pipeline.stages.as_slice() {
        [Stage::Spanset(SpansetExpr::Filter(None))] => Vec::new(),
        [Stage::Spanset(SpansetExpr::Filter(Some(f)))] => pushdown::exact_dnf(f)?,
        _ => return None,
    };
    let duration = match eval.columnar_field()? {
        None => false,
        Some(FieldRef::Intrinsic {
            intrinsic: Intrinsic::Duration,
            ..
        }) => true,
        Some(_) => return None,
    };
    let labels: Vec<Label> = eval.by_fields().iter().map(label).collect::<Option<_>>()?;
    let mut checked: Vec<usize> = (groups.iter().flatten().map(|p| p.column))
        .chain(labels.iter().map(|l| l.column()))
        .filter(|c| *c >= col::GENAI)
        .collect();
    checked.sort_unstable();
    checked.dedup();
    (labels.len() <= MAX_LABELS).then_some(Plan {
        groups,
        labels,
        duration,
        checked,
    })
}

fn label(f: &FieldRef) -> Option<Label> {
    match f {
        FieldRef::Intrinsic { intrinsic, .. } => match intrinsic {
            Intrinsic::Name => Some(Label::Str(col::NAME)),
            Intrinsic::Status => Some(Label::Status),
            Intrinsic::Kind => Some(Label::Kind),
            _ => None,
        },
        // As in the light path, a resource without `service.name` groups as the column's
        // `unknown_service` (the SDKs always set one).
        FieldRef::Attribute(a)
            if !a.parent && a.scope == AttributeScope::Resource && a.name == "service.name" =>
        {
            Some(Label::Str(col::SERVICE))
        }
        FieldRef::Attribute(a) if !a.parent && a.scope == AttributeScope::Span => {
            genai_exact::column(&a.name).map(Label::Str)
        }
        FieldRef::Attribute(_) => None,
    }
}

/// Folds the query into `eval` from columns when it qualifies; `None` when it does not (the
/// caller then evaluates spans).
pub fn try_fold<'e>(
    store: &Store,
    tenant: &str,
    engine: &'e Engine,
    req: MetricsRequest,
    eval: &mut MetricsEvaluator<'e>,
) -> Result<Option<ScanStats>, ApiError> {
    let Some(plan) = plan(engine, eval) else {
        return Ok(None);
    };
    let (start, end) = (req.start_unix_nano, req.end_unix_nano);
    let columns = plan.columns();
    let mut exact = true;
    let stats = store.scan_newest_first_dictionary(tenant, start, end, &columns, |src| {
        for batch in &src.batches {
            if !fold_batch(batch, src.projection, &plan, eval) {
                exact = false;
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    if !exact {
        let bad =
            |e: sextant_traceql::EvalError| ApiError::BadRequest(format!("query failed: {e}"));
        *eval = MetricsEvaluator::new(engine, req).map_err(bad)?;
        return Ok(None);
    }
    Ok(Some(stats))
}

/// Folds one batch; false when some row's GenAI columns may differ from what TraceQL sees
/// (the fold is then incomplete and must be dropped).
fn fold_batch(
    batch: &RecordBatch,
    idx: &ColumnIndex,
    plan: &Plan,
    eval: &mut MetricsEvaluator<'_>,
) -> bool {
    if !plan.checked.is_empty() {
        let check = RowCheck::new(batch, idx, &plan.checked);
        if !check.is_some_and(|c| (0..batch.num_rows()).all(|row| c.exact(row))) {
            return false;
        }
    }
    let Some(starts) = idx.index(col::START) else {
        return true;
    };
    let starts = batch.column(starts).as_primitive::<UInt64Type>();
    let durations = (idx.index(col::DURATION).filter(|_| plan.duration))
        .map(|i| batch.column(i).as_primitive::<UInt64Type>());
    let masks = (!plan.groups.is_empty()).then(|| span_masks(batch, idx, &plan.groups));
    let keys = LabelKeys::new(batch, idx, &plan.labels);
    // One label of few values (a dictionary, or none at all): a slot per value; else a map.
    let mut dense: Vec<Option<SeriesId>> = vec![None; keys.dense_slots().unwrap_or(0)];
    let mut sparse: HashMap<[u32; MAX_LABELS], SeriesId> = HashMap::new();
    for row in 0..batch.num_rows() {
        if masks.as_ref().is_some_and(|m| m[row] == 0) {
            continue;
        }
        let key = keys.key(row);
        let id = match dense.get_mut(key[0] as usize).filter(|_| keys.is_dense()) {
            Some(Some(id)) => *id,
            Some(slot) => *slot.insert(eval.series_for(keys.values(row))),
            None => *sparse
                .entry(key)
                .or_insert_with(|| eval.series_for(keys.values(row))),
        };
        let value =
            durations.map(|d| Value::Duration(i64::try_from(d.value(row)).unwrap_or(i64::MAX)));
        eval.observe_value(id, starts.value(row), value.as_ref());
    }
    true
}

/// The `by()` columns of one batch: a key per row that is equal exactly when the label values
/// are, and the values behind it.
struct LabelKeys<'a> {
    columns: Vec<LabelColumn<'a>>,
}

enum LabelColumn<'a> {
    /// Strings as a dictionary: the key is the dictionary key.
    Dict(&'a arrow_array::DictionaryArray<Int32Type>),
    /// Plain strings (head batches): the key numbers the distinct values.
    Str(&'a arrow_array::StringArray, HashMap<&'a str, u32>),
    Status(&'a arrow_array::Int32Array),
    Kind(&'a arrow_array::Int32Array),
    /// Absent from this batch: nil for every row.
    Missing,
}

impl<'a> LabelKeys<'a> {
    fn new(batch: &'a RecordBatch, idx: &ColumnIndex, labels: &[Label]) -> Self {
        let columns = labels
            .iter()
            .map(|l| {
                let Some(a) = idx.index(l.column()).map(|i| batch.column(i)) else {
                    return LabelColumn::Missing;
                };
                match (l, a.data_type()) {
                    (Label::Str(_), _) => match a.as_dictionary_opt::<Int32Type>() {
                        Some(d) => LabelColumn::Dict(d),
                        None => a
                            .as_string_opt::<i32>()
                            .map_or(LabelColumn::Missing, |s| LabelColumn::Str(s, distinct(s))),
                    },
                    (Label::Status, _) => a
                        .as_primitive_opt::<Int32Type>()
                        .map_or(LabelColumn::Missing, LabelColumn::Status),
                    (Label::Kind, _) => a
                        .as_primitive_opt::<Int32Type>()
                        .map_or(LabelColumn::Missing, LabelColumn::Kind),
                }
            })
            .collect();
        Self { columns }
    }

    /// With no label, or one dictionary label, the number of distinct keys (null included):
    /// then [`LabelKeys::key`]'s first part indexes a table of that size.
    fn dense_slots(&self) -> Option<usize> {
        match self.columns.as_slice() {
            [] => Some(1),
            [LabelColumn::Dict(d)] => Some(d.values().len() + 1),
            _ => None,
        }
    }

    fn is_dense(&self) -> bool {
        self.dense_slots().is_some()
    }

    /// A key per row, equal for rows with equal label values in this batch (the parts are
    /// dictionary keys, distinct-string numbers or codes; `NULL_PART` for a null).
    fn key(&self, row: usize) -> [u32; MAX_LABELS] {
        let mut key = [0; MAX_LABELS];
        for (k, c) in key.iter_mut().zip(&self.columns) {
            *k = match c {
                LabelColumn::Dict(d) if d.is_valid(row) => d.keys().value(row).unsigned_abs(),
                LabelColumn::Dict(d) => u32::try_from(d.values().len()).unwrap_or(NULL_PART),
                LabelColumn::Str(s, ids) if s.is_valid(row) => {
                    ids.get(s.value(row)).copied().unwrap_or(NULL_PART)
                }
                LabelColumn::Status(a) | LabelColumn::Kind(a) => a.value(row).cast_unsigned(),
                LabelColumn::Str(..) | LabelColumn::Missing => NULL_PART,
            };
        }
        key
    }

    fn values(&self, row: usize) -> Vec<Value> {
        self.columns
            .iter()
            .map(|c| match c {
                LabelColumn::Dict(d) if d.is_valid(row) => {
                    let values = d.values().as_string_opt::<i32>();
                    let key = usize::try_from(d.keys().value(row)).ok();
                    match (values, key) {
                        (Some(v), Some(k)) if k < v.len() && v.is_valid(k) => {
                            Value::Str(v.value(k).to_string())
                        }
                        _ => Value::Nil,
                    }
                }
                LabelColumn::Str(s, _) if s.is_valid(row) => Value::Str(s.value(row).to_string()),
                LabelColumn::Status(a) => Value::Status(status_of_code(a.value(row))),
                LabelColumn::Kind(a) => Value::Kind(kind_of_code(a.value(row))),
                _ => Value::Nil,
            })
            .collect()
    }
}

/// Each distinct string of `s`, numbered.
fn distinct(s: &arrow_array::StringArray) -> HashMap<&str, u32> {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    for row in 0..s.len() {
        if s.is_valid(row) {
            let next = u32::try_from(ids.len()).unwrap_or(NULL_PART);
            ids.entry(s.value(row)).or_insert(next);
        }
    }
    ids
}
