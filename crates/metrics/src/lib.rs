//! Metrics for Sextant: where samples come from and where they are kept.
//!
//! ```text
//!  OTLP metrics ──otlp_to_samples──┐
//!  remote write ──decode_remote_write──┼──▶ SeriesStore::append ──▶ WAL + head ──▶ blocks
//!  span batches ──SpanMetrics::snapshot─┘                     │
//!                                          SeriesStore::source ▼ (promql::SeriesSource)
//! ```
//!
//! Wiring expected from the server: one [`SeriesStore`] (own directory), `maintain(now_ms())`
//! every minute, one [`DeltaState`] and [`LabelCache`] per tenant for OTLP, [`SpanMetrics::observe_batch`] on every
//! span batch ingest builds and `snapshot` every 15 s appended per tenant, and
//! [`SeriesStore::source`] handed to the PromQL engine.
//!
//! Known limits: a sample at the timestamp of one already flushed to a block is not checked for
//! duplication (the head's value wins at query time); blocks are not compacted; series metadata
//! of expired blocks stays in memory until restart.

mod block;
mod codec;
mod delta;
mod error;
mod family;
mod genai_family;
mod gorilla;
mod head;
mod metadata;
mod naming;
mod otlp;
mod otlp_cache;
mod remote_write;
mod source;
mod spanmetrics;
mod store;
mod tenant;
mod wal;

pub use delta::{DeltaError, DeltaState};
pub use error::{Error, Result};
pub use head::Rejection;
pub use metadata::{MetadataStore, MetricMeta, otlp_metadata, span_metrics_metadata};
pub use naming::{Kind as NameKind, label_name, metric_name, unit_name};
pub use otlp::{
    Rejections, Sample, exponential_to_classic, format_float, otlp_to_samples,
    otlp_to_samples_cached,
};
pub use otlp_cache::LabelCache;
pub use remote_write::{
    Label as RwLabel, MAX_COMPRESSED_BYTES, MAX_DECOMPRESSED_BYTES, RwSample, TimeSeries,
    WriteRequest, decode_remote_write,
};
pub use source::TenantSource;
pub use spanmetrics::{
    DURATION_BUCKETS, LATENCY_BUCKETS, SpanMetrics, SpanMetricsConfig, TOKEN_BUCKETS, TTFT_BUCKETS,
    span_kind_name, status_code_name,
};
pub use store::{AppendStats, SeriesStore, SeriesStoreConfig, now_ms};
pub use tenant::validate_tenant;
