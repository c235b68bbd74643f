//! Typed errors of the metrics crate.

use std::path::PathBuf;

/// Why a metrics operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("io on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A block file on disk is damaged.
    #[error("corrupt block {path}: {reason}")]
    CorruptBlock {
        /// The block file.
        path: PathBuf,
        /// What was wrong.
        reason: &'static str,
    },
    /// The tenant id is empty, too long or has characters other than `[A-Za-z0-9_.-]`.
    #[error("invalid tenant id {0:?}")]
    InvalidTenant(String),
    /// The tenant reached its limit of active series; the samples of new series were rejected.
    #[error(
        "tenant {tenant} reached its limit of {limit} active series ({rejected} samples rejected)"
    )]
    SeriesLimit {
        /// The tenant.
        tenant: String,
        /// The configured limit.
        limit: usize,
        /// Samples rejected for it.
        rejected: usize,
    },
    /// Samples were rejected for their timestamps or values.
    #[error("{count} samples rejected: {reason}")]
    Rejected {
        /// The first reason met.
        reason: crate::Rejection,
        /// How many samples were rejected for any timestamp reason.
        count: usize,
    },
    /// A remote-write body is not valid.
    #[error("remote write: {0}")]
    RemoteWrite(String),
    /// A remote-write body is larger than allowed.
    #[error("remote write body of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Size found (or announced by the snappy header).
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the client sent something wrong (HTTP 400) rather than the server failing.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidTenant(_)
                | Error::SeriesLimit { .. }
                | Error::Rejected { .. }
                | Error::RemoteWrite(_)
                | Error::TooLarge { .. }
        )
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
