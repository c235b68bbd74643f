//! The Prometheus HTTP API (`/api/v1/...`) over any [`SeriesSource`], so Grafana's Prometheus
//! data source and other Prometheus clients can query Sextant's metrics.
//!
//! ```text
//!  GET/POST /api/v1/query ──Params──▶ engine (spawn_blocking, timeout) ──▶ json envelope
//!                                        │
//!                         PromState::source(tenant) ─▶ Arc<dyn SeriesSource>
//! ```
//!
//! Behaviour follows Prometheus's `web/api/v1/api.go`: the same parameters, parameter errors,
//! status codes, `errorType`s and JSON shapes. The tenant comes from `X-Scope-OrgID` as on the
//! rest of the server.
//!
//! Not covered: exemplars (`query_exemplars` answers an empty list), rules and alerts (empty),
//! the `stats` and `lookback_delta` query parameters (ignored), targets, TSDB status and admin
//! routes, remote read, and response compression. The engine cannot be interrupted, so a
//! timed-out query answers 503 at once but its evaluation only stops at its next series read
//! (see `deadline.rs`); it keeps its concurrency slot until then.

mod deadline;
mod error;
mod exposition;
mod json;
mod meta;
mod params;
mod query;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use sextant_promql::{Engine, SeriesSource};
use tokio::sync::Semaphore;

pub use error::PromError;
pub use exposition::{
    ExpositionError, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, metrics_response,
    openmetrics_to_prometheus_text,
};
pub use json::format_value;
pub use params::{parse_duration, parse_time};

/// Gives the series source of a tenant.
pub type SourceFor = Arc<dyn Fn(&str) -> Arc<dyn SeriesSource> + Send + Sync>;

/// Gives the metric metadata of a tenant, keyed by metric family name.
pub type MetadataFor = Arc<dyn Fn(&str) -> BTreeMap<String, Vec<MetricMetadata>> + Send + Sync>;

/// What `/api/v1/metadata` tells about one metric family.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricMetadata {
    /// `counter`, `gauge`, `histogram`, `summary`, `gaugehistogram`, `info`, `stateset` or `unknown`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Help text.
    pub help: String,
    /// Unit, or empty.
    pub unit: String,
}

/// Settings of the API.
#[derive(Debug, Clone)]
pub struct PromOptions {
    /// Longest a query may run (Prometheus's `--query.timeout`, default 2 minutes); a request's
    /// `timeout` parameter can only shorten it.
    pub query_timeout: Duration,
    /// Most points per series a range query may ask for (Prometheus: 11,000).
    pub max_points_per_series: i64,
    /// Queries evaluated at once; more wait (Prometheus's `--query.max-concurrency`, 20).
    pub max_concurrent_queries: usize,
    /// `version` of `/api/v1/status/buildinfo`: the Prometheus version whose API Sextant
    /// answers as (Grafana's "detect version" reads it to enable features); Sextant's own
    /// version is in `revision`. No `features` field is sent, so Grafana sees a Prometheus,
    /// not a Mimir with a ruler.
    pub version: String,
    /// Data retention reported by `/api/v1/status/runtimeinfo`, e.g. `15d`.
    pub retention: String,
}

impl Default for PromOptions {
    fn default() -> Self {
        PromOptions {
            query_timeout: Duration::from_secs(120),
            max_points_per_series: 11_000,
            max_concurrent_queries: 20,
            version: "3.0.0".to_string(),
            retention: String::new(),
        }
    }
}

/// What the Prometheus API routes share.
#[derive(Clone)]
pub struct PromState {
    /// The series source of each tenant.
    pub source: SourceFor,
    /// The PromQL engine.
    pub engine: Arc<Engine>,
    /// Metric metadata per tenant; `/api/v1/metadata` answers `{}` without it.
    pub metadata: Option<MetadataFor>,
    /// Settings.
    pub options: Arc<PromOptions>,
    /// When the server started, in Unix milliseconds (for `runtimeinfo`).
    pub started_ms: i64,
    /// Permits for queries being evaluated (see [`PromOptions::max_concurrent_queries`]).
    queries: Arc<Semaphore>,
}

impl PromState {
    /// State over `source` with the default engine and settings.
    pub fn new(source: SourceFor) -> Self {
        Self::with_options(source, Arc::new(Engine::default()), PromOptions::default())
    }

    /// State over `source` with the given engine and settings.
    pub fn with_options(source: SourceFor, engine: Arc<Engine>, options: PromOptions) -> Self {
        PromState {
            source,
            engine,
            metadata: None,
            queries: Arc::new(Semaphore::new(options.max_concurrent_queries.max(1))),
            options: Arc::new(options),
            started_ms: now_ms(),
        }
    }

    /// Answers `/api/v1/metadata` from `metadata`.
    pub fn with_metadata(mut self, metadata: MetadataFor) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The same source for every tenant (tests, single-tenant setups).
    pub fn single(source: Arc<dyn SeriesSource>) -> Self {
        Self::new(Arc::new(move |_tenant: &str| Arc::clone(&source)))
    }
}

/// Every Prometheus API route, ready to merge into any router.
pub fn router<S: Clone + Send + Sync + 'static>(state: PromState) -> Router<S> {
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route(
            "/api/v1/query_exemplars",
            get(meta::exemplars).post(meta::exemplars),
        )
        .route(
            "/api/v1/format_query",
            get(meta::format_query).post(meta::format_query),
        )
        .route("/api/v1/series", get(meta::series).post(meta::series))
        .route("/api/v1/labels", get(meta::labels).post(meta::labels))
        .route("/api/v1/label/{name}/values", get(meta::label_values))
        .route("/api/v1/metadata", get(meta::metadata))
        .route("/api/v1/status/buildinfo", get(meta::buildinfo))
        .route("/api/v1/status/runtimeinfo", get(meta::runtimeinfo))
        .route("/api/v1/status/flags", get(meta::flags))
        .route("/api/v1/rules", get(meta::rules))
        .route("/api/v1/alerts", get(meta::alerts))
        .with_state(state)
}

/// Now in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
