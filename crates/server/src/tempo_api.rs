//! The Tempo HTTP API, as Grafana's Tempo data source calls it: traces by id here, search,
//! tags and TraceQL metrics in the submodules, and the `tempopb.StreamingQuerier` gRPC service.

mod columnar;
mod fallback;
mod genai_exact;
pub mod grpc;
mod json;
mod legacy;
mod light;
pub mod metrics;
pub mod pushdown;
pub mod search;
pub mod tags;
pub mod tempopb;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, header};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use serde_json::json;

use crate::error::ApiError;
use crate::params;
use crate::state::AppState;
use crate::tempo_json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/echo", get(|| async { "echo" }))
        .route("/api/status/buildinfo", get(buildinfo))
        .route("/api/traces/{id}", get(trace_v1))
        .route("/api/v2/traces/{id}", get(trace_v2))
        .route("/api/search", get(search::handler))
        .route("/api/search/tags", get(tags::tags_v1))
        .route("/api/v2/search/tags", get(tags::tags_v2))
        .route("/api/search/tag/{tag}/values", get(tags::values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(tags::values_v2))
        .route("/api/metrics/query_range", get(metrics::query_range))
        .route("/api/metrics/query", get(metrics::query_instant))
}

/// A response as protobuf when the client accepts it, else as Tempo's JSON.
fn respond<M: Message>(
    headers: &HeaderMap,
    msg: &M,
    to_json: impl Fn(&M) -> serde_json::Value,
) -> Response {
    if wants_protobuf(headers) {
        let ct = HeaderValue::from_static("application/protobuf");
        return ([(header::CONTENT_TYPE, ct)], msg.encode_to_vec()).into_response();
    }
    axum::Json(to_json(msg)).into_response()
}

/// The Tempo release whose HTTP and gRPC API Sextant answers (see
/// `../shared/conformance/traceql/README.md`). Grafana's Tempo data source reads `version` from
/// buildinfo and turns streaming search (Tempo 2.2) and streaming metrics (2.7) off for older
/// or unparsable versions, so Sextant reports this one; its own version is in `revision`.
pub const TEMPO_API_VERSION: &str = "v3.0.3";

async fn buildinfo() -> Response {
    axum::Json(json!({
        "version": TEMPO_API_VERSION,
        "revision": concat!("sextant-", env!("CARGO_PKG_VERSION")),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    }))
    .into_response()
}

/// Looks a trace up for the tenant of the request; 404 when it has no spans.
async fn lookup(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    q: &HashMap<String, String>,
) -> Result<Vec<opentelemetry_proto::tonic::trace::v1::ResourceSpans>, ApiError> {
    let tenant = params::tenant(headers)?;
    let trace_id = params::trace_id(id)?;
    for key in ["start", "end"] {
        if let Some(v) = q.get(key).filter(|v| !v.is_empty()) {
            params::unix_seconds(key, v)?;
        }
    }
    let store = state.store.clone();
    let spans = tokio::task::spawn_blocking(move || store.find_trace(&tenant, &trace_id))
        .await
        .map_err(|e| ApiError::BadRequest(format!("query task failed: {e}")))??;
    if spans.is_empty() {
        return Err(ApiError::NotFound(format!("trace not found: {id}")));
    }
    Ok(spans)
}

fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/protobuf"))
}

async fn trace_v1(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let spans = lookup(&state, &headers, &id, &q).await?;
    state.metrics.observe("trace_by_id", t0);
    if wants_protobuf(&headers) {
        // tempopb.Trace has the same wire layout as OTLP TracesData: field 1, repeated
        // ResourceSpans.
        let body = TracesData {
            resource_spans: spans,
        }
        .encode_to_vec();
        let ct = HeaderValue::from_static("application/protobuf");
        return Ok(([(header::CONTENT_TYPE, ct)], body).into_response());
    }
    Ok(axum::Json(json!({ "batches": tempo_json::resource_spans(&spans) })).into_response())
}

async fn trace_v2(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let spans = lookup(&state, &headers, &id, &q).await?;
    state.metrics.observe("trace_by_id", t0);
    if wants_protobuf(&headers) {
        let body = tempopb::TraceByIdResponse {
            trace: Some(TracesData {
                resource_spans: spans,
            }),
            metrics: Some(tempopb::TraceByIdMetrics::default()),
        }
        .encode_to_vec();
        let ct = HeaderValue::from_static("application/protobuf");
        return Ok(([(header::CONTENT_TYPE, ct)], body).into_response());
    }
    Ok(axum::Json(json!({
        "trace": { "resourceSpans": tempo_json::resource_spans(&spans) },
        "metrics": {},
    }))
    .into_response())
}
