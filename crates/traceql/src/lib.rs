//! TraceQL for Sextant: the query stage of the flow (`store → query → serve`).
//!
//! ```text
//!  text ──lexer──▶ tokens ──parser──▶ ast::Query ──validate──▶ executable query
//!                                          │
//!            conditions() ◀────────────────┤  (what a store may push down to prune traces)
//!                                          ▼
//!  one trace (&[ResourceSpans]) ──Engine::eval_trace──▶ spansets      (search)
//!  many traces ──MetricsEvaluator──▶ time series                       (metrics)
//! ```
//!
//! ```
//! use sextant_traceql::{Engine, MetricsEvaluator, MetricsRequest, conditions};
//!
//! let engine = Engine::compile(r#"{ span.gen_ai.request.model = "gpt-4o" && duration > 2s }"#)?;
//! let pushdown = conditions(engine.query()); // prune with these when `pushdown.all`
//! assert!(pushdown.all);
//! let trace = Vec::new(); // one trace as the store returns it: Vec<ResourceSpans>
//! assert!(engine.eval_trace(&trace)?.is_none());
//!
//! let rate = Engine::compile("{ status = error } | rate() by (resource.service.name)")?;
//! let req = MetricsRequest { start_unix_nano: 0, end_unix_nano: 3_600_000_000_000,
//!                            step_nanos: 60_000_000_000, instant: false };
//! let mut m = MetricsEvaluator::new(&rate, req)?;
//! m.observe_trace(&trace)?;
//! assert!(m.finish().is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The language follows Tempo's TraceQL (see `../shared/conformance/traceql/README.md`), plus
//! the extensions listed in `EXTENSIONS.md`.

pub mod ast;
pub mod conditions;
mod display;
pub mod error;
pub mod eval;
mod lexer;
pub mod metrics;
mod parser;
pub mod trace;
mod validate;
pub mod value;
pub mod walk;

pub use conditions::{Condition, Conditions, conditions};
pub use display::format_duration;
pub use error::{Error, EvalError, ParseError, ValidateError};
pub use eval::{AttributeFallback, Engine, NoFallback, SpanMatch, SpansetResult, TraceResult};
pub use metrics::{MetricsEvaluator, MetricsRequest, Series, SeriesId, default_step};
pub use parser::{parse_field_ref, parse_syntax};
pub use validate::validate;
pub use value::Value;

/// Parses and validates a query: the entry point for anything that will execute it.
pub fn parse(src: &str) -> Result<ast::Query, Error> {
    let q = parse_syntax(src)?;
    validate(&q)?;
    Ok(q)
}
