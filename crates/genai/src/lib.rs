//! GenAI semantics for Sextant: the **normalize** stage of the ingest flow.
//!
//! ```text
//! OTLP span ──▶ normalize() ──▶ Canonical ──▶ price() ──▶ Canonical + Cost ──▶ TraceTotals::add
//!     │                            (dialect table,        (embedded catalog      (model calls only,
//!     │                             rules.rs)              + overrides)           order independent)
//!     └──▶ ContentPolicy::apply (drop or redact prompt/completion content before the WAL)
//! ```
//!
//! Ingest runs the same stages on `CanonicalRef` (`normalize_ref`, `price_ref`): the fields
//! borrow from the span and a catalog price is an interned `Source`, so a span costs no copies.
//!
//! Pure code: no I/O at run time. The price catalog is embedded at build time (see `build.rs`).

pub mod attr;
pub mod canonical;
pub mod canonical_ref;
pub mod catalog;
pub mod classify;
pub mod content;
pub mod error;
pub mod key_index;
pub mod normalize;
pub mod pricing;
pub mod redact;
pub mod rules;
pub mod source;
pub mod totals;

pub use canonical::{Canonical, Cost, CostSource, Operation, PriceEntry};
pub use canonical_ref::{CanonicalRef, CostRef};
pub use catalog::overrides::PriceOverride;
pub use catalog::{Catalog, Quote, catalog_notice};
pub use classify::{counts_toward_totals, is_llm_call, is_tool_call};
pub use content::{ContentPolicy, ContentPolicyConfig, ContentStats};
pub use error::{CatalogError, PolicyError};
pub use normalize::{ResourceFields, normalize, normalize_ref, normalize_with_resource};
pub use pricing::{price, price_ref};
pub use source::Source;
pub use totals::TraceTotals;
