//! The store's error type.

use std::path::PathBuf;

/// Everything that can go wrong below the ingest and query APIs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory operation failed.
    #[error("io error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Parquet encoding or decoding failed.
    #[error("parquet error: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow array construction failed.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A protobuf blob stored by Sextant could not be decoded.
    #[error("corrupt stored protobuf: {0}")]
    Decode(#[from] prost::DecodeError),
    /// A block's content store (long attribute values) is damaged.
    #[error("corrupt content store {path}: {reason}")]
    Content { path: PathBuf, reason: String },
    /// Block metadata could not be read or written.
    #[error("block metadata error in {path}: {reason}")]
    Meta { path: PathBuf, reason: String },
    /// A block written by a newer Sextant.
    #[error(
        "unsupported block format version {found} in {path} (this build reads up to {supported})"
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// The tenant id is not usable as a storage partition.
    #[error("invalid tenant id {0:?}: use 1-150 characters of [A-Za-z0-9_.-], not only dots")]
    InvalidTenant(String),
    /// The store is shutting down and takes no more writes.
    #[error("store is shutting down")]
    ShuttingDown,
    /// Too much data is waiting to be flushed; the client should retry later.
    #[error("store is overloaded: {0}")]
    Overloaded(String),
    /// A read asked for something the store cannot answer as asked.
    #[error("bad query: {0}")]
    BadQuery(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }

    /// Whether a client may retry the same request later and expect success.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Overloaded(_) | StoreError::ShuttingDown)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
