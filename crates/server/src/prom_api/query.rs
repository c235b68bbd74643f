//! `/api/v1/query` and `/api/v1/query_range`: parameters checked as Prometheus checks them,
//! evaluation on the blocking pool under a timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use sextant_promql::{QueryResult, SeriesSource};

use super::deadline::Deadline;
use super::error::PromError;
use super::params::{Params, parse_duration};
use super::{PromState, json, now_ms};

/// What Prometheus says when a query runs out of time.
const TIMEOUT_MESSAGE: &str = "query timed out in expression evaluation";

/// `GET|POST /api/v1/query`: `query`, optional `time` (default now) and `timeout`.
pub(super) async fn instant(
    State(st): State<PromState>,
    headers: HeaderMap,
    p: Params,
) -> Result<Response, PromError> {
    let tenant = tenant(&headers)?;
    let ts = p.time_or("time", now_ms())?;
    let timeout = timeout(&st, &p)?;
    let query = p.get("query").unwrap_or("").to_string();
    let result = run(&st, &tenant, timeout, move |st, src| {
        st.engine.eval_instant(src, &query, ts)
    })
    .await?;
    Ok(success(&result))
}

/// `GET|POST /api/v1/query_range`: `query`, `start`, `end`, `step`, optional `timeout`.
pub(super) async fn range(
    State(st): State<PromState>,
    headers: HeaderMap,
    p: Params,
) -> Result<Response, PromError> {
    let tenant = tenant(&headers)?;
    let start = p.time("start")?;
    let end = p.time("end")?;
    if end < start {
        return Err(PromError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step_ns = parse_duration(p.get("step").unwrap_or(""))
        .map_err(|e| PromError::invalid_param("step", e))?;
    let step_ms = step_ns / 1_000_000;
    if step_ms <= 0 {
        return Err(PromError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step_ms > st.options.max_points_per_series {
        return Err(PromError::BadData(format!(
            "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
            thousands(st.options.max_points_per_series)
        )));
    }
    let timeout = timeout(&st, &p)?;
    let query = p.get("query").unwrap_or("").to_string();
    let result = run(&st, &tenant, timeout, move |st, src| {
        st.engine.eval_range(src, &query, start, end, step_ms)
    })
    .await?;
    Ok(success(&result))
}

fn success(r: &QueryResult) -> Response {
    let body = json::success_envelope(&json::query_data(r), &r.warnings, &r.infos);
    (json::json_headers(), body).into_response()
}

pub(super) fn tenant(headers: &HeaderMap) -> Result<String, PromError> {
    crate::params::tenant(headers).map_err(|e| PromError::BadData(e.to_string()))
}

/// The request's `timeout`, capped by the configured query timeout.
fn timeout(st: &PromState, p: &Params) -> Result<Duration, PromError> {
    let max = st.options.query_timeout;
    let Some(text) = p.get("timeout") else {
        return Ok(max);
    };
    let ns = parse_duration(text).map_err(|e| PromError::invalid_param("timeout", e))?;
    let asked = Duration::from_nanos(u64::try_from(ns).unwrap_or(0));
    Ok(asked.min(max))
}

/// Evaluates on the blocking pool under a concurrency permit; parse errors become
/// `invalid parameter "query"`. Waiting for a permit counts against the timeout, and the
/// permit is held until the evaluation really ends, so abandoned queries still count.
async fn run(
    st: &PromState,
    tenant: &str,
    timeout: Duration,
    eval: impl FnOnce(&PromState, &dyn SeriesSource) -> sextant_promql::Result<QueryResult>
    + Send
    + 'static,
) -> Result<QueryResult, PromError> {
    let until = Instant::now() + timeout;
    let st = st.clone();
    let tenant = tenant.to_string();
    let work = async move {
        let permit = Arc::clone(&st.queries)
            .acquire_owned()
            .await
            .map_err(|_| PromError::Internal("query limiter closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let src = (st.source)(&tenant);
            eval(&st, &Deadline::new(src.as_ref(), until))
        })
        .await
        .map_err(|join| PromError::Internal(format!("query task failed: {join}")))
    };
    match tokio::time::timeout(timeout, work).await {
        Err(_) => Err(PromError::Timeout(TIMEOUT_MESSAGE.into())),
        Ok(Err(e)) => Err(e),
        Ok(Ok(Err(sextant_promql::Error::BadData(msg)))) => {
            Err(PromError::invalid_param("query", msg))
        }
        Ok(Ok(Err(e))) => Err(e.into()),
        Ok(Ok(Ok(r))) => Ok(r),
    }
}

/// `11000` as `11,000`, as Prometheus's message spells its limit.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod unit {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(11_000), "11,000");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }
}
