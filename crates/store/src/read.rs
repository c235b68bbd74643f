//! Read paths of the store: one trace's spans, trace listings with GenAI totals, and projected
//! scans of every span in a time range (for cost rollups and span queries).

use std::collections::HashMap;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::error::Result;
use crate::store::Store;
use crate::summary::{TraceId, TraceSummary};
use crate::tenant::validate_tenant;
use crate::{head, rows};

/// What a trace listing asks for.
#[derive(Debug, Clone, Default)]
pub struct TraceQuery {
    /// Traces that start within `[start, end]`, Unix nanoseconds.
    pub start: u64,
    pub end: u64,
    pub limit: usize,
    /// Only traces whose root span belongs to this service.
    pub service: Option<String>,
    /// Only traces with a model call to this (request or response) model.
    pub model: Option<String>,
    /// Only traces in which this agent ran.
    pub agent: Option<String>,
    /// Only traces of this conversation.
    pub conversation_id: Option<String>,
    /// Only traces whose model calls cost at least this much, USD.
    pub min_cost_usd: Option<f64>,
}

impl TraceQuery {
    pub(crate) fn matches(&self, s: &TraceSummary) -> bool {
        let g = &s.genai;
        s.start_unix_nano >= self.start
            && s.start_unix_nano <= self.end
            && (self.service.as_ref()).is_none_or(|v| s.root_service.as_ref() == Some(v))
            && (self.model.as_ref()).is_none_or(|m| g.models.contains(m))
            && (self.agent.as_ref()).is_none_or(|a| g.agents.contains(a))
            && (self.conversation_id.as_ref()).is_none_or(|c| g.conversation_id.as_ref() == Some(c))
            && self.min_cost_usd.is_none_or(|c| g.cost_usd >= c)
    }
}

impl Store {
    /// The rows of one trace, from heads and blocks, as batches of the current schema.
    pub fn trace_batches(&self, tenant: &str, id: &TraceId) -> Result<Vec<RecordBatch>> {
        validate_tenant(tenant)?;
        let snap = self.snapshot(tenant);
        let mut out = Vec::new();
        for batch in &snap.head {
            let rows = head::rows_of_trace(batch, id);
            if !rows.is_empty() {
                let idx =
                    arrow_array::UInt32Array::from_iter_values(rows.iter().map(|r| *r as u32));
                out.push(arrow_select::take::take_record_batch(batch, &idx)?);
            }
        }
        for block in &snap.blocks {
            for batch in block.find_trace(id)? {
                out.push(crate::schema::upgrade(batch)?);
            }
        }
        Ok(out)
    }

    /// Every span of a trace, from heads and blocks; empty when unknown. Blocks are read
    /// without the derived GenAI columns, which rebuilding the OTLP spans does not need.
    pub fn find_trace(&self, tenant: &str, id: &TraceId) -> Result<Vec<ResourceSpans>> {
        validate_tenant(tenant)?;
        let snap = self.snapshot(tenant);
        let mut parts = Vec::new();
        for batch in &snap.head {
            let rows = head::rows_of_trace(batch, id);
            if !rows.is_empty() {
                parts.extend(rows::rows_to_resource_spans(batch, &rows)?);
            }
        }
        for block in &snap.blocks {
            for batch in block.find_trace_spans(id)? {
                let all: Vec<usize> = (0..batch.num_rows()).collect();
                parts.extend(rows::rows_to_resource_spans(&batch, &all)?);
            }
        }
        Ok(rows::merge_resource_spans(parts))
    }

    /// Every span of each trace in `ids`, from heads and blocks, reading each block once for
    /// all of them (a search fetching its matches); unknown traces are absent from the map.
    pub fn find_traces(
        &self,
        tenant: &str,
        ids: &[TraceId],
    ) -> Result<HashMap<TraceId, Vec<ResourceSpans>>> {
        validate_tenant(tenant)?;
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let snap = self.snapshot(tenant);
        let mut parts: HashMap<TraceId, Vec<ResourceSpans>> = HashMap::new();
        for batch in &snap.head {
            add_traces(batch, &sorted, &mut parts)?;
        }
        for block in &snap.blocks {
            for batch in block.find_traces(&sorted)? {
                add_traces(&crate::schema::upgrade(batch)?, &sorted, &mut parts)?;
            }
        }
        Ok(parts
            .into_iter()
            .map(|(id, p)| (id, rows::merge_resource_spans(p)))
            .collect())
    }

    /// The summary of one trace (root, timing, GenAI totals); `None` when unknown.
    pub fn trace_summary(&self, tenant: &str, id: &TraceId) -> Result<Option<TraceSummary>> {
        let mut acc = HashMap::new();
        for batch in self.trace_batches(tenant, id)? {
            crate::summary::summarize_into(&mut acc, &batch);
        }
        Ok(acc.remove(id))
    }

    /// Every trace summary that starts in `[start, end]`, unordered.
    pub fn summaries(&self, tenant: &str, start: u64, end: u64) -> Result<Vec<TraceSummary>> {
        validate_tenant(tenant)?;
        let snap = self.snapshot(tenant);
        let mut acc: HashMap<TraceId, TraceSummary> = HashMap::new();
        for batch in &snap.head {
            crate::summary::summarize_into(&mut acc, batch);
        }
        for block in snap.blocks.iter().filter(|b| b.overlaps(start, u64::MAX)) {
            block.summaries(|s| match acc.get_mut(&s.trace_id) {
                Some(e) => e.merge(&s),
                None => {
                    acc.insert(s.trace_id, s);
                }
            })?;
        }
        Ok(acc
            .into_values()
            .filter(|s| s.start_unix_nano >= start && s.start_unix_nano <= end)
            .collect())
    }

    /// Calls `f` with every batch holding spans that may start in `[start, end]`: head batches
    /// whole, block batches with only the columns in `columns` (original schema indices, read
    /// back in schema order). `f` gets the batch and, for each wanted column, its index in it.
    pub fn scan_spans(
        &self,
        tenant: &str,
        start: u64,
        end: u64,
        columns: &[usize],
        mut f: impl FnMut(&RecordBatch, &Projection),
    ) -> Result<()> {
        validate_tenant(tenant)?;
        let snap = self.snapshot(tenant);
        let full = Projection::full();
        for batch in &snap.head {
            let (lo, _) = head::time_range(batch);
            if lo <= end {
                f(batch, &full);
            }
        }
        let mut cols = columns.to_vec();
        cols.sort_unstable();
        cols.dedup();
        let projected = Projection {
            columns: Some(cols.clone()),
        };
        for block in snap.blocks.iter().filter(|b| b.overlaps(start, end)) {
            for batch in block.scan_columns(&cols)? {
                f(&batch?, &projected);
            }
        }
        Ok(())
    }
}

/// Adds the rows of `batch` that belong to a trace of `sorted` to that trace's parts.
fn add_traces(
    batch: &RecordBatch,
    sorted: &[TraceId],
    parts: &mut HashMap<TraceId, Vec<ResourceSpans>>,
) -> Result<()> {
    let ids = batch
        .column(crate::schema::col::TRACE_ID)
        .as_fixed_size_binary();
    let mut rows: HashMap<TraceId, Vec<usize>> = HashMap::new();
    for row in 0..batch.num_rows() {
        if let Ok(id) = TraceId::try_from(ids.value(row))
            && sorted.binary_search(&id).is_ok()
        {
            rows.entry(id).or_default().push(row);
        }
    }
    for (id, rows) in rows {
        let spans = rows::rows_to_resource_spans(batch, &rows)?;
        parts.entry(id).or_default().extend(spans);
    }
    Ok(())
}

/// Where an original span-schema column sits in a (possibly projected) batch.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Sorted original indices present in the batch; `None` when the batch has every column.
    columns: Option<Vec<usize>>,
}

impl Projection {
    pub fn full() -> Self {
        Self { columns: None }
    }

    /// The layout of a batch read with `columns` (sorted and deduplicated here).
    pub fn of(mut columns: Vec<usize>) -> Self {
        columns.sort_unstable();
        columns.dedup();
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
