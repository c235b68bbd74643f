//! The head: spans acknowledged since the last flush, in memory and queryable at once.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{Array, RecordBatch};

/// One tenant's unflushed span batches, in arrival order.
#[derive(Debug)]
pub struct Head {
    batches: Vec<Arc<RecordBatch>>,
    spans: usize,
    bytes: usize,
    min_start: u64,
    max_end: u64,
    created: Instant,
}

impl Default for Head {
    fn default() -> Self {
        Self {
            batches: Vec::new(),
            spans: 0,
            bytes: 0,
            min_start: u64::MAX,
            max_end: 0,
            created: Instant::now(),
        }
    }
}

impl Head {
    pub fn append(&mut self, batch: Arc<RecordBatch>) {
        let (lo, hi) = time_range(&batch);
        self.min_start = self.min_start.min(lo);
        self.max_end = self.max_end.max(hi);
        self.spans += batch.num_rows();
        self.bytes += batch.get_array_memory_size();
        self.batches.push(batch);
    }

    pub fn batches(&self) -> &[Arc<RecordBatch>] {
        &self.batches
    }

    pub fn spans(&self) -> usize {
        self.spans
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.spans == 0
    }

    pub fn age(&self) -> std::time::Duration {
        self.created.elapsed()
    }

    /// Earliest span start and latest span end, in Unix nanoseconds.
    pub fn time_range(&self) -> (u64, u64) {
        (self.min_start, self.max_end)
    }
}

/// Earliest start and latest end of the spans in a batch.
pub fn time_range(batch: &RecordBatch) -> (u64, u64) {
    use crate::schema::col;
    let start = batch.column(col::START).as_primitive::<UInt64Type>();
    let dur = batch.column(col::DURATION).as_primitive::<UInt64Type>();
    let mut lo = u64::MAX;
    let mut hi = 0;
    for (s, d) in start.values().iter().zip(dur.values().iter()) {
        lo = lo.min(*s);
        hi = hi.max(s.saturating_add(*d));
    }
    (lo, hi)
}

/// Row numbers of `batch` whose trace id is `trace_id`.
pub fn rows_of_trace(batch: &RecordBatch, trace_id: &[u8; 16]) -> Vec<usize> {
    let ids = batch
        .column(crate::schema::col::TRACE_ID)
        .as_fixed_size_binary();
    (0..ids.len())
        .filter(|&i| ids.value(i) == trace_id)
        .collect()
}
