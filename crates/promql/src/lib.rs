//! PromQL for Sextant: the query stage of the metrics flow.
//!
//! ```text
//!  query text ──parse──▶ AST ──Engine::eval_*──▶ Value (scalar | string | vector | matrix)
//!                                   │
//!                                   ▼
//!                             SeriesSource::select (store, or MemSource)
//! ```
//!
//! Evaluation follows Prometheus 3.x: left-open windows, a 5-minute lookback, staleness markers,
//! `@`/`offset`, subqueries, and delayed `__name__` removal. Every node is evaluated once over
//! all steps of a query, so a range query reads each series once and slides windows over it
//! with binary search instead of re-selecting per step.

mod aggregate;
mod binary;
mod engine;
mod error;
mod eval;
#[cfg(test)]
mod fast_path_tests;
mod format;
mod functions;
mod fused;
mod histogram;
mod labels;
mod labels_fn;
mod parallel;
mod range_funcs;
mod rate;
mod source;
mod value;

pub use engine::{Engine, EngineOptions, parse};
pub use error::{Error, Result};
pub use format::format_query;
pub use labels::{Labels, METRIC_NAME, MatchOp, Matcher};
pub use source::{
    MemSource, STALE_NAN_BITS, Series, SeriesSource, SeriesVisitor, is_stale, stale_nan,
};
pub use value::{QueryResult, RangeSeries, Sample, Value};
