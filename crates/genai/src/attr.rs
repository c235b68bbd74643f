//! Conversions from OTLP `AnyValue`s to the plain values the canonical model needs.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};

/// The value as a non-empty string (strings only; other types are not coerced).
pub fn as_str(v: &AnyValue) -> Option<&str> {
    match &v.value {
        Some(Value::StringValue(s)) if has_text(s) => Some(s.as_str()),
        _ => None,
    }
}

/// `!s.trim().is_empty()`, deciding on the first byte when it is a visible ASCII character
/// (almost every value), without `trim`'s scan from both ends.
fn has_text(s: &str) -> bool {
    match s.as_bytes().first() {
        None => false,
        Some(&b) if b.is_ascii() && !(b as char).is_whitespace() => true,
        Some(_) => !s.trim().is_empty(),
    }
}

/// A non-negative count from an int, an integral double or a decimal string.
pub fn as_count(v: &AnyValue) -> Option<u64> {
    match &v.value {
        Some(Value::IntValue(i)) => u64::try_from(*i).ok(),
        Some(Value::DoubleValue(d)) if d.is_finite() && *d >= 0.0 && d.fract() == 0.0 => {
            // Integral and non-negative: the cast is exact below 2^53 and saturates above.
            Some(*d as u64)
        }
        Some(Value::StringValue(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A finite number from a double, an int or a decimal string.
pub fn as_f64(v: &AnyValue) -> Option<f64> {
    let f = match &v.value {
        Some(Value::DoubleValue(d)) => *d,
        Some(Value::IntValue(i)) => *i as f64,
        Some(Value::StringValue(s)) => s.trim().parse().ok()?,
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// Strings from an array of strings, or a single string (borrowed).
pub fn as_str_list(v: &AnyValue) -> smallvec::SmallVec<[Cow<'_, str>; 2]> {
    match &v.value {
        Some(Value::ArrayValue(a)) => a
            .values
            .iter()
            .filter_map(as_str)
            .map(Cow::Borrowed)
            .collect(),
        Some(Value::StringValue(s)) if has_text(s) => {
            smallvec::smallvec![Cow::Borrowed(s.as_str())]
        }
        _ => smallvec::SmallVec::new(),
    }
}
