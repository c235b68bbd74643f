//! Repricing stored spans after a price change: blocks whose spans a new price changes are
//! rewritten with new cost columns (and so new trace totals), swapped in as compaction swaps
//! blocks (the new block names the old one as its source, so a crash midway is safe).

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{ArrayRef, RecordBatch};
use serde::Serialize;

use crate::block::{Block, BlockWriter};
use crate::error::Result;
use crate::genai::{GenAiColumns, GenAiRow, off};
use crate::schema::col;
use crate::store::Store;
use crate::tenant::Tenant;

/// Computes a span's cost from its canonical fields.
pub trait Repricer: Send + Sync {
    /// The new `(cost_usd, cost_source)` of a span, or `None` to leave it as stored (not a
    /// model call, or a cost the client sent).
    fn reprice(
        &self,
        row: &GenAiRow<'_>,
        start_unix_nano: u64,
    ) -> Option<(Option<f64>, Option<String>)>;
}

/// What a repricing did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RepriceStats {
    pub blocks_scanned: u64,
    pub blocks_rewritten: u64,
    pub spans_scanned: u64,
    /// Spans whose cost or cost source changed.
    pub spans_changed: u64,
}

impl Store {
    /// Reprices every stored span that started at or after `since` (Unix nanoseconds), in every
    /// tenant. Heads are flushed first so that every span is in a block.
    pub fn reprice(&self, since: u64, f: &dyn Repricer) -> Result<RepriceStats> {
        self.flush()?;
        let mut stats = RepriceStats::default();
        for tenant in self.shared.tenants() {
            let _rewrite = tenant.rewrite.lock();
            let blocks = tenant.view.read().blocks.clone();
            for block in blocks.iter().filter(|b| b.meta.max_end_unix_nano >= since) {
                stats.blocks_scanned += 1;
                stats.spans_scanned += block.meta.spans;
                let changed = count_changes(block, since, f)?;
                if changed > 0 {
                    rewrite(&tenant, block, since, f)?;
                    stats.blocks_rewritten += 1;
                    stats.spans_changed += changed;
                }
            }
        }
        crate::maintenance::update_gauges(&self.shared);
        Ok(stats)
    }
}

/// The new cost of `row`, if it differs from the stored one.
fn new_cost(
    c: &GenAiColumns<'_>,
    row: usize,
    start: u64,
    since: u64,
    f: &dyn Repricer,
) -> Option<(Option<f64>, Option<String>)> {
    if start < since || !c.llm_call(row) {
        return None;
    }
    let current = (c.cost_usd(row), c.str(off::COST_SOURCE, row));
    let (usd, source) = f.reprice(&c.row(row), start)?;
    (current != (usd, source.as_deref())).then_some((usd, source))
}

fn count_changes(block: &Block, since: u64, f: &dyn Repricer) -> Result<u64> {
    let mut cols: Vec<usize> = vec![col::START];
    cols.extend(col::GENAI..col::GENAI + off::COUNT);
    let projection = crate::Projection::of(cols.clone());
    let mut changed = 0;
    for batch in block.scan_columns(&cols)? {
        let batch = batch?;
        let Some(c) = GenAiColumns::projected(&batch, &projection) else {
            return Ok(0);
        };
        let start = batch
            .column(projection.index(col::START).unwrap_or(0))
            .as_primitive::<UInt64Type>();
        for row in 0..batch.num_rows() {
            changed += u64::from(new_cost(&c, row, start.value(row), since, f).is_some());
        }
    }
    Ok(changed)
}

/// The batch with its cost columns recomputed.
fn repriced(batch: &RecordBatch, since: u64, f: &dyn Repricer) -> Result<RecordBatch> {
    let Some(c) = GenAiColumns::of(batch) else {
        return Ok(batch.clone());
    };
    let start = batch.column(col::START).as_primitive::<UInt64Type>();
    let mut usd = Float64Builder::with_capacity(batch.num_rows());
    let mut source = StringBuilder::with_capacity(batch.num_rows(), 0);
    for row in 0..batch.num_rows() {
        match new_cost(&c, row, start.value(row), since, f) {
            Some((u, s)) => {
                usd.append_option(u);
                source.append_option(s);
            }
            None => {
                usd.append_option(c.cost_usd(row));
                source.append_option(c.str(off::COST_SOURCE, row));
            }
        }
    }
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[col::GENAI + off::COST_USD] = Arc::new(usd.finish());
    columns[col::GENAI + off::COST_SOURCE] = Arc::new(source.finish());
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

fn rewrite(tenant: &Tenant, block: &Arc<Block>, since: u64, f: &dyn Repricer) -> Result<()> {
    let mut writer = BlockWriter::create(
        &tenant.blocks_dir(),
        block.meta.level,
        vec![block.meta.id.clone()],
    )?;
    writer.set_wal_cut(block.meta.wal_cut);
    for batch in block.scan()? {
        if let Err(e) = repriced(&batch?, since, f).and_then(|b| writer.write_sorted(&b)) {
            writer.abort()?;
            return Err(e);
        }
    }
    let new = Arc::new(writer.finish()?);
    {
        let mut v = tenant.view.write();
        v.blocks.retain(|b| !Arc::ptr_eq(b, block));
        v.blocks.push(new.clone());
        v.blocks.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
    }
    block.delete()?;
    tracing::info!(tenant = %tenant.name, old = %block.meta.id, new = %new.meta.id,
        "block repriced");
    Ok(())
}
