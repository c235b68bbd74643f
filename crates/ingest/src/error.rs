//! Ingest errors, each mapped to the HTTP status and gRPC code the OTLP specification asks for.

use http::StatusCode;
use sextant_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body is not a valid OTLP message in the declared format.
    #[error("malformed {format} body: {reason}")]
    Malformed {
        format: &'static str,
        reason: String,
    },
    /// The body (or what it inflates to) is larger than allowed.
    #[error("{what} exceeds the limit of {limit} bytes")]
    TooLarge { what: &'static str, limit: usize },
    /// Neither protobuf nor JSON, or an encoding other than gzip/identity.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The `X-Scope-OrgID` header names no usable tenant.
    #[error("{0}")]
    BadTenant(String),
    /// A signal whose ingest is not built yet.
    #[error("{0} ingest is not implemented yet in this Sextant version; nothing was stored")]
    NotImplemented(&'static str),
    /// Too many bytes are being decoded at once.
    #[error("too much data in flight; retry later")]
    Busy,
    /// The store refused or failed the write.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The series store refused (`client`: the samples are at fault) or failed the write.
    #[error("series store: {reason}")]
    Series { reason: String, client: bool },
}

impl IngestError {
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::Malformed { .. } | Self::BadTenant(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Busy => StatusCode::TOO_MANY_REQUESTS,
            Self::Store(StoreError::InvalidTenant(_)) => StatusCode::BAD_REQUEST,
            Self::Store(e) if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Series { client: true, .. } => StatusCode::BAD_REQUEST,
            Self::Series { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            Self::Malformed { .. } | Self::BadTenant(_) | Self::UnsupportedMediaType(_) => {
                tonic::Code::InvalidArgument
            }
            Self::TooLarge { .. } => tonic::Code::InvalidArgument,
            Self::NotImplemented(_) => tonic::Code::Unimplemented,
            // UNAVAILABLE is what OTLP exporters retry without needing RetryInfo.
            Self::Busy => tonic::Code::Unavailable,
            Self::Store(StoreError::InvalidTenant(_)) => tonic::Code::InvalidArgument,
            Self::Store(e) if e.is_retryable() => tonic::Code::Unavailable,
            Self::Store(_) => tonic::Code::Internal,
            Self::Series { client: true, .. } => tonic::Code::InvalidArgument,
            Self::Series { .. } => tonic::Code::Unavailable,
        }
    }

    /// Whether the client should retry; such answers carry `Retry-After`.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.http_status(),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        )
    }

    /// A label for the rejected-requests metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "malformed",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::BadTenant(_) | Self::Store(StoreError::InvalidTenant(_)) => "bad_tenant",
            Self::NotImplemented(_) => "not_implemented",
            Self::Busy => "busy",
            Self::Store(e) if e.is_retryable() => "overloaded",
            Self::Store(_) => "store_error",
            Self::Series { client: true, .. } => "rejected_samples",
            Self::Series { .. } => "series_store_error",
        }
    }
}

impl From<IngestError> for tonic::Status {
    fn from(e: IngestError) -> Self {
        tonic::Status::new(e.grpc_code(), e.to_string())
    }
}
