//! `GET /sextant/api/v1/prices` (the effective price catalog: embedded data, its notice, and
//! the config's overrides) and `POST /sextant/api/v1/costs/recompute?since=` (reprice stored
//! spans after a price change, without re-ingesting).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use sextant_genai::Catalog;
use sextant_store::Store;
use sextant_store::reprice::{RepriceStats, Repricer};

use crate::error::ApiError;
use crate::params::{self, nonempty};

/// What the pricing routes need.
#[derive(Clone)]
pub struct PricingState {
    pub store: Arc<Store>,
    pub catalog: Arc<Catalog>,
    pub repricer: Arc<dyn Repricer>,
}

pub fn router(state: PricingState) -> Router {
    Router::new()
        .route("/sextant/api/v1/prices", get(prices))
        .route("/sextant/api/v1/costs/recompute", post(recompute))
        .with_state(state)
}

async fn prices(State(s): State<PricingState>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "models": s.catalog.model_count(),
        "catalog": &*s.catalog,
    }))
}

#[derive(Debug, Deserialize)]
struct RecomputeParams {
    /// Unix seconds, or a duration back from now (`24h`, `7d`).
    since: Option<String>,
}

/// `since` as Unix nanoseconds: a bare number is Unix seconds, a number with a unit is an age.
fn parse_since(since: &str) -> Result<u64, ApiError> {
    if since.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
        params::unix_seconds("since", since)
    } else {
        Ok(params::now_nanos().saturating_sub(params::duration("since", since)?))
    }
}

async fn recompute(
    State(s): State<PricingState>,
    Query(p): Query<RecomputeParams>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let t0 = Instant::now();
    let since = nonempty(p.since).ok_or_else(|| {
        ApiError::BadRequest("since is required (Unix seconds or e.g. 24h)".into())
    })?;
    let since_nanos = parse_since(&since)?;
    let store = s.store.clone();
    let repricer = s.repricer.clone();
    let stats: RepriceStats =
        params::blocking(move || store.reprice(since_nanos, repricer.as_ref())).await?;
    Ok(axum::Json(serde_json::json!({
        "since": since_nanos as f64 / 1e9,
        "seconds": t0.elapsed().as_secs_f64(),
        "stats": stats,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_unix_seconds_or_an_age() {
        assert_eq!(
            parse_since("1700000000").expect("ok"),
            1_700_000_000_000_000_000
        );
        let day_ago = parse_since("24h").expect("ok");
        let expect = params::now_nanos() - 86_400_000_000_000;
        assert!(day_ago.abs_diff(expect) < 5_000_000_000);
        assert!(parse_since("yesterday").is_err());
    }
}
