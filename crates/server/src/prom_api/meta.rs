//! The Prometheus API's lookup and status routes: series, label names and values, metadata,
//! exemplars, query formatting, build and runtime information, rules and alerts.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::json;
use sextant_promql::{Labels, Matcher, SeriesSource};

use super::error::PromError;
use super::params::{MAX_TIME_MS, MIN_TIME_MS, Params, label_name, match_sets};
use super::query::tenant;
use super::{PromState, json};

/// The warning Prometheus adds when `limit` cut a result short.
const TRUNCATED: &str = "results truncated due to limit";

/// `GET|POST /api/v1/series`: the label sets of series matching any `match[]`.
pub(super) async fn series(
    State(st): State<PromState>,
    headers: HeaderMap,
    p: Params,
) -> Result<Response, PromError> {
    let match_values = p.all("match[]");
    if match_values.is_empty() {
        return Err(PromError::BadData("no match[] parameter provided".into()));
    }
    let (start, end) = range(&p)?;
    let sets = match_sets(&match_values).map_err(|e| PromError::invalid_param("match[]", e))?;
    let limit = p.limit()?;
    let tenant = tenant(&headers)?;
    let mut found = blocking(&st, tenant, move |src| {
        let mut all = BTreeSet::new();
        for set in &sets {
            all.extend(src.select(set, start, end)?.into_iter().map(|s| s.labels));
        }
        Ok(all.into_iter().collect::<Vec<Labels>>())
    })
    .await?;
    let warnings = truncate(&mut found, limit);
    Ok(success(&json::label_sets(&found), &warnings))
}

/// `GET|POST /api/v1/labels`: label names, of all series or of those matching `match[]`.
pub(super) async fn labels(
    State(st): State<PromState>,
    headers: HeaderMap,
    p: Params,
) -> Result<Response, PromError> {
    let (start, end, sets, limit) = lookup_params(&p)?;
    let tenant = tenant(&headers)?;
    let mut names = blocking(&st, tenant, move |src| {
        union(&sets, |set| src.label_names(set, start, end))
    })
    .await?;
    let warnings = truncate(&mut names, limit);
    Ok(success(&json::to_json(&names), &warnings))
}

/// `GET /api/v1/label/<name>/values`: values of one label.
pub(super) async fn label_values(
    State(st): State<PromState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    p: Params,
) -> Result<Response, PromError> {
    let name = label_name(&raw)?;
    let (start, end, sets, limit) = lookup_params(&p)?;
    let tenant = tenant(&headers)?;
    let mut values = blocking(&st, tenant, move |src| {
        union(&sets, |set| src.label_values(&name, set, start, end))
    })
    .await?;
    let warnings = truncate(&mut values, limit);
    Ok(success(&json::to_json(&values), &warnings))
}

/// `GET /api/v1/metadata`: metric metadata by family, filtered by `metric`, capped by
/// `limit` (families) and `limit_per_metric`.
pub(super) async fn metadata(
    State(st): State<PromState>,
    headers: HeaderMap,
    p: Params,
) -> Result<Response, PromError> {
    let limit = p.limit()?;
    let per_metric = p.count("limit_per_metric")?;
    let tenant = tenant(&headers)?;
    let mut all = match &st.metadata {
        Some(f) => f(&tenant),
        None => Default::default(),
    };
    if let Some(metric) = p.get("metric") {
        all.retain(|name, _| name == metric);
    }
    let mut out = serde_json::Map::new();
    for (name, mut list) in all {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        if let Some(l) = per_metric {
            list.truncate(l);
        }
        out.insert(name, json!(list));
    }
    Ok(success(&json::to_json(&out), &[]))
}

/// `GET|POST /api/v1/query_exemplars`: checks its parameters like Prometheus and answers an
/// empty list (Sextant keeps no exemplars yet).
pub(super) async fn exemplars(p: Params) -> Result<Response, PromError> {
    let (start, end) = range(&p)?;
    if end < start {
        return Err(PromError::BadData(
            "end timestamp must not be before start timestamp".into(),
        ));
    }
    sextant_promql::parse(p.get("query").unwrap_or(""))
        .map_err(|e| PromError::BadData(e.to_string()))?;
    Ok(success("[]", &[]))
}

/// `GET|POST /api/v1/format_query`: the query in Prometheus's canonical layout.
pub(super) async fn format_query(p: Params) -> Result<Response, PromError> {
    let formatted = sextant_promql::format_query(p.get("query").unwrap_or(""))
        .map_err(|e| PromError::invalid_param("query", e))?;
    Ok(success(&json::to_json(&formatted), &[]))
}

/// `GET /api/v1/status/buildinfo`.
pub(super) async fn buildinfo(State(st): State<PromState>) -> Response {
    let data = json!({
        "version": st.options.version,
        "revision": concat!("sextant-", env!("CARGO_PKG_VERSION")),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    });
    success(&data.to_string(), &[])
}

/// `GET /api/v1/status/runtimeinfo`, with the fields Prometheus reports.
pub(super) async fn runtimeinfo(State(st): State<PromState>) -> Response {
    let started = chrono::DateTime::from_timestamp_millis(st.started_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let data = json!({
        "startTime": started,
        "CWD": cwd,
        "reloadConfigSuccess": true,
        "lastConfigTime": started,
        "corruptionCount": 0,
        "goroutineCount": 0,
        "GOMAXPROCS": cpus,
        "GOMEMLIMIT": 0,
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": st.options.retention,
    });
    success(&data.to_string(), &[])
}

/// `GET /api/v1/status/flags`: the settings that have a Prometheus flag.
pub(super) async fn flags(State(st): State<PromState>) -> Response {
    let data = json!({
        "query.timeout": format!("{}s", st.options.query_timeout.as_secs()),
        "storage.tsdb.retention.time": st.options.retention,
    });
    success(&data.to_string(), &[])
}

/// `GET /api/v1/rules`: Sextant evaluates no recording or alerting rules.
pub(super) async fn rules() -> Response {
    success(r#"{"groups":[]}"#, &[])
}

/// `GET /api/v1/alerts`: no alerting rules, so no alerts.
pub(super) async fn alerts() -> Response {
    success(r#"{"alerts":[]}"#, &[])
}

fn success(data: &str, warnings: &[String]) -> Response {
    (
        json::json_headers(),
        json::success_envelope(data, warnings, &[]),
    )
        .into_response()
}

type Lookup = (i64, i64, Vec<Vec<Matcher>>, Option<usize>);

/// `start`, `end` (default: all time), optional `match[]` and `limit`.
fn lookup_params(p: &Params) -> Result<Lookup, PromError> {
    let (start, end) = range(p)?;
    let values = p.all("match[]");
    let sets = if values.is_empty() {
        vec![Vec::new()]
    } else {
        match_sets(&values).map_err(PromError::BadData)?
    };
    Ok((start, end, sets, p.limit()?))
}

fn range(p: &Params) -> Result<(i64, i64), PromError> {
    Ok((
        p.time_or("start", MIN_TIME_MS)?,
        p.time_or("end", MAX_TIME_MS)?,
    ))
}

/// The sorted union of a lookup over each matcher set.
fn union(
    sets: &[Vec<Matcher>],
    mut lookup: impl FnMut(&[Matcher]) -> sextant_promql::Result<Vec<String>>,
) -> sextant_promql::Result<Vec<String>> {
    if let [only] = sets {
        return lookup(only);
    }
    let mut all = BTreeSet::new();
    for set in sets {
        all.extend(lookup(set)?);
    }
    Ok(all.into_iter().collect())
}

fn truncate<T>(items: &mut Vec<T>, limit: Option<usize>) -> Vec<String> {
    match limit {
        Some(l) if items.len() > l => {
            items.truncate(l);
            vec![TRUNCATED.to_string()]
        }
        _ => Vec::new(),
    }
}

/// Runs a source lookup on the blocking pool; source failures are `execution` errors, as
/// Prometheus reports querier errors on these routes.
async fn blocking<T: Send + 'static>(
    st: &PromState,
    tenant: String,
    f: impl FnOnce(&dyn SeriesSource) -> sextant_promql::Result<T> + Send + 'static,
) -> Result<T, PromError> {
    let source = st.source.clone();
    tokio::task::spawn_blocking(move || f(source(&tenant).as_ref()))
        .await
        .map_err(|e| PromError::Internal(format!("lookup task failed: {e}")))?
        .map_err(|e| PromError::Execution(e.to_string()))
}
