//! Sextant's web UI, embedded in the binary: the `serve` stage's user-facing face
//! (ingest -> normalize -> store -> query -> **serve**).
//!
//! `build.rs` builds `ui/` (TypeScript, Preact, Vite) with npm and embeds every built file; this
//! crate serves them. It is a leaf crate so that only it recompiles when the UI changes.
//!
//! ```text
//! GET /                     index.html                 Cache-Control: no-cache
//! GET /assets/<name>-<hash> the built file             Cache-Control: public, max-age=31536000, immutable
//! GET /traces/<id> (etc.)   index.html (client-side routes)
//! GET /api/<unknown>        404 (API paths never get the app)
//! ```

mod assets;
mod serve;

use axum::Router;

/// A router that serves the UI for every path no other route claims.
///
/// It only sets a fallback, so merge it into the query router (or use it as its fallback
/// service): `Router::new().merge(api_routes).merge(sextant_ui::router())`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().fallback(serve::handle)
}
