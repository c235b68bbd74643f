//! Query results in Prometheus's value types.

use crate::labels::Labels;

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Series labels.
    pub labels: Labels,
    /// Timestamp in milliseconds.
    pub t_ms: i64,
    /// Value.
    pub value: f64,
}

/// One series of a range vector (matrix).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// Series labels.
    pub labels: Labels,
    /// `(timestamp ms, value)` points, ascending.
    pub points: Vec<(i64, f64)>,
}

/// A query result value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A single number at a time.
    Scalar {
        /// Timestamp in milliseconds.
        t_ms: i64,
        /// Value.
        value: f64,
    },
    /// A string literal at a time.
    String {
        /// Timestamp in milliseconds.
        t_ms: i64,
        /// Value.
        value: String,
    },
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A range vector; range queries always return this.
    Matrix(Vec<RangeSeries>),
}

impl Value {
    /// The Prometheus API `resultType` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// A result with the annotations produced while computing it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The value.
    pub value: Value,
    /// Warning annotations (`PromQL warning: ...`).
    pub warnings: Vec<String>,
    /// Info annotations (`PromQL info: ...`).
    pub infos: Vec<String>,
}
