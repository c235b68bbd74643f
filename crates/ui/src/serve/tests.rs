//! Router tests against the UI that `build.rs` really built and embedded.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::assets::ASSETS;

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

async fn send(app: Router, method: &str, path: &str) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .expect("request");
    let res = app.oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: body.to_vec(),
    }
}

async fn get_ui(path: &str) -> Reply {
    send(crate::router(), "GET", path).await
}

fn header(r: &Reply, name: header::HeaderName) -> &str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn index_bytes() -> &'static [u8] {
    crate::assets::index().expect("index.html embedded").bytes
}

#[tokio::test]
async fn root_serves_index_uncached_with_a_strict_policy() {
    let r = get_ui("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, index_bytes());
    assert_eq!(header(&r, header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&r, header::CACHE_CONTROL), "no-cache");
    let csp = header(&r, header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
}

#[tokio::test]
async fn hashed_assets_are_immutable_with_their_content_type() {
    let built: Vec<_> = ASSETS
        .iter()
        .filter(|a| a.path.starts_with("/assets/"))
        .collect();
    assert!(
        built.iter().any(|a| a.path.ends_with(".js")),
        "no script built"
    );
    assert!(
        built.iter().any(|a| a.path.ends_with(".css")),
        "no style built"
    );
    for asset in built {
        let r = get_ui(asset.path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", asset.path);
        assert_eq!(r.body, asset.bytes, "{}", asset.path);
        assert_eq!(
            header(&r, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        let expected = if asset.path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if asset.path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            asset.content_type
        };
        assert_eq!(header(&r, header::CONTENT_TYPE), expected, "{}", asset.path);
    }
}

#[tokio::test]
async fn unhashed_files_are_revalidated() {
    let r = get_ui("/favicon.svg").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, header::CONTENT_TYPE), "image/svg+xml");
    assert_eq!(header(&r, header::CACHE_CONTROL), "no-cache");
}

#[tokio::test]
async fn client_routes_get_the_app_but_api_paths_and_missing_files_do_not() {
    for route in [
        "/traces",
        "/trace/0af7651916cd43dd8448eb211c80319c",
        "/costs/",
    ] {
        let r = get_ui(route).await;
        assert_eq!(r.status, StatusCode::OK, "{route}");
        assert_eq!(r.body, index_bytes(), "{route}");
    }
    for missing in [
        "/api/nope",
        "/api",
        "/sextant/api/v1/nope",
        "/metrics",
        "/v1/traces",
        "/assets/main-00000000.js",
        "/robots.txt",
    ] {
        let r = get_ui(missing).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{missing}");
    }
}

#[tokio::test]
async fn merged_into_an_api_router_it_only_takes_unclaimed_paths() {
    let app = || {
        Router::new()
            .route("/api/echo", get(|| async { "echo" }))
            .merge(crate::router())
    };
    let api = send(app(), "GET", "/api/echo").await;
    assert_eq!(api.body, b"echo");
    let ui = send(app(), "GET", "/overview").await;
    assert_eq!(ui.body, index_bytes());
    let wrong_method = send(app(), "POST", "/api/echo").await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn head_has_headers_only_and_writes_are_refused() {
    let r = send(crate::router(), "HEAD", "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.is_empty());
    let len = index_bytes().len().to_string();
    assert_eq!(header(&r, header::CONTENT_LENGTH), len);
    let post = send(crate::router(), "POST", "/").await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
}

/// Users may be air-gapped: the page must not load anything from another origin, and every
/// file it references must be embedded.
#[test]
fn index_references_only_embedded_files() {
    let html = String::from_utf8_lossy(index_bytes());
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let mut referenced = 0;
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let url = part.split('"').next().unwrap_or("");
            assert!(url.starts_with('/'), "relative or external reference {url}");
            assert!(crate::assets::find(url).is_some(), "{url} is not embedded");
            referenced += 1;
        }
    }
    assert!(
        referenced >= 3,
        "index.html lacks its script, style or icon: {html}"
    );
}

#[test]
fn styles_load_nothing_from_outside() {
    for asset in ASSETS.iter().filter(|a| a.path.ends_with(".css")) {
        let css = String::from_utf8_lossy(asset.bytes);
        assert!(!css.contains("url(http"), "{}", asset.path);
        assert!(!css.contains("@import"), "{}", asset.path);
    }
}

#[test]
fn the_table_is_sorted_for_lookup() {
    assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
    assert!(crate::assets::find("/index.html").is_some());
}
