//! Run-time values and the comparison and arithmetic rules between them.
//!
//! Rules (as Tempo executes them): any comparison with a missing attribute (`Nil`) is false
//! except `= nil` / `!= nil`; values of different types compare false, never an error; ints,
//! floats and durations (ns) compare numerically; for arrays `=` and `=~` need any element to
//! match and `!=` and `!~` need no element to match.

use std::cmp::Ordering;

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use regex::Regex;

use crate::ast::{BinaryOp, Kind, Static, Status};
use crate::error::EvalError;

/// A value of a span field at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Absent.
    Nil,
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// String.
    Str(String),
    /// Boolean.
    Bool(bool),
    /// Nanoseconds.
    Duration(i64),
    /// Span status.
    Status(Status),
    /// Span kind.
    Kind(Kind),
    /// An array attribute, or a field with one value per event or link.
    Array(Vec<Value>),
}

impl Value {
    /// Converts an OTLP attribute value; maps and empty values become `Nil`, bytes become hex.
    pub fn from_any(v: &AnyValue) -> Value {
        match &v.value {
            Some(any_value::Value::StringValue(s)) => Value::Str(s.clone()),
            Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
            Some(any_value::Value::IntValue(i)) => Value::Int(*i),
            Some(any_value::Value::DoubleValue(d)) => Value::Float(*d),
            Some(any_value::Value::ArrayValue(a)) => {
                Value::Array(a.values.iter().map(Value::from_any).collect())
            }
            Some(any_value::Value::BytesValue(b)) => Value::Str(hex(b)),
            Some(any_value::Value::KvlistValue(_) | any_value::Value::StringValueStrindex(_))
            | None => Value::Nil,
        }
    }

    /// A literal's value.
    pub fn from_static(s: &Static) -> Value {
        match s {
            Static::Nil => Value::Nil,
            Static::Int(i) => Value::Int(*i),
            Static::Float(f) => Value::Float(*f),
            Static::Str(s) => Value::Str(s.clone()),
            Static::Bool(b) => Value::Bool(*b),
            Static::Duration(d) => Value::Duration(*d),
            Static::Status(s) => Value::Status(*s),
            Static::Kind(k) => Value::Kind(*k),
        }
    }

    /// Numeric value as a float; durations in nanoseconds.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) | Value::Duration(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Whether a filter keeps the span: only `true` does.
    pub fn is_true(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// One value or, for several, an array; `Nil` for none.
    pub(crate) fn collect(mut values: Vec<Value>) -> Value {
        match values.len() {
            0 => Value::Nil,
            1 => values.pop().unwrap_or(Value::Nil),
            _ => Value::Array(values),
        }
    }
}

impl Value {
    /// The value as an OTLP attribute value, as Tempo renders span attributes in search
    /// results: durations as Go-style duration strings (`1m30s`), status and kind as words.
    pub fn to_any_value(&self) -> AnyValue {
        let v = match self {
            Value::Nil => return AnyValue { value: None },
            Value::Int(i) => any_value::Value::IntValue(*i),
            Value::Float(f) => any_value::Value::DoubleValue(*f),
            Value::Str(s) => any_value::Value::StringValue(s.clone()),
            Value::Bool(b) => any_value::Value::BoolValue(*b),
            Value::Duration(d) => any_value::Value::StringValue(go_duration(*d)),
            Value::Status(s) => any_value::Value::StringValue(Static::Status(*s).to_string()),
            Value::Kind(k) => any_value::Value::StringValue(k.name().to_string()),
            Value::Array(items) => {
                any_value::Value::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: items.iter().map(Value::to_any_value).collect(),
                })
            }
        };
        AnyValue { value: Some(v) }
    }
}

/// A duration as Go's `time.Duration.String()` writes it (`1.5s`, `2m0s`, `250µs`), which is
/// how Tempo shows durations in search results.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let n = ns.unsigned_abs();
    // `whole.fraction` of n / unit, trailing zeros trimmed.
    let frac = |unit: u64, digits: usize| {
        let f = format!("{:0digits$}", n % unit);
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            format!("{}", n / unit)
        } else {
            format!("{}.{f}", n / unit)
        }
    };
    let body = if n < 1_000 {
        format!("{n}ns")
    } else if n < 1_000_000 {
        format!("{}µs", frac(1_000, 3))
    } else if n < 1_000_000_000 {
        format!("{}ms", frac(1_000_000, 6))
    } else {
        let (h, m) = (n / 3_600_000_000_000, (n / 60_000_000_000) % 60);
        let secs = {
            let rest = n % 60_000_000_000;
            let f = format!("{:09}", rest % 1_000_000_000);
            let f = f.trim_end_matches('0');
            if f.is_empty() {
                format!("{}s", rest / 1_000_000_000)
            } else {
                format!("{}.{f}s", rest / 1_000_000_000)
            }
        };
        match (h, m) {
            (0, 0) => secs,
            (0, m) => format!("{m}m{secs}"),
            (h, m) => format!("{h}h{m}m{secs}"),
        }
    };
    format!("{sign}{body}")
}

/// Lower-case hex of an id.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Tests presence against a `nil` literal: `x = nil` holds when `x` is absent, `x != nil`
/// when it is present.
pub fn compare_nil(op: BinaryOp, other: &Value) -> bool {
    match op {
        BinaryOp::Eq => *other == Value::Nil,
        BinaryOp::Ne => *other != Value::Nil,
        _ => false,
    }
}

/// The `status` of an OTLP status code (codes outside the enum read as unset).
pub fn status_of_code(code: i32) -> Status {
    match code {
        1 => Status::Ok,
        2 => Status::Error,
        _ => Status::Unset,
    }
}

/// The `kind` of an OTLP span kind number (unknown numbers read as unspecified).
pub fn kind_of_code(kind: i32) -> Kind {
    match kind {
        1 => Kind::Internal,
        2 => Kind::Server,
        3 => Kind::Client,
        4 => Kind::Producer,
        5 => Kind::Consumer,
        _ => Kind::Unspecified,
    }
}

/// Evaluates a comparison or regex operator; an absent value (`Nil`) compares false, even
/// with `!=` (use [`compare_nil`] for a `nil` literal). `re` is the compiled right side of
/// `=~`/`!~`.
pub fn compare(op: BinaryOp, l: &Value, r: &Value, re: Option<&Regex>) -> bool {
    if op.is_regex() {
        let Some(re) = re else { return false };
        let matches = |v: &Value| matches!(v, Value::Str(s) if re.is_match(s));
        return match (op, l) {
            (BinaryOp::Regex, Value::Array(items)) => items.iter().any(matches),
            (BinaryOp::NotRegex, Value::Array(items)) => {
                items.iter().any(|v| matches!(v, Value::Str(_))) && !items.iter().any(matches)
            }
            (BinaryOp::Regex, v) => matches(v),
            (_, Value::Str(s)) => !re.is_match(s),
            _ => false,
        };
    }
    match (l, r) {
        (Value::Nil, _) | (_, Value::Nil) => false,
        (Value::Array(items), other) => array_compare(op, items, other),
        (other, Value::Array(items)) => array_compare(flip(op), items, other),
        _ => scalar_compare(op, l, r),
    }
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

fn array_compare(op: BinaryOp, items: &[Value], other: &Value) -> bool {
    if op == BinaryOp::Ne {
        let comparable = items.iter().any(|v| order(v, other).is_some());
        return comparable && !items.iter().any(|v| scalar_compare(BinaryOp::Eq, v, other));
    }
    items.iter().any(|v| scalar_compare(op, v, other))
}

/// Ordering of two scalars of compatible types; `None` when they do not compare.
fn order(l: &Value, r: &Value) -> Option<Ordering> {
    match (l, r) {
        (Value::Int(a) | Value::Duration(a), Value::Int(b) | Value::Duration(b)) => Some(a.cmp(b)),
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => {
            (a == b).then_some(Ordering::Equal).or(Some(Ordering::Less))
        }
        (Value::Status(a), Value::Status(b)) => {
            (a == b).then_some(Ordering::Equal).or(Some(Ordering::Less))
        }
        (Value::Kind(a), Value::Kind(b)) => {
            (a == b).then_some(Ordering::Equal).or(Some(Ordering::Less))
        }
        _ => l.as_f64()?.partial_cmp(&r.as_f64()?),
    }
}

fn scalar_compare(op: BinaryOp, l: &Value, r: &Value) -> bool {
    let unordered = matches!(l, Value::Bool(_) | Value::Status(_) | Value::Kind(_));
    let Some(o) = order(l, r) else { return false };
    match op {
        BinaryOp::Eq => o == Ordering::Equal,
        BinaryOp::Ne => o != Ordering::Equal,
        _ if unordered => false,
        BinaryOp::Lt => o == Ordering::Less,
        BinaryOp::Le => o != Ordering::Greater,
        BinaryOp::Gt => o == Ordering::Greater,
        BinaryOp::Ge => o != Ordering::Less,
        _ => false,
    }
}

/// Evaluates `+ - * / % ^`. Non-numeric operands give `Nil` (and so a false comparison).
pub fn arith(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, EvalError> {
    let int_like = |v: &Value| match v {
        Value::Int(i) | Value::Duration(i) => Some(*i),
        _ => None,
    };
    if let (Some(a), Some(b)) = (int_like(l), int_like(r)) {
        let duration = matches!(l, Value::Duration(_)) || matches!(r, Value::Duration(_));
        let v = int_arith(op, a, b)?;
        return Ok(match v {
            Value::Int(i) if duration => Value::Duration(i),
            other => other,
        });
    }
    let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
        return Ok(Value::Nil);
    };
    Ok(Value::Float(match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Mod => a % b,
        BinaryOp::Pow => a.powf(b),
        _ => return Ok(Value::Nil),
    }))
}

fn int_arith(op: BinaryOp, a: i64, b: i64) -> Result<Value, EvalError> {
    let v = match op {
        BinaryOp::Add => a.checked_add(b),
        BinaryOp::Sub => a.checked_sub(b),
        BinaryOp::Mul => a.checked_mul(b),
        BinaryOp::Div | BinaryOp::Mod if b == 0 => return Err(EvalError::DivisionByZero),
        BinaryOp::Div => a.checked_div(b),
        BinaryOp::Mod => a.checked_rem(b),
        BinaryOp::Pow => match u32::try_from(b) {
            Ok(e) => a.checked_pow(e),
            Err(_) => return Ok(Value::Float((a as f64).powf(b as f64))),
        },
        _ => return Ok(Value::Nil),
    };
    v.map(Value::Int).ok_or(EvalError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nil_compares_false_except_nil_tests() {
        assert!(!compare(
            BinaryOp::Ne,
            &Value::Nil,
            &Value::Str("x".into()),
            None
        ));
        assert!(!compare(BinaryOp::Eq, &Value::Nil, &Value::Nil, None));
        assert!(compare_nil(BinaryOp::Eq, &Value::Nil));
        assert!(compare_nil(BinaryOp::Ne, &Value::Int(1)));
        assert!(!compare_nil(BinaryOp::Ne, &Value::Nil));
    }

    #[test]
    fn type_mismatch_is_false_not_error() {
        assert!(!compare(
            BinaryOp::Eq,
            &Value::Str("2".into()),
            &Value::Int(2),
            None
        ));
        assert!(!compare(
            BinaryOp::Ne,
            &Value::Str("2".into()),
            &Value::Int(2),
            None
        ));
        assert!(compare(
            BinaryOp::Eq,
            &Value::Int(200),
            &Value::Float(200.0),
            None
        ));
        assert!(compare(
            BinaryOp::Gt,
            &Value::Duration(2_000),
            &Value::Int(1_000),
            None
        ));
    }

    #[test]
    fn arrays_match_any_and_none() {
        let a = Value::Array(vec![Value::Str("a".into()), Value::Str("b".into())]);
        assert!(compare(BinaryOp::Eq, &a, &Value::Str("b".into()), None));
        assert!(!compare(BinaryOp::Ne, &a, &Value::Str("b".into()), None));
        assert!(compare(BinaryOp::Ne, &a, &Value::Str("c".into()), None));
    }

    #[test]
    fn renders_like_tempo_search_attributes() {
        let s = |v: Value| match v.to_any_value().value {
            Some(any_value::Value::StringValue(s)) => s,
            other => format!("{other:?}"),
        };
        assert_eq!(s(Value::Duration(90_000_000_000)), "1m30s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(250_000), "250µs");
        assert_eq!(go_duration(1_250_000), "1.25ms");
        assert_eq!(go_duration(-7), "-7ns");
        assert_eq!(s(Value::Status(Status::Error)), "error");
        assert_eq!(s(Value::Kind(Kind::Client)), "client");
    }

    #[test]
    fn integer_division_by_zero_is_an_error() {
        assert_eq!(
            arith(BinaryOp::Div, &Value::Int(1), &Value::Int(0)),
            Err(EvalError::DivisionByZero)
        );
        assert_eq!(
            arith(BinaryOp::Mul, &Value::Duration(2), &Value::Int(3)),
            Ok(Value::Duration(6))
        );
        assert_eq!(
            arith(BinaryOp::Add, &Value::Str("a".into()), &Value::Int(3)),
            Ok(Value::Nil)
        );
    }
}
