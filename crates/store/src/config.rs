//! Store settings, filled in by the binary's configuration layer.

use std::path::PathBuf;
use std::time::Duration;

/// How the store keeps, flushes, compacts and expires data.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Root of everything on disk: `wal/` and `tenants/<tenant>/blocks/`.
    pub data_dir: PathBuf,
    /// A tenant's head is flushed to a block at this many spans...
    pub head_max_spans: usize,
    /// ...or at this many bytes of memory...
    pub head_max_bytes: usize,
    /// ...or when its oldest span has waited this long.
    pub head_max_age: Duration,
    /// Writes are refused (retryable) while this many bytes wait in heads and flushes.
    pub max_unflushed_bytes: usize,
    pub compaction: CompactionConfig,
    pub retention: RetentionConfig,
}

#[derive(Debug, Clone)]
pub struct CompactionConfig {
    pub enabled: bool,
    /// Compact once a tenant has this many blocks below `max_block_spans / 2`.
    pub min_blocks: usize,
    /// A compaction writes blocks of at most about this many spans.
    pub max_block_spans: u64,
    pub interval: Duration,
}

#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// Blocks whose newest span is older than this are deleted; `None` keeps them forever.
    pub max_age: Option<Duration>,
    /// Oldest blocks are deleted while a tenant's blocks take more bytes than this.
    pub max_bytes_per_tenant: Option<u64>,
    pub interval: Duration,
}

impl StoreConfig {
    /// Defaults for a laptop, rooted at `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            head_max_spans: 250_000,
            // A head costs about twice this while it is flushed (it is still served) and the
            // next one fills; 64 MiB keeps the peak RSS of a busy server under 300 MiB.
            head_max_bytes: 64 << 20,
            head_max_age: Duration::from_secs(60),
            max_unflushed_bytes: 256 << 20,
            compaction: CompactionConfig {
                enabled: true,
                min_blocks: 4,
                max_block_spans: 4_000_000,
                interval: Duration::from_secs(30),
            },
            retention: RetentionConfig {
                max_age: Some(Duration::from_secs(14 * 24 * 3600)),
                max_bytes_per_tenant: None,
                interval: Duration::from_secs(60),
            },
        }
    }
}
