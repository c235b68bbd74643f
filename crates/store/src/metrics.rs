//! The store's own metrics, registered into the process registry by the binary.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// Counters and gauges the store updates as it works.
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    pub wal_bytes: Counter,
    pub wal_records: Counter,
    pub wal_fsync_seconds: Histogram,
    pub wal_failures: Counter,
    pub flushes: Counter,
    pub flush_failures: Counter,
    pub flushed_spans: Counter,
    pub compactions: Counter,
    pub retention_deleted_blocks: Counter,
    pub blocks: Gauge,
    pub disk_bytes: Gauge,
    pub head_spans: Gauge,
    pub unflushed_bytes: Gauge,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            wal_bytes: Counter::default(),
            wal_records: Counter::default(),
            wal_fsync_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 16)),
            wal_failures: Counter::default(),
            flushes: Counter::default(),
            flush_failures: Counter::default(),
            flushed_spans: Counter::default(),
            compactions: Counter::default(),
            retention_deleted_blocks: Counter::default(),
            blocks: Gauge::default(),
            disk_bytes: Gauge::default(),
            head_spans: Gauge::default(),
            unflushed_bytes: Gauge::default(),
        }
    }
}

impl StoreMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register_with_unit(
            "sextant_wal_written",
            "Bytes appended to the write-ahead log",
            Unit::Bytes,
            self.wal_bytes.clone(),
        );
        r.register(
            "sextant_wal_records",
            "Records appended to the write-ahead log",
            self.wal_records.clone(),
        );
        r.register_with_unit(
            "sextant_wal_fsync_duration",
            "Time to write and fsync one group commit",
            Unit::Seconds,
            self.wal_fsync_seconds.clone(),
        );
        r.register(
            "sextant_wal_failures",
            "Group commits that failed to reach disk",
            self.wal_failures.clone(),
        );
        r.register(
            "sextant_flushes",
            "Head flushes into blocks",
            self.flushes.clone(),
        );
        r.register(
            "sextant_flush_failures",
            "Head flushes that failed and were retried",
            self.flush_failures.clone(),
        );
        r.register(
            "sextant_flushed_spans",
            "Spans written into blocks by flushes",
            self.flushed_spans.clone(),
        );
        r.register(
            "sextant_compactions",
            "Block compactions done",
            self.compactions.clone(),
        );
        r.register(
            "sextant_retention_deleted_blocks",
            "Blocks deleted by retention",
            self.retention_deleted_blocks.clone(),
        );
        r.register(
            "sextant_blocks",
            "Blocks on disk, all tenants",
            self.blocks.clone(),
        );
        r.register_with_unit(
            "sextant_disk",
            "Bytes of blocks on disk, all tenants",
            Unit::Bytes,
            self.disk_bytes.clone(),
        );
        r.register(
            "sextant_head_spans",
            "Spans in memory not yet in a block",
            self.head_spans.clone(),
        );
        r.register_with_unit(
            "sextant_unflushed",
            "Bytes of span data waiting in heads and flushes",
            Unit::Bytes,
            self.unflushed_bytes.clone(),
        );
    }
}
