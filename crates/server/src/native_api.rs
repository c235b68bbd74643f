//! Sextant's own JSON API under `/sextant/api/v1`: trace listings with GenAI totals, one
//! trace's summary, conversations and cost rollups; the Overview's figures from the span
//! metrics ([`overview`], with its own state).

mod conversations;
mod costs;
pub mod overview;
mod traces;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sextant/api/v1/traces", get(traces::list))
        .route("/sextant/api/v1/traces/{id}/summary", get(traces::summary))
        .route("/sextant/api/v1/conversations", get(conversations::list))
        .route(
            "/sextant/api/v1/conversations/{id}",
            get(conversations::one),
        )
        .route("/sextant/api/v1/costs", get(costs::report))
}
