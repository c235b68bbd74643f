//! Errors of every stage: lexing/parsing, validation and evaluation.

/// A query that is not TraceQL: the byte offset where reading stopped, what the parser wanted
/// there and what it found instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} at {position}, found {found}")]
pub struct ParseError {
    /// Byte offset into the query text.
    pub position: usize,
    /// What would have been accepted, e.g. `"}"` or `a field expression`.
    pub expected: String,
    /// What was there, quoted, or `end of query`.
    pub found: String,
}

impl ParseError {
    pub(crate) fn new(
        position: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self {
            position,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// A query that parses but is rejected before execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidateError {
    /// The query is semantically wrong (type mismatch, bad regex, out-of-range argument).
    #[error("invalid query: {0}")]
    Invalid(String),
    /// The query is well formed but uses a feature that TraceQL engines do not execute
    /// (`parent`, scalar filters other than `aggregate op number`, too many `by` labels).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Anything that keeps a query text from becoming an executable query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text does not parse.
    #[error("parse error: {0}")]
    Parse(#[from] ParseError),
    /// The text parses but is rejected.
    #[error(transparent)]
    Validate(#[from] ValidateError),
}

impl Error {
    /// HTTP status an API should answer with: always 400, the query is the client's.
    pub fn status_code(&self) -> u16 {
        400
    }
}

/// A failure while evaluating a valid query against data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// Integer division or modulo by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// Integer arithmetic overflowed.
    #[error("integer overflow")]
    Overflow,
    /// A structural operator whose two sides both hold several spansets (after `by()`).
    #[error("structural operator over more than one spanset on both sides")]
    AmbiguousStructural,
    /// The query has a shape the engine refuses (only reachable without validation).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A metrics request whose range or step cannot be evaluated.
    #[error("invalid metrics request: {0}")]
    BadRequest(String),
}
