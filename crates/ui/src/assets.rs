//! The table of embedded UI files that `build.rs` generates from the built `ui/`.

/// One built file of the UI.
#[derive(Debug)]
pub(crate) struct Asset {
    /// URL path, starting with `/` (`/index.html`, `/assets/index-3f9a1c2b.js`).
    pub path: &'static str,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Content-hashed file under `/assets/`: cacheable forever.
    pub immutable: bool,
    /// The file's bytes.
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file at `path`, if the built UI has one.
pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .and_then(|i| ASSETS.get(i))
}

/// The app's entry page, which every client-side route renders.
pub(crate) fn index() -> Option<&'static Asset> {
    find("/index.html")
}
