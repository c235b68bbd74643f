//! `GET /sextant/api/v1/traces` (listing with GenAI filters) and
//! `GET /sextant/api/v1/traces/<id>/summary`.

use std::collections::HashMap;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;

use axum::extract::{Path, Query, State};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sextant_store::genai::{GenAiColumns, off};
use sextant_store::schema::col;
use sextant_store::summary::summarize_into;
use sextant_store::{Store, StoreError, TraceQuery, TraceSummary};

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

/// The first window [`newest_traces`] tries, as a share of the asked range.
const FIRST_WINDOW_DIVISOR: u64 = 16;
/// How much wider each next window is.
const WINDOW_GROWTH: u64 = 4;

/// The newest `q.limit` traces of `q`'s range, reading as little as it can.
///
/// A listing wants the newest traces, but the store summarizes every trace of the range before
/// it sorts (a second per ten million spans, for the Overview's default hour). So the newest
/// sixteenth of the range is tried first, then windows four times wider: once a window
/// `[end - w, end]` holds `limit` matching traces, they are the newest of the whole range
/// (every other trace of it starts before `end - w`). With few matches the last try is the
/// whole range: when blocks are in time order (as head flushes write them) that reads about
/// 1.3 times what one full read does; blocks that each span the whole range, three times.
fn newest_traces(
    store: &Store,
    tenant: &str,
    q: &TraceQuery,
) -> Result<Vec<TraceSummary>, StoreError> {
    let range = q.end - q.start;
    let mut window = range / FIRST_WINDOW_DIVISOR;
    while window > 0 && window < range {
        let narrow = TraceQuery {
            start: q.end - window,
            ..q.clone()
        };
        let found = store.list_traces(tenant, &narrow)?;
        if found.len() >= q.limit {
            return Ok(found);
        }
        window = window.saturating_mul(WINDOW_GROWTH);
    }
    store.list_traces(tenant, q)
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
    let found = params::blocking(move || newest_traces(&store, &tenant, &q)).await?;
    state.metrics.observe("list_traces", t0);
    let rows: Vec<TraceRow> = found.into_iter().map(TraceRow::from).collect();
    Ok(axum::Json(serde_json::json!({ "traces": rows })))
}

/// A trace's totals and the cost of each of its priced or unpriced spans.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SummaryJson {
    #[serde(flatten)]
    totals: TraceRow,
    spans: Vec<SpanCost>,
}

/// The cost of one span as the server computed it at ingest, so the UI need not guess from
/// the span's attributes (which never carry the catalog price).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct SpanCost {
    span_id: String,
    llm_call: bool,
    cost_usd: Option<f64>,
    /// `catalog:<provider>/<model>` or `client:<attribute>`.
    cost_source: Option<String>,
    /// Why no price matched, for a model call whose cost is unknown.
    unpriced_reason: Option<String>,
}

/// The spans of `batches` that have a cost or a cost source, in the batches' order.
fn span_costs(batches: &[RecordBatch]) -> Vec<SpanCost> {
    let mut out = Vec::new();
    for batch in batches {
        let Some(genai) = GenAiColumns::of(batch) else {
            continue;
        };
        let ids = batch.column(col::SPAN_ID).as_fixed_size_binary();
        for row in 0..batch.num_rows() {
            let source = genai.str(off::COST_SOURCE, row);
            let cost_usd = genai.cost_usd(row);
            if source.is_none() && cost_usd.is_none() {
                continue;
            }
            let (cost_source, unpriced_reason) = match source {
                Some(s) => match s.strip_prefix("unpriced:") {
                    Some(reason) => (None, Some(reason.to_owned())),
                    None => (Some(s.to_owned()), None),
                },
                None => (None, None),
            };
            out.push(SpanCost {
                span_id: hex::encode(ids.value(row)),
                llm_call: genai.llm_call(row),
                cost_usd,
                cost_source,
                unpriced_reason,
            });
        }
    }
    out
}

pub(super) async fn summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<axum::Json<SummaryJson>, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let id = params::trace_id(&id)?;
    let store = state.store.clone();
    let batches = params::blocking(move || store.trace_batches(&tenant, &id)).await?;
    let mut acc = HashMap::new();
    for batch in &batches {
        summarize_into(&mut acc, batch);
    }
    state.metrics.observe("trace_summary", t0);
    let totals = acc
        .remove(&id)
        .ok_or_else(|| ApiError::NotFound("trace not found".into()))?;
    Ok(axum::Json(SummaryJson {
        totals: TraceRow::from(totals),
        spans: span_costs(&batches),
    }))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use sextant_store::{GenAiRow, SpanBatchBuilder, SpanEnricher};

    use super::*;

    /// Prices spans by name: "priced" from the catalog, "unpriced" without a price, "agent" as
    /// a rolled-up agent span, anything else not a GenAI span.
    struct ByName;

    impl SpanEnricher for ByName {
        fn enrich<'a>(
            &self,
            _: Option<&'a Resource>,
            _: Option<&'a InstrumentationScope>,
            span: &'a Span,
        ) -> GenAiRow<'a> {
            let (cost_usd, source, llm_call) = match span.name.as_str() {
                "priced" => (Some(0.25), "catalog:openai/gpt-4o", true),
                "unpriced" => (None, "unpriced:unknown model acme-1", true),
                "agent" => (Some(0.5), "catalog:openai/gpt-4o", false),
                _ => return GenAiRow::default(),
            };
            GenAiRow {
                cost_usd,
                cost_source: Some(Cow::Borrowed(source)),
                llm_call,
                ..Default::default()
            }
        }
    }

    fn batch(names: &[&str]) -> RecordBatch {
        let spans = names
            .iter()
            .enumerate()
            .map(|(i, name)| Span {
                trace_id: vec![1; 16],
                span_id: vec![i as u8 + 1; 8],
                name: (*name).into(),
                start_time_unix_nano: 1_000 + i as u64,
                end_time_unix_nano: 2_000,
                ..Default::default()
            })
            .collect();
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let mut b = SpanBatchBuilder::with_capacity(names.len());
        b.push_request(&req, &ByName).expect("push");
        b.finish().expect("batch")
    }

    #[test]
    fn span_costs_list_priced_and_unpriced_spans_with_their_source() {
        let costs = span_costs(&[batch(&["agent", "priced", "plain", "unpriced"])]);
        let by_id = |id: u8| costs.iter().find(|c| c.span_id == hex::encode([id; 8]));
        assert_eq!(costs.len(), 3, "{costs:?}");
        assert!(by_id(3).is_none(), "a span without cost is not listed");
        let priced = by_id(2).expect("priced");
        assert_eq!(priced.cost_usd, Some(0.25));
        assert_eq!(priced.cost_source.as_deref(), Some("catalog:openai/gpt-4o"));
        assert!(priced.llm_call && priced.unpriced_reason.is_none());
        let unpriced = by_id(4).expect("unpriced");
        assert_eq!(unpriced.cost_usd, None);
        assert_eq!(unpriced.cost_source, None);
        assert_eq!(
            unpriced.unpriced_reason.as_deref(),
            Some("unknown model acme-1")
        );
        assert!(!by_id(1).expect("agent").llm_call);
    }

    /// A store holding `n` one-span traces, one a second from `t0` on, of two services.
    fn store_of(dir: &std::path::Path, n: u64, t0: u64) -> Store {
        let mut config = sextant_store::StoreConfig::new(dir);
        config.retention.max_age = None;
        let store = Store::open(
            config,
            sextant_store::StoreMetrics::default(),
            std::sync::Arc::new(sextant_store::NoEnrichment),
        )
        .expect("open");
        let resource_spans = (0..n)
            .map(|i| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![opentelemetry_proto::tonic::common::v1::KeyValue {
                        key: "service.name".into(),
                        value: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                            value: Some(StringValue(format!("svc-{}", i % 2))),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: (u128::from(i) + 1).to_be_bytes().to_vec(),
                        span_id: vec![1; 8],
                        name: "root".into(),
                        start_time_unix_nano: t0 + i * SECOND,
                        end_time_unix_nano: t0 + i * SECOND + 1_000,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        let req = ExportTraceServiceRequest { resource_spans };
        let mut b = SpanBatchBuilder::with_capacity(n as usize);
        b.push_request(&req, &sextant_store::NoEnrichment)
            .expect("push");
        let batch = b.finish().expect("batch");
        let body = prost::Message::encode_to_vec(&req).into();
        futures::executor::block_on(store.write("single-tenant", body, batch)).expect("write");
        store
    }

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn newest_traces_in_narrow_windows_equal_one_full_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t0 = 1_700_000_000 * SECOND;
        let store = store_of(dir.path(), 300, t0);
        let ids =
            |rows: Vec<TraceSummary>| rows.into_iter().map(|r| r.trace_id).collect::<Vec<_>>();
        for (limit, service) in [
            (1, None),
            (10, None),
            (40, Some("svc-1")),
            (299, None),
            (1000, None),
            (200, Some("svc-0")),
        ] {
            let q = TraceQuery {
                start: t0 - 100 * SECOND,
                end: t0 + 400 * SECOND,
                limit,
                service: service.map(str::to_owned),
                ..Default::default()
            };
            let full = store.list_traces("single-tenant", &q).expect("full");
            let newest = newest_traces(&store, "single-tenant", &q).expect("newest");
            assert_eq!(newest.len(), full.len().min(limit), "limit {limit}");
            assert_eq!(ids(newest), ids(full), "limit {limit} service {service:?}");
        }
    }
}
