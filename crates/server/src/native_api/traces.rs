//! `GET /sextant/api/v1/traces` (listing with GenAI filters) and
//! `GET /sextant/api/v1/traces/<id>/summary`.

use std::time::Instant;

use axum::extract::{Path, Query, State};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sextant_store::{TraceQuery, TraceSummary};

use crate::error::ApiError;
use crate::params::{self, nonempty};
use crate::state::AppState;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
pub(super) struct ListParams {
    start: Option<String>,
    end: Option<String>,
    limit: Option<String>,
    service: Option<String>,
    model: Option<String>,
    agent: Option<String>,
    conversation: Option<String>,
    #[serde(rename = "minCost")]
    min_cost: Option<String>,
}

/// One trace as listings show it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TraceRow {
    trace_id: String,
    root_service_name: Option<String>,
    root_trace_name: Option<String>,
    /// Unix nanoseconds, as a string (64-bit safe for JavaScript).
    start_time_unix_nano: String,
    duration_ms: f64,
    span_count: u32,
    error_count: u32,
    input_tokens: u64,
    output_tokens: u64,
    cache_read_tokens: u64,
    cache_write_tokens: u64,
    reasoning_tokens: u64,
    total_tokens: u64,
    /// USD of the priced model calls.
    cost_usd: f64,
    /// Model calls that no price matched (their cost is unknown, not zero).
    unpriced_calls: u32,
    llm_calls: u32,
    tool_calls: u32,
    agents: Vec<String>,
    models: Vec<String>,
    conversation_id: Option<String>,
    user_id: Option<String>,
}

impl From<TraceSummary> for TraceRow {
    fn from(s: TraceSummary) -> Self {
        let g = s.genai;
        Self {
            trace_id: hex::encode(s.trace_id),
            duration_ms: s.end_unix_nano.saturating_sub(s.start_unix_nano) as f64 / 1e6,
            start_time_unix_nano: s.start_unix_nano.to_string(),
            root_service_name: s.root_service,
            root_trace_name: s.root_name,
            span_count: s.spans,
            error_count: s.errors,
            total_tokens: g.total_tokens(),
            input_tokens: g.input_tokens,
            output_tokens: g.output_tokens,
            cache_read_tokens: g.cache_read_tokens,
            cache_write_tokens: g.cache_write_tokens,
            reasoning_tokens: g.reasoning_tokens,
            cost_usd: g.cost_usd,
            unpriced_calls: g.unpriced_calls,
            llm_calls: g.llm_calls,
            tool_calls: g.tool_calls,
            agents: g.agents.into_iter().collect(),
            models: g.models.into_iter().collect(),
            conversation_id: g.conversation_id,
            user_id: g.user_id,
        }
    }
}

fn parse_query(p: ListParams) -> Result<TraceQuery, ApiError> {
    let (start, end) = params::time_range(p.start, p.end)?;
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
    let min_cost_usd = match nonempty(p.min_cost) {
        Some(c) => Some(
            c.trim()
                .parse::<f64>()
                .ok()
                .filter(|c| c.is_finite() && *c >= 0.0)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("invalid minCost {c:?}: expected USD >= 0"))
                })?,
        ),
        None => None,
    };
    Ok(TraceQuery {
        start,
        end,
        limit,
        service: nonempty(p.service),
        model: nonempty(p.model),
        agent: nonempty(p.agent),
        conversation_id: nonempty(p.conversation),
        min_cost_usd,
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<ListParams>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let q = parse_query(p)?;
    let store = state.store.clone();
    let found = params::blocking(move || store.list_traces(&tenant, &q)).await?;
    state.metrics.observe("list_traces", t0);
    let rows: Vec<TraceRow> = found.into_iter().map(TraceRow::from).collect();
    Ok(axum::Json(serde_json::json!({ "traces": rows })))
}

pub(super) async fn summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<axum::Json<TraceRow>, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let id = params::trace_id(&id)?;
    let store = state.store.clone();
    let found = params::blocking(move || store.trace_summary(&tenant, &id)).await?;
    state.metrics.observe("trace_summary", t0);
    found
        .map(|s| axum::Json(TraceRow::from(s)))
        .ok_or_else(|| ApiError::NotFound("trace not found".into()))
}
