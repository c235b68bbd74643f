//! Prometheus's JSON encoding of API responses, written by hand so that numbers come out
//! exactly as Prometheus spells them: timestamps as Unix seconds with millisecond digits
//! (`1435781451.781`), sample values as strings (`"1"`, `"NaN"`, `"+Inf"`, `"1e-07"`).

use std::fmt::Write;

use http::{HeaderValue, header};
use sextant_promql::{Labels, QueryResult, Value};

/// The `Content-Type` of every Prometheus API answer.
pub fn json_headers() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )]
}

/// `{"status":"success","data":<data>,...}`; `warnings`/`infos` only when non-empty.
pub fn success_envelope(data: &str, warnings: &[String], infos: &[String]) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str(r#"{"status":"success","data":"#);
    out.push_str(data);
    for (key, list) in [("warnings", warnings), ("infos", infos)] {
        if !list.is_empty() {
            let _ = write!(out, r#","{key}":"#);
            write_json(&mut out, &list);
        }
    }
    out.push('}');
    out
}

/// `{"status":"error","errorType":<ty>,"error":<msg>}`.
pub fn error_envelope(ty: &str, msg: &str) -> String {
    let mut out = String::from(r#"{"status":"error","errorType":"#);
    write_json(&mut out, &ty);
    out.push_str(r#","error":"#);
    write_json(&mut out, &msg);
    out.push('}');
    out
}

/// `{"resultType":"vector","result":[...]}` for a query result.
pub fn query_data(r: &QueryResult) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(r#"{"resultType":"#);
    write_json(&mut out, &r.value.type_name());
    out.push_str(r#","result":"#);
    match &r.value {
        Value::Scalar { t_ms, value } => write_point(&mut out, *t_ms, *value),
        Value::String { t_ms, value } => {
            out.push('[');
            write_timestamp(&mut out, *t_ms);
            out.push(',');
            write_json(&mut out, value);
            out.push(']');
        }
        Value::Vector(samples) => write_list(&mut out, samples, |out, s| {
            out.push_str(r#"{"metric":"#);
            write_labels(out, &s.labels);
            out.push_str(r#","value":"#);
            write_point(out, s.t_ms, s.value);
            out.push('}');
        }),
        Value::Matrix(series) => write_list(&mut out, series, |out, s| {
            out.push_str(r#"{"metric":"#);
            write_labels(out, &s.labels);
            out.push_str(r#","values":"#);
            write_list(out, &s.points, |out, &(t, v)| write_point(out, t, v));
            out.push('}');
        }),
    }
    out.push('}');
    out
}

/// `[{"__name__":"up",...},...]` for `/api/v1/series`.
pub fn label_sets(sets: &[Labels]) -> String {
    let mut out = String::with_capacity(64 * sets.len() + 2);
    write_list(&mut out, sets, write_labels);
    out
}

/// Any serializable value as JSON text.
pub fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut out = String::new();
    write_json(&mut out, v);
    out
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut String, v: &T) {
    // Serializing strings, string slices and plain structs cannot fail.
    match serde_json::to_string(v) {
        Ok(s) => out.push_str(&s),
        Err(_) => out.push_str("null"),
    }
}

fn write_list<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, item);
    }
    out.push(']');
}

/// A label set as a JSON object, in label-name order.
pub fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json(out, name);
        out.push(':');
        write_json(out, value);
    }
    out.push('}');
}

/// `[<unix seconds>,"<value>"]`.
fn write_point(out: &mut String, t_ms: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t_ms);
    out.push_str(",\"");
    out.push_str(&format_value(v));
    out.push_str("\"]");
}

/// Milliseconds as Unix seconds: whole seconds, then `.` and three digits when not whole,
/// as Prometheus's `marshalTimestamp` writes them.
pub fn write_timestamp(out: &mut String, t_ms: i64) {
    let abs = t_ms.unsigned_abs();
    if t_ms < 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", abs / 1000);
    let frac = abs % 1000;
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
}

/// A sample value as Prometheus writes it: Go's shortest `'f'` format, `'e'` format below
/// 1e-6 and from 1e21 on, and `NaN`, `+Inf`, `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        return go_exponent(&format!("{v:e}"));
    }
    format!("{v}")
}

/// Rust's `1.5e21` / `1e-7` to Go's `1.5e+21` / `1e-07`.
fn go_exponent(rust: &str) -> String {
    let Some((mantissa, exp)) = rust.split_once('e') else {
        return rust.to_string();
    };
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_promql::{RangeSeries, Sample};

    #[test]
    fn values_are_spelled_like_go() {
        let cases = [
            (1.0, "1"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (1e-7, "1e-07"),
            (1.5e21, "1.5e+21"),
            (1e100, "1e+100"),
            (123456789.0, "123456789"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (0.0, "0"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (v, want) in cases {
            assert_eq!(format_value(v), want, "{v}");
        }
    }

    #[test]
    fn timestamps_keep_millisecond_digits() {
        let cases = [
            (1_435_781_451_781, "1435781451.781"),
            (1_000, "1"),
            (1_500, "1.500"),
            (1_005, "1.005"),
            (0, "0"),
            (-1_500, "-1.500"),
        ];
        for (ms, want) in cases {
            let mut s = String::new();
            write_timestamp(&mut s, ms);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn results_have_prometheus_shape() {
        let labels = Labels::from_pairs(&[("job", "a\"b"), ("__name__", "up")]);
        let vector = QueryResult {
            value: Value::Vector(vec![Sample {
                labels: labels.clone(),
                t_ms: 1_000,
                value: f64::INFINITY,
            }]),
            warnings: vec![],
            infos: vec![],
        };
        assert_eq!(
            query_data(&vector),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[1,"+Inf"]}]}"#
        );
        let matrix = QueryResult {
            value: Value::Matrix(vec![RangeSeries {
                labels: Labels::empty(),
                points: vec![(0, 1.0), (15_250, 2.5)],
            }]),
            warnings: vec![],
            infos: vec![],
        };
        assert_eq!(
            query_data(&matrix),
            r#"{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[15.250,"2.5"]]}]}"#
        );
        let empty = QueryResult {
            value: Value::Vector(vec![]),
            warnings: vec![],
            infos: vec![],
        };
        assert_eq!(query_data(&empty), r#"{"resultType":"vector","result":[]}"#);
        let string = QueryResult {
            value: Value::String {
                t_ms: 2_000,
                value: "hi".into(),
            },
            warnings: vec![],
            infos: vec![],
        };
        assert_eq!(
            query_data(&string),
            r#"{"resultType":"string","result":[2,"hi"]}"#
        );
    }

    #[test]
    fn envelopes() {
        assert_eq!(
            success_envelope("[]", &["w".into()], &[]),
            r#"{"status":"success","data":[],"warnings":["w"]}"#
        );
        assert_eq!(
            error_envelope("bad_data", "no \"x\""),
            r#"{"status":"error","errorType":"bad_data","error":"no \"x\""}"#
        );
    }

    proptest::proptest! {
        /// Every finite value reads back to the same float, as clients parse it.
        #[test]
        fn finite_values_round_trip(v in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let s = format_value(v);
            let back: f64 = s.parse().map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{s}: {e}")))?;
            proptest::prop_assert_eq!(back.to_bits(), v.to_bits());
        }
    }
}
