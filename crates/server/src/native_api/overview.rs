//! `GET /sextant/api/v1/overview?start=&end=&step=&today=`: the Overview dashboard's figures
//! (requests = traces counted by their root span, failures, p95 duration, tokens, cost in the
//! range and today, per service and per model, requests over time) from the span metrics,
//! which ingest keeps as cumulative series.
//! Unlike a scan of the stored spans, it costs the same at any number of spans.
//!
//! The series store holds the span metrics as of their last flush (every 15 s); when the range
//! ends at about now, the live values the generator holds are added as one more sample at the
//! range's end, so spans ingested a moment ago count too.

mod counters;
mod report;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use sextant_promql::{Labels, Matcher, Series, SeriesSource};

use crate::error::ApiError;
use crate::params::{self, nonempty};
use crate::state::QueryMetrics;
use report::{Selected, Window};

/// Samples before the range this old still serve as a counter's baseline (the span metrics
/// are flushed every 15 s, so a live series always has one).
const BASELINE_LOOKBACK_MS: i64 = 5 * 60_000;
/// A range ending this close to now (clients round `end` to seconds) gets the live values.
const LIVE_SLACK_MS: i64 = 60_000;

/// The series store of a tenant.
pub type SourceFor = Arc<dyn Fn(&str) -> Arc<dyn SeriesSource> + Send + Sync>;
/// The span metrics a tenant has now and not yet flushed: (labels, value) at `now_ms`.
pub type LiveFor = Arc<dyn Fn(&str, i64) -> Vec<(Labels, f64)> + Send + Sync>;

/// What the Overview route needs.
#[derive(Clone)]
pub struct OverviewState {
    pub source: SourceFor,
    pub live: LiveFor,
    pub metrics: QueryMetrics,
}

/// The Overview route, with its own state (the span-metrics series, not the span store).
pub fn router(state: OverviewState) -> Router {
    Router::new()
        .route("/sextant/api/v1/overview", get(overview))
        .with_state(state)
}

/// Errors of the Overview route.
#[derive(Debug, thiserror::Error)]
pub enum OverviewError {
    /// A parameter is wrong.
    #[error(transparent)]
    Request(#[from] ApiError),
    /// The series store failed.
    #[error("series store error: {0}")]
    Series(#[from] sextant_promql::Error),
}

impl IntoResponse for OverviewError {
    fn into_response(self) -> Response {
        match self {
            OverviewError::Request(e) => e.into_response(),
            OverviewError::Series(e) => {
                tracing::error!(error = %e, "overview failed");
                (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Params {
    start: Option<String>,
    end: Option<String>,
    step: Option<String>,
    /// Start of the caller's day (Unix seconds), for "cost today"; default: UTC midnight.
    today: Option<String>,
}

fn window(p: Params, now_ms: i64) -> Result<Window, ApiError> {
    let (start, end) = params::time_range(p.start, p.end)?;
    let ms = |n: u64| (n / 1_000_000) as i64;
    let (start, end) = (ms(start), ms(end));
    let step = match nonempty(p.step) {
        Some(s) => ms(params::duration("step", &s)?),
        None => ((end - start) / 60).max(1_000),
    };
    if (end - start) / step.max(1) > 11_000 {
        return Err(ApiError::BadRequest(
            "more than 11,000 points; use a larger step".into(),
        ));
    }
    let today = match nonempty(p.today) {
        Some(t) => ms(params::unix_seconds("today", &t)?),
        None => now_ms - now_ms.rem_euclid(86_400_000),
    };
    Ok(Window {
        start,
        end,
        step,
        today: today.min(end),
    })
}

async fn overview(
    State(state): State<OverviewState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Result<axum::Json<serde_json::Value>, OverviewError> {
    let t0 = Instant::now();
    let tenant = params::tenant(&headers)?;
    let now = now_ms();
    let w = window(p, now)?;
    let st = state.clone();
    let sel = tokio::task::spawn_blocking(move || select(&st, &tenant, w, now))
        .await
        .map_err(|e| ApiError::BadRequest(format!("query task failed: {e}")))??;
    let body = report::build(&sel, w);
    state.metrics.observe("overview", t0);
    Ok(axum::Json(serde_json::json!({
        "start": w.start as f64 / 1e3,
        "end": w.end as f64 / 1e3,
        "step": w.step as f64 / 1e3,
        "today": w.today as f64 / 1e3,
        "overview": body,
    })))
}

fn now_ms() -> i64 {
    (params::now_nanos() / 1_000_000) as i64
}

/// Reads the Overview's series over the range and today (plus each counter's baseline), with
/// the live values appended when the range reaches the present.
fn select(
    state: &OverviewState,
    tenant: &str,
    w: Window,
    now: i64,
) -> Result<Selected, sextant_promql::Error> {
    let source = (state.source)(tenant);
    let from = w.start.min(w.today) - BASELINE_LOOKBACK_MS;
    let live = if w.end >= now - LIVE_SLACK_MS {
        (state.live)(tenant, now)
    } else {
        Vec::new()
    };
    let live_at = now.min(w.end);
    let [traces, durations, tokens, cost, spans] = report::selections()?;
    let read = |m: &[Matcher]| -> Result<Vec<Series>, sextant_promql::Error> {
        let mut series = source.select(m, from, w.end)?;
        add_live(&mut series, m, &live, live_at);
        Ok(series)
    };
    Ok(Selected {
        traces: read(&traces)?,
        durations: read(&durations)?,
        tokens: read(&tokens)?,
        cost: read(&cost)?,
        spans: read(&spans)?,
    })
}

/// Appends each live value matching `m` at `at` to its series (or as a new series) when it is
/// newer than what the store holds.
fn add_live(series: &mut Vec<Series>, m: &[Matcher], live: &[(Labels, f64)], at: i64) {
    let mut index: std::collections::HashMap<&Labels, usize> = series
        .iter()
        .enumerate()
        .map(|(i, s)| (&s.labels, i))
        .collect();
    let mut fresh = Vec::new();
    let mut append = Vec::new();
    for (labels, v) in live.iter().filter(|(l, _)| Matcher::all_match(m, l)) {
        match index.remove(labels) {
            Some(i) => append.push((i, *v)),
            None => fresh.push(Series {
                labels: labels.clone(),
                samples: vec![(at, *v)],
            }),
        }
    }
    for (i, v) in append {
        let s = &mut series[i];
        if s.samples.last().is_none_or(|&(t, _)| t < at) {
            s.samples.push((at, v));
        }
    }
    series.extend(fresh);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(start: &str, end: &str, step: Option<&str>, today: Option<&str>) -> Params {
        Params {
            start: Some(start.into()),
            end: Some(end.into()),
            step: step.map(Into::into),
            today: today.map(Into::into),
        }
    }

    #[test]
    fn the_window_defaults_to_sixty_points_and_utc_midnight() {
        let w = window(params("1000", "4600", None, None), 90_000_000).expect("window");
        assert_eq!((w.start, w.end, w.step), (1_000_000, 4_600_000, 60_000));
        assert_eq!(w.today, 4_600_000, "today is capped at the end");
        let w = window(
            params("86400000", "86403600", Some("5m"), Some("86390000")),
            0,
        )
        .expect("window");
        assert_eq!((w.step, w.today), (300_000, 86_390_000_000));
        assert!(window(params("0", "86400", Some("1s"), None), 0).is_err());
    }

    #[test]
    fn live_values_extend_their_series_or_start_new_ones() {
        let m = vec![Matcher::new("__name__", sextant_promql::MatchOp::Equal, "c").expect("m")];
        let a = Labels::from_pairs(&[("__name__", "c"), ("k", "a")]);
        let b = Labels::from_pairs(&[("__name__", "c"), ("k", "b")]);
        let other = Labels::from_pairs(&[("__name__", "d")]);
        let mut series = vec![Series {
            labels: a.clone(),
            samples: vec![(10, 1.0)],
        }];
        add_live(
            &mut series,
            &m,
            &[(a, 3.0), (b.clone(), 2.0), (other, 9.0)],
            20,
        );
        assert_eq!(series[0].samples, vec![(10, 1.0), (20, 3.0)]);
        assert_eq!(series[1].labels, b);
        assert_eq!(series.len(), 2);
    }
}
