//! Typed query errors, shaped after Prometheus's API error types.

/// Why a query could not be evaluated.
///
/// [`Error::error_type`] gives the Prometheus HTTP API `errorType` string so an HTTP layer can map
/// each variant to a status code without parsing messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The query text does not parse, or is not valid for the requested evaluation.
    #[error("{0}")]
    BadData(String),
    /// The query parsed but failed while being evaluated.
    #[error("{0}")]
    Execution(String),
    /// The query exceeded a resource limit (samples in memory).
    #[error("{0}")]
    TooManySamples(String),
    /// The series source failed.
    #[error("storage: {0}")]
    Storage(String),
}

impl Error {
    /// The Prometheus API `errorType` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::BadData(_) => "bad_data",
            Error::Execution(_) | Error::TooManySamples(_) => "execution",
            Error::Storage(_) => "internal",
        }
    }

    pub(crate) fn exec(msg: impl Into<String>) -> Self {
        Error::Execution(msg.into())
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
