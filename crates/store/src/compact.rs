//! Compaction: merges several blocks of a tenant into one, streaming a k-way merge by trace id so
//! memory stays at one batch per input block.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;

use crate::block::{Block, BlockWriter, ROW_GROUP_ROWS};
use crate::error::Result;
use crate::schema::col;
use crate::summary::TraceId;

/// Rows each input is read in: a merge holds one batch per input at a time, so its memory
/// grows with the number of inputs times this.
const INPUT_BATCH_ROWS: usize = 1024;

/// One input block's read position.
struct Cursor<I> {
    batches: I,
    batch: Option<RecordBatch>,
    row: usize,
}

impl<I: Iterator<Item = Result<RecordBatch>>> Cursor<I> {
    fn new(mut batches: I) -> Result<Self> {
        let batch = batches.next().transpose()?;
        Ok(Self {
            batches,
            batch,
            row: 0,
        })
    }

    fn key(&self) -> Option<(TraceId, u64)> {
        let b = self.batch.as_ref()?;
        let id = b
            .column(col::TRACE_ID)
            .as_fixed_size_binary()
            .value(self.row);
        let start = b
            .column(col::START)
            .as_primitive::<UInt64Type>()
            .value(self.row);
        Some((TraceId::try_from(id).unwrap_or_default(), start))
    }

    /// Moves to the next row; true when the current batch was used up and replaced.
    fn advance(&mut self) -> Result<bool> {
        self.row += 1;
        let len = self.batch.as_ref().map_or(0, |b| b.num_rows());
        if self.row < len {
            return Ok(false);
        }
        self.row = 0;
        self.batch = loop {
            match self.batches.next().transpose()? {
                Some(b) if b.num_rows() == 0 => continue,
                other => break other,
            }
        };
        Ok(true)
    }
}

/// Merges `inputs` into a new block in `blocks_dir`; the inputs are left for the caller to delete.
pub fn merge_blocks(blocks_dir: &Path, inputs: &[std::sync::Arc<Block>]) -> Result<Block> {
    let level = inputs.iter().map(|b| b.meta.level).max().unwrap_or(0) + 1;
    let sources = inputs.iter().map(|b| b.meta.id.clone()).collect();
    let mut writer = BlockWriter::create(blocks_dir, level, sources)?;
    writer.set_wal_cut(inputs.iter().map(|b| b.meta.wal_cut).max().unwrap_or(0));
    let mut cursors = Vec::with_capacity(inputs.len());
    for block in inputs {
        cursors.push(Cursor::new(block.scan_in(INPUT_BATCH_ROWS)?)?);
    }
    let mut heap = BinaryHeap::new();
    for (i, c) in cursors.iter().enumerate() {
        if let Some(k) = c.key() {
            heap.push(Reverse((k, i)));
        }
    }
    // Batches referenced by the pending output rows, and (batch slot, row) per output row.
    let mut held: Vec<RecordBatch> = Vec::new();
    let mut slot: Vec<Option<usize>> = vec![None; cursors.len()];
    let mut indices: Vec<(usize, usize)> = Vec::with_capacity(ROW_GROUP_ROWS);
    while let Some(Reverse((_, i))) = heap.pop() {
        let cursor = &mut cursors[i];
        let Some(batch) = cursor.batch.as_ref() else {
            continue;
        };
        let s = *slot[i].get_or_insert_with(|| {
            held.push(batch.clone());
            held.len() - 1
        });
        indices.push((s, cursor.row));
        if cursor.advance()? {
            slot[i] = None;
        }
        if let Some(k) = cursor.key() {
            heap.push(Reverse((k, i)));
        }
        if indices.len() == ROW_GROUP_ROWS {
            flush(&mut writer, &mut held, &mut slot, &mut indices)?;
        }
    }
    flush(&mut writer, &mut held, &mut slot, &mut indices)?;
    writer.finish()
}

/// Writes the pending rows and releases the batches they came from.
fn flush(
    writer: &mut BlockWriter,
    held: &mut Vec<RecordBatch>,
    slot: &mut [Option<usize>],
    indices: &mut Vec<(usize, usize)>,
) -> Result<()> {
    if !indices.is_empty() {
        let refs: Vec<&RecordBatch> = held.iter().collect();
        let out = arrow_select::interleave::interleave_record_batch(&refs, indices)?;
        writer.write_sorted(&out)?;
        indices.clear();
    }
    held.clear();
    // A cursor part way through its batch gets a fresh slot on its next row.
    slot.iter_mut().for_each(|s| *s = None);
    Ok(())
}
