//! `GET /api/metrics/query_range` and `GET /api/metrics/query`: TraceQL metrics over the store.
//!
//! When every span's match depends on that span alone (`Engine::is_span_local`), span batches
//! are folded directly, rows first pruned with the pushed-down predicates; otherwise candidate
//! traces are assembled and evaluated whole.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::response::Response;
use http::HeaderMap;
use sextant_store::search::{CandidateSearch, ScanStats, span_masks};
use sextant_store::{Store, TraceId, rows, schema};
use sextant_traceql::{Engine, MetricsEvaluator, MetricsRequest, Series, default_step};

use super::legacy::go_duration;
use super::search::{compile, key_values};
use super::tempopb as pb;
use super::{columnar, json, light, pushdown, respond};
use crate::error::ApiError;
use crate::params;
use crate::state::AppState;

/// A time: Unix seconds (integer up to 10 digits, or fractional) or Unix nanoseconds.
fn time(name: &str, s: &str) -> Result<u64, ApiError> {
    let s = s.trim();
    if s.len() > 10 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("invalid {name} {s:?}")));
    }
    params::unix_seconds(name, s)
}

/// The request of a range (or instant) query, from HTTP parameters.
fn request(q: &HashMap<String, String>, instant: bool) -> Result<MetricsRequest, ApiError> {
    let get = |k: &str| params::nonempty(q.get(k).cloned());
    let end = match get("end") {
        Some(e) => time("end", &e)?,
        None => params::now_nanos(),
    };
    let start = match (get("start"), get("since")) {
        (Some(s), _) => time("start", &s)?,
        (None, Some(since)) => end.saturating_sub(go_duration("since", &since)?),
        (None, None) => end.saturating_sub(params::DEFAULT_WINDOW_NANOS),
    };
    if start >= end {
        return Err(ApiError::BadRequest(
            "invalid start and end: end must be after start".into(),
        ));
    }
    let step = match get("step") {
        None => default_step(start, end),
        Some(s) => go_duration("step", &s).or_else(|_| params::duration("step", &s))?,
    };
    if step == 0 {
        return Err(ApiError::BadRequest(
            "invalid step: must be positive".into(),
        ));
    }
    Ok(MetricsRequest {
        start_unix_nano: start,
        end_unix_nano: end,
        step_nanos: step,
        instant,
    })
}

/// The request of a gRPC metrics call: Unix nanoseconds, 0 for "not given" (the last hour,
/// the default step), as the HTTP parameters.
pub fn request_from_nanos(
    start: u64,
    end: u64,
    step: u64,
    instant: bool,
) -> Result<MetricsRequest, ApiError> {
    let mut q = HashMap::new();
    for (k, v) in [("start", start), ("end", end)] {
        if v != 0 {
            q.insert(k.to_owned(), v.to_string());
        }
    }
    if step != 0 {
        q.insert("step".to_owned(), format!("{step}ns"));
    }
    request(&q, instant)
}

/// Evaluates a metrics query (blocking).
pub fn run(
    store: &Store,
    tenant: &str,
    text: &str,
    req: MetricsRequest,
) -> Result<(Vec<Series>, pb::SearchMetrics), ApiError> {
    let engine = compile(text)?;
    if !engine.query().is_metrics() {
        return Err(ApiError::BadRequest(
            "invalid TraceQL query: not a metrics query".into(),
        ));
    }
    let bad = |e: sextant_traceql::EvalError| ApiError::BadRequest(format!("query failed: {e}"));
    let mut eval = MetricsEvaluator::new(&engine, req).map_err(bad)?;
    let plan = pushdown::plan(engine.query());
    let (stats, traces) =
        if let Some(stats) = columnar::try_fold(store, tenant, &engine, req, &mut eval)? {
            (stats, 0)
        } else if engine.is_span_local() {
            (
                fold_spans(store, tenant, &engine, &plan, req, &mut eval)?,
                0,
            )
        } else {
            fold_traces(store, tenant, &plan, req, &mut eval)?
        };
    let metrics = pb::SearchMetrics {
        inspected_traces: traces,
        inspected_bytes: stats.inspected_bytes,
        total_blocks: stats.blocks,
        completed_jobs: 1,
        total_jobs: 1,
        inspected_spans: stats.inspected_spans,
    };
    Ok((eval.finish(), metrics))
}

/// Span-local queries: every span batch in range, rows pruned by the pushdown, as one unit.
fn fold_spans(
    store: &Store,
    tenant: &str,
    engine: &Engine,
    plan: &pushdown::Plan,
    req: MetricsRequest,
    eval: &mut MetricsEvaluator<'_>,
) -> Result<ScanStats, ApiError> {
    let light = light::columns_suffice(engine.query());
    let mut columns: Vec<usize> = if light {
        let mut c = light::COLUMNS.to_vec();
        c.extend(plan.groups.iter().flatten().map(|p| p.column));
        c
    } else {
        (0..schema::span_schema().fields().len()).collect()
    };
    columns.sort_unstable();
    columns.dedup();
    let mut failed: Option<ApiError> = None;
    let stats = store.scan_newest_first(
        tenant,
        req.start_unix_nano,
        req.end_unix_nano,
        &columns,
        |src| {
            for batch in &src.batches {
                let masks = span_masks(batch, src.projection, &plan.groups);
                let keep: Vec<usize> = (0..batch.num_rows())
                    .filter(|r| plan.need.holds(masks[*r]))
                    .collect();
                if keep.is_empty() {
                    continue;
                }
                let rebuilt = if light {
                    Ok(light::resource_spans(batch, src.projection, &keep))
                } else {
                    rows::rows_to_resource_spans(batch, &keep).map_err(ApiError::from)
                };
                let step = rebuilt.and_then(|rs| {
                    eval.observe_trace(&rs)
                        .map_err(|e| ApiError::BadRequest(format!("query failed: {e}")))
                });
                if let Err(e) = step {
                    failed = Some(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        },
    )?;
    failed.map_or(Ok(stats), Err)
}

/// Queries that need whole traces: every candidate trace, assembled.
fn fold_traces(
    store: &Store,
    tenant: &str,
    plan: &pushdown::Plan,
    req: MetricsRequest,
    eval: &mut MetricsEvaluator<'_>,
) -> Result<(ScanStats, u32), ApiError> {
    let search = CandidateSearch {
        start: req.start_unix_nano,
        end: req.end_unix_nano,
        groups: plan.groups.clone(),
        accept: plan.accept(),
        limit: None,
    };
    let (cands, stats) = store.search_candidates(tenant, &search)?;
    // In trace-id order, a chunk of candidates falls in a few row groups of each block (rows
    // are sorted by trace id), which one batched fetch reads once for the whole chunk.
    let mut ids: Vec<TraceId> = cands.iter().map(|c| c.trace_id).collect();
    ids.sort_unstable();
    for chunk in ids.chunks(FETCH_CHUNK) {
        let traces = store.find_traces(tenant, chunk)?;
        for trace in chunk.iter().filter_map(|id| traces.get(id)) {
            eval.observe_trace(trace)
                .map_err(|e| ApiError::BadRequest(format!("query failed: {e}")))?;
        }
    }
    Ok((stats, u32::try_from(cands.len()).unwrap_or(u32::MAX)))
}

/// Candidate traces fetched together by a metrics query that evaluates whole traces.
const FETCH_CHUNK: usize = 1024;

fn query_text(q: &HashMap<String, String>) -> Result<String, ApiError> {
    params::nonempty(q.get("q").cloned())
        .or_else(|| params::nonempty(q.get("query").cloned()))
        .ok_or_else(|| ApiError::BadRequest("missing query: set q".into()))
}

async fn evaluate(
    state: &AppState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    instant: bool,
) -> Result<(Vec<Series>, pb::SearchMetrics), ApiError> {
    let tenant = params::tenant(headers)?;
    let text = query_text(q)?;
    let req = request(q, instant)?;
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || run(&store, &tenant, &text, req))
        .await
        .map_err(|e| ApiError::BadRequest(format!("query task failed: {e}")))?
}

/// Series as `tempopb.TimeSeries`.
pub fn time_series(series: &[Series]) -> Vec<pb::TimeSeries> {
    series
        .iter()
        .map(|s| pb::TimeSeries {
            labels: key_values(&s.labels),
            samples: s
                .points
                .iter()
                .map(|(t, v)| pb::Sample {
                    timestamp_ms: *t,
                    value: *v,
                })
                .collect(),
        })
        .collect()
}

/// Series of an instant query as `tempopb.InstantSeries`: the value over the whole range.
pub fn instant_series(series: &[Series]) -> Vec<pb::InstantSeries> {
    series
        .iter()
        .filter_map(|s| {
            let value = s.points.last()?.1;
            Some(pb::InstantSeries {
                labels: key_values(&s.labels),
                value,
            })
        })
        .collect()
}

/// `GET /api/metrics/query_range`.
pub async fn query_range(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let (series, metrics) = evaluate(&state, &headers, &q, false).await?;
    let resp = pb::QueryRangeResponse {
        series: time_series(&series),
        metrics: Some(metrics),
    };
    state.metrics.observe("metrics_query_range", t0);
    Ok(respond(&headers, &resp, json::query_range))
}

/// `GET /api/metrics/query`: one value per series over the whole range.
pub async fn query_instant(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let (series, metrics) = evaluate(&state, &headers, &q, true).await?;
    let resp = pb::QueryInstantResponse {
        series: instant_series(&series),
        metrics: Some(metrics),
    };
    state.metrics.observe("metrics_query", t0);
    Ok(respond(&headers, &resp, json::query_instant))
}
