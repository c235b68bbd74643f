//! `GET /sextant/api/v1/conversations` (conversations with activity in a time range) and
//! `GET /sextant/api/v1/conversations/<id>` (one conversation's traces, oldest first).

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use axum::extract::{Path, Query, State};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sextant_store::TraceSummary;

use super::traces::TraceRow;
use crate::error::ApiError;
use crate::params::{self, nonempty};
use crate::state::AppState;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
pub(super) struct Params {
    start: Option<String>,
    end: Option<String>,
    limit: Option<String>,
}

/// One conversation (a session of several traces sharing `gen_ai.conversation.id`).
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConversationRow {
    conversation_id: String,
    trace_count: usize,
    first_start_unix_nano: String,
    last_end_unix_nano: String,
    error_count: u32,
    llm_calls: u32,
    total_tokens: u64,
    cost_usd: f64,
    unpriced_calls: u32,
    agents: BTreeSet<String>,
    users: BTreeSet<String>,
}

fn limit(p: Option<String>) -> Result<usize, ApiError> {
    match nonempty(p) {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("invalid limit {l:?}: expected 1 to {MAX_LIMIT}"))
            }),
        None => Ok(DEFAULT_LIMIT),
    }
}

/// Groups trace summaries by conversation, most recently active first.
fn group(summaries: Vec<TraceSummary>) -> Vec<ConversationRow> {
    let mut by_id: HashMap<String, (u64, u64, ConversationRow)> = HashMap::new();
    for s in summaries {
        let Some(id) = s.genai.conversation_id.clone() else {
            continue;
        };
        let (first, last, row) = by_id
            .entry(id.clone())
            .or_insert_with(|| (u64::MAX, 0, ConversationRow::default()));
        *first = (*first).min(s.start_unix_nano);
        *last = (*last).max(s.end_unix_nano);
        row.conversation_id = id;
        row.trace_count += 1;
        row.error_count += s.errors;
        row.llm_calls += s.genai.llm_calls;
        row.total_tokens += s.genai.total_tokens();
        row.cost_usd += s.genai.cost_usd;
        row.unpriced_calls += s.genai.unpriced_calls;
        row.agents.extend(s.genai.agents);
        row.users.extend(s.genai.user_id);
    }
    let mut rows: Vec<(u64, ConversationRow)> = by_id
        .into_values()
        .map(|(first, last, mut row)| {
            row.first_start_unix_nano = first.to_string();
            row.last_end_unix_nano = last.to_string();
            (last, row)
        })
        .collect();
    rows.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.conversation_id.cmp(&b.1.conversation_id))
    });
    rows.into_iter().map(|(_, r)| r).collect()
}

pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let (start, end) = params::time_range(p.start, p.end)?;
    let limit = limit(p.limit)?;
    let store = state.store.clone();
    let summaries = params::blocking(move || store.summaries(&tenant, start, end)).await?;
    let mut rows = group(summaries);
    rows.truncate(limit);
    state.metrics.observe("list_conversations", t0);
    Ok(axum::Json(serde_json::json!({ "conversations": rows })))
}

pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let (start, end) = match (nonempty(p.start.clone()), nonempty(p.end.clone())) {
        // A conversation may span days: without a range, look at everything kept.
        (None, None) => (0, u64::MAX),
        _ => params::time_range(p.start, p.end)?,
    };
    let store = state.store.clone();
    let wanted = id.clone();
    let mut traces: Vec<TraceSummary> = params::blocking(move || {
        store.summaries(&tenant, start, end).map(|all| {
            all.into_iter()
                .filter(|s| s.genai.conversation_id.as_deref() == Some(wanted.as_str()))
                .collect()
        })
    })
    .await?;
    if traces.is_empty() {
        return Err(ApiError::NotFound(format!("conversation {id:?} not found")));
    }
    traces.sort_by_key(|s| (s.start_unix_nano, s.trace_id));
    let rows: Vec<TraceRow> = traces.into_iter().map(TraceRow::from).collect();
    state.metrics.observe("conversation", t0);
    Ok(axum::Json(
        serde_json::json!({ "conversationId": id, "traces": rows }),
    ))
}
