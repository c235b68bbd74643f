//! Tag discovery: `/api/search/tags`, `/api/v2/search/tags`, `/api/search/tag/<tag>/values`
//! and `/api/v2/search/tag/<tag>/values`.
//!
//! Names and values come from the newest spans of the range (at most [`SCAN_SPANS`] of them,
//! head first, then blocks newest first), reading only the attribute, event, link and origin
//! columns. Values of a field with a column of its own (`name`, `statusMessage`,
//! `resource.service.name`, the canonical GenAI attributes) come from that column's
//! dictionaries over the whole range instead. A `q` filter on the v2 values endpoint is
//! evaluated with the TraceQL engine over the newest matching traces.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::HeaderMap;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use prost::Message;
use serde_json::json;
use sextant_store::Store;
use sextant_store::schema::col;
use sextant_store::search::ColumnIndex;
use sextant_traceql::Value;
use sextant_traceql::ast::{AttributeScope, FieldRef, Intrinsic};
use sextant_traceql::value::go_duration as go_duration_string;

use super::search::{NO_ROOT, SearchParams, run as run_search};
use super::tempopb as pb;
use super::{json as tjson, pushdown, respond};
use crate::error::ApiError;
use crate::params;
use crate::state::AppState;

/// Most spans a tag request decodes the attributes of (the newest; a block stops mid-way).
pub const SCAN_SPANS: u64 = 100_000;
/// Default most values (or names per scope) returned.
const DEFAULT_LIMIT: usize = 1000;
/// Traces evaluated to answer values under a `q` filter.
const FILTER_TRACES: usize = 200;

/// Tempo's intrinsic tag list (`pkg/search/util.go`).
pub const INTRINSICS: &[&str] = &[
    "duration",
    "event:name",
    "event:timeSinceStart",
    "instrumentation:name",
    "instrumentation:version",
    "kind",
    "link:spanID",
    "link:traceID",
    "name",
    "rootName",
    "rootServiceName",
    "span:duration",
    "span:id",
    "span:kind",
    "span:name",
    "span:parentID",
    "span:status",
    "span:statusMessage",
    "status",
    "statusMessage",
    "trace:duration",
    "trace:id",
    "trace:rootName",
    "trace:rootService",
    "traceDuration",
];

const SCOPES: [&str; 5] = ["resource", "span", "event", "link", "instrumentation"];

/// Attribute scopes of the data, as the API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Resource,
    Span,
    Event,
    Link,
    Instrumentation,
}

/// Calls `visit` with every attribute of the newest spans in `[start, end]`, and the span's
/// canonical GenAI names (which the attribute fallback answers) as span attributes.
fn visit_attributes(
    store: &Store,
    tenant: &str,
    start: u64,
    end: u64,
    visit: &mut dyn FnMut(Scope, &KeyValue),
) -> Result<u64, ApiError> {
    let mut columns = vec![col::ORIGIN, col::ATTRIBUTES, col::EVENTS, col::LINKS];
    columns.extend(
        pushdown::GENAI_ATTRIBUTES
            .iter()
            .map(|(_, o, _)| col::GENAI + o),
    );
    let mut origins: HashSet<Vec<u8>> = HashSet::new();
    let mut spans = 0u64;
    let mut failed = None;
    let stats = store.scan_batches_newest_first(tenant, start, end, &columns, |batch, idx| {
        spans += batch.num_rows() as u64;
        if let Err(e) = visit_batch(batch, idx, &mut origins, visit) {
            failed = Some(e);
            return ControlFlow::Break(());
        }
        if spans >= SCAN_SPANS {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(stats.inspected_bytes),
    }
}

fn blob<'a>(batch: &'a RecordBatch, idx: &ColumnIndex, c: usize, row: usize) -> Option<&'a [u8]> {
    let a = batch.column(idx.index(c)?).as_binary::<i32>();
    a.is_valid(row).then(|| a.value(row))
}

fn bad_blob(e: prost::DecodeError) -> ApiError {
    ApiError::BadRequest(format!("stored span does not decode: {e}"))
}

fn visit_batch(
    batch: &RecordBatch,
    idx: &ColumnIndex,
    origins: &mut HashSet<Vec<u8>>,
    visit: &mut dyn FnMut(Scope, &KeyValue),
) -> Result<(), ApiError> {
    let genai: Vec<(&str, Option<&dyn Array>)> = pushdown::GENAI_ATTRIBUTES
        .iter()
        .map(|(n, o, _)| {
            (
                *n,
                idx.index(col::GENAI + o).map(|i| batch.column(i).as_ref()),
            )
        })
        .collect();
    for row in 0..batch.num_rows() {
        if let Some(o) = blob(batch, idx, col::ORIGIN, row)
            && !origins.contains(o)
        {
            let rs = ResourceSpans::decode(o).map_err(bad_blob)?;
            for kv in rs.resource.iter().flat_map(|r| &r.attributes) {
                visit(Scope::Resource, kv);
            }
            let scopes = rs.scope_spans.iter().filter_map(|s| s.scope.as_ref());
            for kv in scopes.flat_map(|s| &s.attributes) {
                visit(Scope::Instrumentation, kv);
            }
            origins.insert(o.to_vec());
        }
        for c in [col::ATTRIBUTES, col::EVENTS, col::LINKS] {
            let Some(b) = blob(batch, idx, c, row) else {
                continue;
            };
            let span = Span::decode(b).map_err(bad_blob)?;
            span.attributes.iter().for_each(|kv| visit(Scope::Span, kv));
            let events = span.events.iter().flat_map(|e| &e.attributes);
            events.for_each(|kv| visit(Scope::Event, kv));
            let links = span.links.iter().flat_map(|l| &l.attributes);
            links.for_each(|kv| visit(Scope::Link, kv));
        }
        for (name, a) in &genai {
            if a.is_some_and(|a| a.is_valid(row)) {
                let kv = KeyValue {
                    key: (*name).into(),
                    ..Default::default()
                };
                visit(Scope::Span, &kv);
            }
        }
    }
    Ok(())
}

/// What the tag endpoints take.
pub struct TagArgs {
    start: u64,
    end: u64,
    limit: usize,
    scope: Option<String>,
    q: Option<String>,
}

impl TagArgs {
    /// From a gRPC request (times in Unix seconds, 0 for unset).
    pub fn from_pb(start: u32, end: u32, scope: &str, query: &str) -> Self {
        let q = query.trim();
        TagArgs {
            start: u64::from(start) * 1_000_000_000,
            end: if end == 0 {
                u64::MAX
            } else {
                u64::from(end) * 1_000_000_000
            },
            limit: DEFAULT_LIMIT,
            scope: (!scope.is_empty() && scope != "all").then(|| scope.to_owned()),
            q: (!q.is_empty() && q != "{}" && q != "{ }").then(|| q.to_owned()),
        }
    }
}

/// The v1 tag list: every attribute name, intrinsics left out.
pub fn flatten(v2: pb::SearchTagsV2Response) -> pb::SearchTagsResponse {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for s in v2.scopes.iter().filter(|s| s.name != "intrinsic") {
        names.extend(s.tags.iter().cloned());
    }
    pb::SearchTagsResponse {
        tag_names: names.into_iter().collect(),
        metrics: v2.metrics,
    }
}

/// The v1 values: strings only, deduplicated.
pub fn untyped(v2: pb::SearchTagValuesV2Response) -> pb::SearchTagValuesResponse {
    let set: BTreeSet<String> = v2.tag_values.into_iter().map(|v| v.value).collect();
    pb::SearchTagValuesResponse {
        tag_values: set.into_iter().collect(),
        metrics: v2.metrics,
    }
}

/// The TraceQL field a v1 (bare) tag name means.
pub fn bare_tag_field(tag: &str) -> String {
    match tag {
        "name" | "status" | "kind" | "duration" | "statusMessage" => tag.to_owned(),
        other => format!(".\"{}\"", other.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

/// Typed values of a TraceQL identifier (`resource.service.name`, `name`, `span:kind`).
pub fn values(
    store: &Store,
    tenant: &str,
    tag: &str,
    a: &TagArgs,
) -> Result<pb::SearchTagValuesV2Response, ApiError> {
    let f = sextant_traceql::parse_field_ref(tag)
        .map_err(|e| ApiError::BadRequest(format!("invalid tag {tag:?}: {e}")))?;
    tag_values(store, tenant, &f, tag, a)
}

fn tag_args(q: &HashMap<String, String>) -> Result<TagArgs, ApiError> {
    let secs = |k: &str| -> Result<Option<u64>, ApiError> {
        match params::nonempty(q.get(k).cloned()) {
            None => Ok(None),
            Some(v) => params::unix_seconds(k, &v).map(Some),
        }
    };
    let limit = match params::nonempty(q.get("limit").cloned()) {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::BadRequest(format!("invalid limit {v:?}")))?,
    };
    let scope = params::nonempty(q.get("scope").cloned());
    if let Some(s) = &scope
        && !(SCOPES.contains(&s.as_str()) || s == "intrinsic" || s == "all")
    {
        return Err(ApiError::BadRequest(format!("invalid scope {s:?}")));
    }
    Ok(TagArgs {
        start: secs("start")?.unwrap_or(0),
        end: secs("end")?.unwrap_or(u64::MAX),
        limit,
        scope: scope.filter(|s| s != "all"),
        q: params::nonempty(q.get("q").cloned()).filter(|q| q != "{}" && q != "{ }"),
    })
}

/// Attribute names by scope.
pub fn names(
    store: &Store,
    tenant: &str,
    a: &TagArgs,
) -> Result<pb::SearchTagsV2Response, ApiError> {
    let mut by_scope: [BTreeSet<String>; 5] = Default::default();
    let bytes = visit_attributes(store, tenant, a.start, a.end, &mut |s, kv| {
        let set = &mut by_scope[s as usize];
        if set.len() < a.limit && !set.contains(&kv.key) {
            set.insert(kv.key.clone());
        }
    })?;
    let mut scopes: Vec<pb::SearchTagsV2Scope> = SCOPES
        .iter()
        .zip(by_scope)
        .filter(|(_, tags)| !tags.is_empty())
        .map(|(name, tags)| pb::SearchTagsV2Scope {
            name: (*name).into(),
            tags: tags.into_iter().collect(),
        })
        .collect();
    scopes.push(pb::SearchTagsV2Scope {
        name: "intrinsic".into(),
        tags: INTRINSICS.iter().map(|s| (*s).into()).collect(),
    });
    if let Some(want) = &a.scope {
        scopes.retain(|s| &s.name == want);
    }
    Ok(pb::SearchTagsV2Response {
        scopes,
        metrics: Some(pb::MetadataMetrics {
            inspected_bytes: bytes,
        }),
    })
}

/// Which stored attributes a tag of the values endpoints names.
fn wanted_scopes(f: &FieldRef) -> Option<(&str, Vec<Scope>)> {
    let FieldRef::Attribute(a) = f else {
        return None;
    };
    let scopes = match a.scope {
        AttributeScope::None => vec![Scope::Span, Scope::Resource],
        AttributeScope::Span => vec![Scope::Span],
        AttributeScope::Resource => vec![Scope::Resource],
        AttributeScope::Event => vec![Scope::Event],
        AttributeScope::Link => vec![Scope::Link],
        AttributeScope::Instrumentation => vec![Scope::Instrumentation],
    };
    Some((a.name.as_str(), scopes))
}

/// A value as the v2 values endpoint types it.
pub fn typed(v: &Value) -> Option<pb::TagValue> {
    let (t, s) = match v {
        Value::Str(s) => ("string", s.clone()),
        Value::Int(i) => ("int", i.to_string()),
        Value::Float(f) => ("float", f.to_string()),
        Value::Bool(b) => ("bool", b.to_string()),
        Value::Duration(d) => ("duration", go_duration_string(*d)),
        Value::Status(_) | Value::Kind(_) => (
            "keyword",
            v.to_any_value().value.and_then(|x| match x {
                opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s) => Some(s),
                _ => None,
            })?,
        ),
        Value::Nil | Value::Array(_) => return None,
    };
    Some(pb::TagValue {
        r#type: t.into(),
        value: s,
    })
}

fn keywords(i: Intrinsic) -> Option<Vec<pb::TagValue>> {
    let words: &[&str] = match i {
        Intrinsic::Status => &["error", "ok", "unset"],
        Intrinsic::Kind => &[
            "client",
            "consumer",
            "internal",
            "producer",
            "server",
            "unspecified",
        ],
        _ => return None,
    };
    Some(
        words
            .iter()
            .map(|w| pb::TagValue {
                r#type: "keyword".into(),
                value: (*w).into(),
            })
            .collect(),
    )
}

/// Typed values of a field.
fn tag_values(
    store: &Store,
    tenant: &str,
    field: &FieldRef,
    text: &str,
    a: &TagArgs,
) -> Result<pb::SearchTagValuesV2Response, ApiError> {
    if let FieldRef::Intrinsic { intrinsic, .. } = field
        && let Some(k) = keywords(*intrinsic)
    {
        return Ok(pb::SearchTagValuesV2Response {
            tag_values: k,
            metrics: None,
        });
    }
    let mut out: BTreeSet<pb::TagValue> = BTreeSet::new();
    let mut bytes = 0;
    let column = pushdown::text_column(field).filter(|_| a.q.is_none());
    match (wanted_scopes(field), &a.q) {
        _ if column.is_some() => {
            let c = column.unwrap_or_default();
            bytes = column_values(store, tenant, c, a, &mut out)?;
        }
        (Some((name, scopes)), None) => {
            bytes = visit_attributes(store, tenant, a.start, a.end, &mut |s, kv| {
                if out.len() < a.limit
                    && kv.key == name
                    && scopes.contains(&s)
                    && let Some(v) = kv
                        .value
                        .as_ref()
                        .map(Value::from_any)
                        .as_ref()
                        .and_then(typed)
                {
                    out.insert(v);
                }
            })?;
            // Canonical GenAI names answered by the fallback only (another dialect was sent).
            if out.is_empty() && name.starts_with("gen_ai.") {
                values_by_query(store, tenant, "{ }", text, a, &mut out)?;
            }
        }
        (_, q) => values_by_query(
            store,
            tenant,
            q.as_deref().unwrap_or("{ }"),
            text,
            a,
            &mut out,
        )?,
    }
    Ok(pb::SearchTagValuesV2Response {
        tag_values: out.into_iter().collect(),
        metrics: Some(pb::MetadataMetrics {
            inspected_bytes: bytes,
        }),
    })
}

/// The distinct strings of text column `c` in the blocks (and head) overlapping the range,
/// read as dictionaries: each distinct value of a row group once.
fn column_values(
    store: &Store,
    tenant: &str,
    c: usize,
    a: &TagArgs,
    out: &mut BTreeSet<pb::TagValue>,
) -> Result<u64, ApiError> {
    let limit = a.limit;
    let stats = store.scan_newest_first_dictionary(tenant, a.start, a.end, &[c], |src| {
        let mut add = |s: &str| {
            if out.len() < limit && !s.is_empty() {
                out.insert(pb::TagValue {
                    r#type: "string".into(),
                    value: s.to_owned(),
                });
            }
        };
        for batch in &src.batches {
            let Some(i) = src.projection.index(c).filter(|i| *i < batch.num_columns()) else {
                continue;
            };
            let col = batch.column(i);
            if let Some(d) = col.as_any_dictionary_opt() {
                let values = d.values().as_string::<i32>();
                values.iter().flatten().for_each(&mut add);
            } else if let Some(v) = col.as_string_opt::<i32>() {
                v.iter().flatten().for_each(&mut add);
            }
        }
        if out.len() >= limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(stats.inspected_bytes)
}

/// Values of `field` on the spans `q` matches, from the newest matching traces.
fn values_by_query(
    store: &Store,
    tenant: &str,
    q: &str,
    field: &str,
    a: &TagArgs,
    out: &mut BTreeSet<pb::TagValue>,
) -> Result<(), ApiError> {
    let filter = q.trim();
    let p = SearchParams {
        query: format!("{filter} | select({field})"),
        start: a.start,
        end: a.end,
        limit: FILTER_TRACES,
        spss: usize::MAX,
        min_duration: None,
        max_duration: None,
    };
    let resp = run_search(store, tenant, &p)?;
    let key = bare_key(field);
    let intrinsic = match sextant_traceql::parse_field_ref(field) {
        Ok(FieldRef::Intrinsic { intrinsic, .. }) => Some(intrinsic),
        _ => None,
    };
    let mut add = |v: Value| {
        if out.len() < a.limit
            && let Some(v) = typed(&v)
        {
            out.insert(v);
        }
    };
    for t in &resp.traces {
        let spans = t.span_sets.iter().flat_map(|s| &s.spans);
        // Search results carry these outside the span attributes.
        match intrinsic {
            Some(Intrinsic::RootName) if t.root_trace_name != NO_ROOT => {
                add(Value::Str(t.root_trace_name.clone()));
            }
            Some(Intrinsic::RootServiceName) if t.root_service_name != NO_ROOT => {
                add(Value::Str(t.root_service_name.clone()));
            }
            Some(Intrinsic::Name) => {
                (spans.filter(|s| !s.name.is_empty())).for_each(|s| add(Value::Str(s.name.clone())))
            }
            _ => (spans.flat_map(|s| &s.attributes))
                .filter(|kv| kv.key == key)
                .filter_map(|kv| kv.value.as_ref().map(Value::from_any))
                .for_each(&mut add),
        }
    }
    Ok(())
}

/// The key under which search results report a field.
fn bare_key(field: &str) -> String {
    match sextant_traceql::parse_field_ref(field) {
        Ok(FieldRef::Attribute(a)) => a.name,
        Ok(FieldRef::Intrinsic { intrinsic, .. }) => intrinsic.bare_name(),
        Err(_) => field.to_owned(),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::BadRequest(format!("query task failed: {e}")))?
}

/// `GET /api/search/tags`.
pub async fn tags_v1(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let args = tag_args(&q)?;
    let store = state.store.clone();
    let resp = flatten(blocking(move || names(&store, &tenant, &args)).await?);
    state.metrics.observe("search_tags", t0);
    Ok(respond(
        &headers,
        &resp,
        |r| json!({ "tagNames": r.tag_names, "metrics": tjson::metadata_metrics(&r.metrics) }),
    ))
}

/// `GET /api/v2/search/tags`.
pub async fn tags_v2(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let args = tag_args(&q)?;
    let store = state.store.clone();
    let resp = blocking(move || names(&store, &tenant, &args)).await?;
    state.metrics.observe("search_tags", t0);
    Ok(respond(&headers, &resp, |r| {
        let scopes: Vec<_> = r
            .scopes
            .iter()
            .map(|s| json!({ "name": s.name, "tags": s.tags }))
            .collect();
        json!({ "scopes": scopes, "metrics": tjson::metadata_metrics(&r.metrics) })
    }))
}

/// `GET /api/search/tag/<tag>/values`: string values of a bare attribute name.
pub async fn values_v1(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let mut args = tag_args(&q)?;
    args.q = None;
    let field = bare_tag_field(&tag);
    let store = state.store.clone();
    let resp = untyped(blocking(move || values(&store, &tenant, &field, &args)).await?);
    state.metrics.observe("search_tag_values", t0);
    Ok(respond(
        &headers,
        &resp,
        |r| json!({ "tagValues": r.tag_values, "metrics": tjson::metadata_metrics(&r.metrics) }),
    ))
}

/// `GET /api/v2/search/tag/<tag>/values`: typed values of a TraceQL identifier.
pub async fn values_v2(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let args = tag_args(&q)?;
    let store = state.store.clone();
    let resp = blocking(move || values(&store, &tenant, &tag, &args)).await?;
    state.metrics.observe("search_tag_values", t0);
    Ok(respond(&headers, &resp, |r| {
        let values: Vec<_> = r
            .tag_values
            .iter()
            .map(|v| json!({ "type": v.r#type, "value": v.value }))
            .collect();
        json!({ "tagValues": values, "metrics": tjson::metadata_metrics(&r.metrics) })
    }))
}
