//! Sextant's span store: the `store` stage of the flow
//! (ingest -> normalize -> **store** -> query -> serve).
//!
//! ```text
//!  write(tenant, request) ──▶ group-commit thread ──▶ WAL segment (fsync) ──▶ ack
//!                                   │
//!                                   ▼
//!                              head (memory, queryable at once)
//!                                   │ full / old: cut, rotate WAL
//!                                   ▼
//!                              flush thread ──▶ block: Parquet sorted by trace id + summaries
//!                                                    │
//!                              maintenance thread ──▶ compaction, retention
//! ```
//! An acknowledged write is on disk in the WAL; a WAL segment is retired (kept as a spare file
//! that a later segment overwrites, or deleted) only after every head that held its records is a
//! durable block.

pub mod block;
pub mod compact;
pub mod config;
pub mod content_file;
pub mod dedup;
pub mod error;
pub mod genai;
pub mod head;
mod listing;
pub mod long_values;
mod maintenance;
pub mod metrics;
mod read;
pub mod reprice;
pub mod rollup;
pub mod rows;
pub mod schema;
pub mod search;
mod store;
pub mod summary;
pub mod tenant;
pub mod totals;
pub mod wal;
pub mod wal_body;
mod writer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

pub use config::{CompactionConfig, RetentionConfig, StoreConfig};
pub use error::StoreError;
pub use genai::{GenAiRow, NoEnrichment, SpanEnricher};
pub use metrics::StoreMetrics;
pub use read::{Projection, TraceQuery};
pub use schema::{RawAttributes, SpanBatchBuilder};
pub use store::Store;
pub use summary::{TraceId, TraceSummary};
pub use tenant::DEFAULT_TENANT;
pub use totals::GenAiTotals;
pub use wal_body::WalBody;
