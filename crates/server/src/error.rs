//! Errors of the query APIs, rendered the way each API's clients expect.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use sextant_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter is missing or malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No such trace (or other object).
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error("store error: {0}")]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_)
            | ApiError::Store(StoreError::InvalidTenant(_) | StoreError::BadQuery(_)) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Store(e) if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Tempo answers errors as plain text with the status code.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, ApiError::Store(_)) {
            tracing::error!(error = %self, "query failed");
        }
        (self.status(), format!("{self}\n")).into_response()
    }
}
