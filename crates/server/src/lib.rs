//! Query and operational HTTP APIs: the `serve` stage of the flow
//! (ingest -> normalize -> store -> query -> **serve**).
//!
//! - Tempo-compatible paths under `/api/` (so Grafana's Tempo data source works),
//! - Sextant's own JSON API under `/sextant/api/v1/`,
//! - `/ready` and `/metrics`.

pub mod error;
pub mod native_api;
pub mod ops;
pub mod params;
pub mod pricing_api;
pub mod prom_api;
pub mod state;
pub mod tempo_api;
pub mod tempo_json;

pub use state::{AppState, QueryMetrics};

/// Every query route.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .merge(tempo_api::router())
        .merge(native_api::router())
        .merge(ops::router())
        .with_state(state)
}
