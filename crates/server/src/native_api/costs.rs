//! `GET /sextant/api/v1/costs?group_by=model|provider|agent|service|user&start=&end=&step=`:
//! cost and tokens of model calls, totals and a time series per group.

use std::time::Instant;

use axum::extract::{Query, State};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sextant_store::rollup::{CostQuery, GroupBy, Usage};

use crate::error::ApiError;
use crate::params::{self, nonempty};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct Params {
    group_by: Option<String>,
    start: Option<String>,
    end: Option<String>,
    step: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageJson {
    calls: u64,
    unpriced_calls: u64,
    cost_usd: f64,
    input_tokens: u64,
    output_tokens: u64,
    cache_read_tokens: u64,
    cache_write_tokens: u64,
    reasoning_tokens: u64,
    total_tokens: u64,
}

impl From<&Usage> for UsageJson {
    fn from(u: &Usage) -> Self {
        Self {
            calls: u.calls,
            unpriced_calls: u.unpriced_calls,
            cost_usd: u.cost_usd,
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_read_tokens: u.cache_read_tokens,
            cache_write_tokens: u.cache_write_tokens,
            reasoning_tokens: u.reasoning_tokens,
            total_tokens: u.input_tokens + u.output_tokens,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Point {
    /// Bucket start, Unix seconds.
    t: f64,
    #[serde(flatten)]
    usage: UsageJson,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupJson {
    /// The group's value; null for calls that do not say.
    key: Option<String>,
    total: UsageJson,
    series: Vec<Point>,
}

pub(super) async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let group_name = nonempty(p.group_by).unwrap_or_else(|| "model".into());
    let group_by: GroupBy = group_name
        .parse()
        .map_err(|e: sextant_store::StoreError| ApiError::BadRequest(e.to_string()))?;
    let (start, end) = params::time_range(p.start, p.end)?;
    let step = nonempty(p.step)
        .map(|s| params::duration("step", &s))
        .transpose()?;
    let q = CostQuery {
        start,
        end,
        step,
        group_by,
    };
    let store = state.store.clone();
    let report = params::blocking(move || store.cost_report(&tenant, &q)).await?;
    let groups: Vec<GroupJson> = report
        .groups
        .iter()
        .map(|g| GroupJson {
            key: g.key.clone(),
            total: UsageJson::from(&g.total),
            series: g
                .series
                .iter()
                .map(|(t, u)| Point {
                    t: *t as f64 / 1e9,
                    usage: UsageJson::from(u),
                })
                .collect(),
        })
        .collect();
    state.metrics.observe("costs", t0);
    Ok(axum::Json(serde_json::json!({
        "groupBy": group_name,
        "start": start as f64 / 1e9,
        "end": end as f64 / 1e9,
        "step": step.map(|s| s as f64 / 1e9),
        "total": UsageJson::from(&report.total),
        "groups": groups,
    })))
}
