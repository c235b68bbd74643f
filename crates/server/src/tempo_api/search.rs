//! `GET /api/search`: TraceQL (or legacy tag) search over the store.
//!
//! The query's first stage is pushed down to the span columns (`pushdown.rs`) to find candidate
//! traces newest first; each candidate is then assembled and evaluated whole by the TraceQL
//! engine until `limit` traces matched.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::response::Response;
use http::HeaderMap;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use sextant_store::search::{CandidateSearch, ScanStats};
use sextant_store::{Store, TraceId};
use sextant_traceql::{Engine, TraceResult, Value};

use super::fallback::GenAiFallback;
use super::legacy::{go_duration, tags_to_traceql};
use super::tempopb as pb;
use super::{json, pushdown, respond};
use crate::error::ApiError;
use crate::params;
use crate::state::AppState;

/// Default and maximum number of traces returned.
pub const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 10_000;
/// Default spans per spanset.
pub const DEFAULT_SPSS: usize = 3;
/// Tempo's root service and name of a trace whose root span is missing.
pub const NO_ROOT: &str = "<root span not yet received>";

/// A search, from HTTP parameters or a gRPC `SearchRequest`.
#[derive(Debug, Clone)]
pub struct SearchParams {
    /// TraceQL text (legacy tags already translated).
    pub query: String,
    /// Spans overlapping `[start, end]`, Unix nanoseconds.
    pub start: u64,
    pub end: u64,
    pub limit: usize,
    pub spss: usize,
    /// Bounds on the trace duration, nanoseconds.
    pub min_duration: Option<u64>,
    pub max_duration: Option<u64>,
}

fn positive(name: &str, v: Option<&String>, default: usize) -> Result<usize, ApiError> {
    match v.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "invalid {name} {s:?}: expected a positive integer"
            ))),
        },
    }
}

fn seconds(name: &str, v: Option<&String>) -> Result<Option<u64>, ApiError> {
    match v.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<u64>()
            .map(|n| Some(n.saturating_mul(1_000_000_000)))
            .map_err(|_| {
                ApiError::BadRequest(format!("invalid {name} {s:?}: expected Unix seconds"))
            }),
    }
}

fn opt_duration(name: &str, v: Option<&String>) -> Result<Option<u64>, ApiError> {
    match v.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => go_duration(name, s).map(Some),
    }
}

impl SearchParams {
    /// From `/api/search` query parameters.
    pub fn from_http(q: &HashMap<String, String>) -> Result<Self, ApiError> {
        let text = params::nonempty(q.get("q").cloned());
        let tags = params::nonempty(q.get("tags").cloned());
        let query = match (text, tags) {
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest(
                    "invalid request: q and tags cannot both be set".into(),
                ));
            }
            (Some(t), None) => t,
            (None, Some(tags)) => tags_to_traceql(&tags)?,
            (None, None) => "{ }".into(),
        };
        let start = seconds("start", q.get("start"))?;
        let end = seconds("end", q.get("end"))?;
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            return Err(ApiError::BadRequest(
                "invalid start and end: end must be after start".into(),
            ));
        }
        let limit = positive("limit", q.get("limit"), DEFAULT_LIMIT)?.min(MAX_LIMIT);
        Ok(SearchParams {
            query,
            start: start.unwrap_or(0),
            end: end.unwrap_or(u64::MAX),
            limit,
            spss: positive("spss", q.get("spss"), DEFAULT_SPSS)?,
            min_duration: opt_duration("minDuration", q.get("minDuration"))?,
            max_duration: opt_duration("maxDuration", q.get("maxDuration"))?,
        })
    }

    /// From a gRPC `SearchRequest`.
    pub fn from_pb(r: &pb::SearchRequest) -> Result<Self, ApiError> {
        let mut q: HashMap<String, String> = HashMap::new();
        if !r.query.is_empty() {
            q.insert("q".into(), r.query.clone());
        } else if !r.tags.is_empty() {
            let tags: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            q.insert("tags".into(), tags.join(" "));
        }
        let nonzero = |v: u32| (v != 0).then(|| v.to_string());
        for (k, v) in [
            ("limit", nonzero(r.limit)),
            ("start", nonzero(r.start)),
            ("end", nonzero(r.end)),
            ("spss", nonzero(r.spans_per_span_set)),
            (
                "minDuration",
                nonzero(r.min_duration_ms).map(|v| format!("{v}ms")),
            ),
            (
                "maxDuration",
                nonzero(r.max_duration_ms).map(|v| format!("{v}ms")),
            ),
        ] {
            if let Some(v) = v {
                q.insert(k.into(), v);
            }
        }
        Self::from_http(&q)
    }
}

/// Compiles a search or metrics query with the GenAI attribute fallback.
pub fn compile(text: &str) -> Result<Engine, ApiError> {
    let engine = Engine::compile(text)
        .map_err(|e| ApiError::BadRequest(format!("invalid TraceQL query: {e}")))?;
    Ok(engine.with_fallback(Arc::new(GenAiFallback::default())))
}

/// Runs a search (blocking: call off the async executor).
pub fn run(store: &Store, tenant: &str, p: &SearchParams) -> Result<pb::SearchResponse, ApiError> {
    let engine = compile(&p.query)?;
    if engine.query().is_metrics() {
        return Err(ApiError::BadRequest(
            "invalid TraceQL query: a metrics query cannot be searched; use /api/metrics/query_range"
                .into(),
        ));
    }
    let plan = pushdown::plan(engine.query());
    let mut search = CandidateSearch {
        start: p.start,
        end: p.end,
        groups: plan.groups.clone(),
        accept: plan.accept(),
        limit: Some(p.limit),
    };
    let mut found: Vec<TraceResult> = Vec::new();
    let mut seen: HashSet<TraceId> = HashSet::new();
    let mut stats = ScanStats::default();
    let mut inspected = 0u32;
    // First pass stops reading older data early; when too few candidates then match, read all.
    for pass in 0..2 {
        let (cands, s) = store.search_candidates(tenant, &search)?;
        stats = add(stats, s);
        let mut fresh = cands
            .into_iter()
            .map(|c| c.trace_id)
            .filter(|id| seen.insert(*id));
        // Fetched a chunk at a time (each block read once per chunk), as many as are still
        // missing, in candidate order so the newest matches win.
        while found.len() < p.limit {
            let chunk: Vec<TraceId> = fresh.by_ref().take(p.limit - found.len()).collect();
            if chunk.is_empty() {
                break;
            }
            inspected = inspected.saturating_add(u32::try_from(chunk.len()).unwrap_or(u32::MAX));
            let mut traces = store.find_traces(tenant, &chunk)?;
            for id in &chunk {
                let Some(trace) = traces.remove(id) else {
                    continue;
                };
                let result = engine
                    .eval_trace(&trace)
                    .map_err(|e| ApiError::BadRequest(format!("query failed: {e}")))?;
                if let Some(r) = result.filter(|r| duration_ok(p, r.duration_nanos)) {
                    found.push(r);
                }
            }
        }
        if found.len() >= p.limit || pass == 1 {
            break;
        }
        search.limit = None;
    }
    found.sort_by_key(|r| std::cmp::Reverse(r.start_unix_nano));
    let metrics = pb::SearchMetrics {
        inspected_traces: inspected,
        inspected_bytes: stats.inspected_bytes,
        total_blocks: stats.blocks,
        completed_jobs: 1,
        total_jobs: 1,
        inspected_spans: stats.inspected_spans,
    };
    Ok(pb::SearchResponse {
        traces: found.iter().map(|r| metadata(r, p.spss)).collect(),
        metrics: Some(metrics),
    })
}

fn add(a: ScanStats, b: ScanStats) -> ScanStats {
    ScanStats {
        inspected_spans: a.inspected_spans + b.inspected_spans,
        inspected_bytes: a.inspected_bytes + b.inspected_bytes,
        blocks: a.blocks.max(b.blocks),
    }
}

fn duration_ok(p: &SearchParams, d: u64) -> bool {
    p.min_duration.is_none_or(|m| d >= m) && p.max_duration.is_none_or(|m| d <= m)
}

/// Attributes as OTLP key-values, as Tempo renders them in search results.
pub fn key_values(attrs: &[(String, Value)]) -> Vec<KeyValue> {
    attrs
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(v.to_any_value()),
            ..Default::default()
        })
        .collect()
}

/// A trace id as Tempo prints it in search results: hex without leading zeros.
pub fn trace_id_hex(id: &[u8]) -> String {
    let h = hex::encode(id);
    let t = h.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.into() }
}

fn metadata(r: &TraceResult, spss: usize) -> pb::TraceSearchMetadata {
    let span_sets: Vec<pb::SpanSet> = r
        .spansets
        .iter()
        .map(|s| pb::SpanSet {
            spans: s
                .spans
                .iter()
                .take(spss)
                .map(|m| pb::Span {
                    span_id: hex::encode(&m.span_id),
                    name: m.name.clone(),
                    start_time_unix_nano: m.start_unix_nano,
                    duration_nanos: m.duration_nanos,
                    attributes: key_values(&m.attributes),
                })
                .collect(),
            matched: u32::try_from(s.matched).unwrap_or(u32::MAX),
            attributes: key_values(&s.attributes),
        })
        .collect();
    pb::TraceSearchMetadata {
        trace_id: trace_id_hex(&r.trace_id),
        root_service_name: r
            .root_service_name
            .clone()
            .unwrap_or_else(|| NO_ROOT.into()),
        root_trace_name: r.root_name.clone().unwrap_or_else(|| NO_ROOT.into()),
        start_time_unix_nano: r.start_unix_nano,
        duration_ms: u32::try_from(r.duration_nanos / 1_000_000).unwrap_or(u32::MAX),
        span_set: span_sets.first().cloned(),
        span_sets,
    }
}

/// `GET /api/search`.
pub async fn handler(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let p = SearchParams::from_http(&q)?;
    let store = state.store.clone();
    let resp = tokio::task::spawn_blocking(move || run(&store, &tenant, &p))
        .await
        .map_err(|e| ApiError::BadRequest(format!("query task failed: {e}")))??;
    state.metrics.observe("search", t0);
    Ok(respond(&headers, &resp, json::search_response))
}
