//! Errors of the Prometheus HTTP API, with Prometheus's `errorType` names and status codes.

use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::json;

/// Why a Prometheus API request failed; each variant is one of Prometheus's `errorType`s.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromError {
    /// A parameter is missing or malformed, or the query does not parse (400 `bad_data`).
    #[error("{0}")]
    BadData(String),
    /// The query parsed but failed while being evaluated (422 `execution`).
    #[error("{0}")]
    Execution(String),
    /// The query ran past its timeout (503 `timeout`).
    #[error("{0}")]
    Timeout(String),
    /// The server or its storage failed (500 `internal`).
    #[error("{0}")]
    Internal(String),
}

impl PromError {
    /// A `bad_data` error naming the parameter, as Prometheus's `invalidParamError` words it.
    pub fn invalid_param(param: &str, why: impl std::fmt::Display) -> Self {
        PromError::BadData(format!("invalid parameter {param:?}: {why}"))
    }

    /// The Prometheus API `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            PromError::BadData(_) => "bad_data",
            PromError::Execution(_) => "execution",
            PromError::Timeout(_) => "timeout",
            PromError::Internal(_) => "internal",
        }
    }

    /// The HTTP status Prometheus answers this error type with.
    pub fn status(&self) -> StatusCode {
        match self {
            PromError::BadData(_) => StatusCode::BAD_REQUEST,
            PromError::Execution(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PromError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            PromError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sextant_promql::Error> for PromError {
    fn from(e: sextant_promql::Error) -> Self {
        match e.error_type() {
            "bad_data" => PromError::BadData(e.to_string()),
            "internal" => PromError::Internal(e.to_string()),
            _ => PromError::Execution(e.to_string()),
        }
    }
}

/// `{"status":"error","errorType":"...","error":"..."}` with the matching status code.
impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        if matches!(self, PromError::Internal(_)) {
            tracing::error!(error = %self, "prometheus api request failed");
        }
        let body = json::error_envelope(self.error_type(), &self.to_string());
        (self.status(), json::json_headers(), body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_keep_their_type() {
        let cases = [
            (sextant_promql::Error::BadData("x".into()), 400, "bad_data"),
            (
                sextant_promql::Error::Execution("x".into()),
                422,
                "execution",
            ),
            (
                sextant_promql::Error::TooManySamples("x".into()),
                422,
                "execution",
            ),
            (sextant_promql::Error::Storage("x".into()), 500, "internal"),
        ];
        for (engine_err, status, ty) in cases {
            let e = PromError::from(engine_err);
            assert_eq!(e.status().as_u16(), status);
            assert_eq!(e.error_type(), ty);
        }
        assert_eq!(PromError::Timeout("t".into()).status().as_u16(), 503);
    }

    #[test]
    fn invalid_param_names_the_parameter() {
        let e = PromError::invalid_param("time", "cannot parse \"x\" to a valid timestamp");
        assert_eq!(
            e.to_string(),
            "invalid parameter \"time\": cannot parse \"x\" to a valid timestamp"
        );
    }
}
