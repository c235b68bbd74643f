//! The fallback handler: built files, `index.html` for client-side routes, 404 for the rest.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, Uri, header};

use crate::assets::{self, Asset};

/// Path prefixes of APIs: an unknown path there is a client error, never the app's page.
const API_PREFIXES: [&str; 6] = [
    "/api/",
    "/sextant/",
    "/v1/",
    "/debug/",
    "/prometheus/",
    "/loki/",
];
const API_PATHS: [&str; 5] = ["/api", "/sextant", "/metrics", "/ready", "/v1"];

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Scripts, styles and requests only from this origin: the UI works air-gapped, and data that
/// slips into markup still cannot load or run anything from elsewhere.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Serves `uri` from the embedded UI.
pub(crate) async fn handle(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return not_found();
    }
    let path = uri.path();
    let found = match assets::find(path) {
        Some(asset) => Some(asset),
        None if is_client_route(path) => assets::index(),
        None => None,
    };
    match found {
        Some(asset) => respond(asset, method == Method::HEAD),
        None => not_found(),
    }
}

/// A path the app routes itself: not an API, not a missing file (no extension in its last part).
fn is_client_route(path: &str) -> bool {
    let api = API_PATHS.contains(&path) || API_PREFIXES.iter().any(|p| path.starts_with(p));
    let last = path.rsplit('/').next().unwrap_or("");
    !api && !last.contains('.')
}

fn respond(asset: &'static Asset, head: bool) -> Response {
    let body = if head {
        Body::empty()
    } else {
        Body::from(asset.bytes)
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(asset.bytes.len()));
    let cache = if asset.immutable {
        IMMUTABLE
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.content_type.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

#[cfg(test)]
mod tests;
