//! Errors of this crate.

/// Errors building a price catalog or a content policy.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The price feed is not valid JSON of the expected shape.
    #[error("price data is invalid: {0}")]
    Json(#[from] serde_json::Error),
    /// A price override from the config is invalid.
    #[error("price override #{index} is invalid: {reason}")]
    Override {
        /// Position in the config list (0-based).
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Errors building a content policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A user redaction rule's regex does not compile.
    #[error("redaction rule {name:?} has an invalid pattern: {reason}")]
    BadPattern {
        /// The rule's name.
        name: String,
        /// The regex error.
        reason: String,
    },
}
