//! Sextant's own JSON API under `/sextant/api/v1`.

use std::time::Instant;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sextant_store::{TraceQuery, TraceSummary};

use crate::error::ApiError;
use crate::params;
use crate::state::AppState;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 1000;
const DEFAULT_WINDOW_SECS: u64 = 3600;

pub fn router() -> Router<AppState> {
    Router::new().route("/sextant/api/v1/traces", get(list_traces))
}

#[derive(Debug, Deserialize)]
struct ListParams {
    start: Option<String>,
    end: Option<String>,
    limit: Option<String>,
    service: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TraceRow {
    trace_id: String,
    root_service_name: Option<String>,
    root_trace_name: Option<String>,
    /// Unix nanoseconds, as a string (64-bit safe for JavaScript).
    start_time_unix_nano: String,
    duration_ms: f64,
    span_count: u32,
    error_count: u32,
}

impl From<TraceSummary> for TraceRow {
    fn from(s: TraceSummary) -> Self {
        Self {
            trace_id: hex::encode(s.trace_id),
            duration_ms: s.duration_nano() as f64 / 1e6,
            start_time_unix_nano: s.start_unix_nano.to_string(),
            root_service_name: s.root_service,
            root_trace_name: s.root_name,
            span_count: s.spans,
            error_count: s.errors,
        }
    }
}

fn parse_query(p: ListParams) -> Result<TraceQuery, ApiError> {
    let nonempty = |o: Option<String>| o.filter(|s| !s.trim().is_empty());
    let end = match nonempty(p.end) {
        Some(e) => params::unix_seconds("end", &e)?,
        None => params::now_nanos(),
    };
    let start = match nonempty(p.start) {
        Some(s) => params::unix_seconds("start", &s)?,
        None => end.saturating_sub(DEFAULT_WINDOW_SECS * 1_000_000_000),
    };
    if start > end {
        return Err(ApiError::BadRequest("start must not be after end".into()));
    }
    let limit = match nonempty(p.limit) {
        Some(l) => l
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("invalid limit {l:?}: expected 1 to {MAX_LIMIT}"))
            })?,
        None => DEFAULT_LIMIT,
    };
    Ok(TraceQuery {
        start,
        end,
        limit,
        service: nonempty(p.service),
    })
}

async fn list_traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<ListParams>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let q = parse_query(p)?;
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || store.list_traces(&tenant, &q))
        .await
        .map_err(|e| ApiError::BadRequest(format!("query task failed: {e}")))??;
    state.metrics.observe("list_traces", t0);
    let rows: Vec<TraceRow> = found.into_iter().map(TraceRow::from).collect();
    Ok(axum::Json(serde_json::json!({ "traces": rows })))
}
