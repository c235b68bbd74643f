//! `/metrics` in the Prometheus text format (0.0.4), which `promtool check metrics` and
//! every Prometheus scrape accept, made from the OpenMetrics text `prometheus-client` writes.
//!
//! The differences handled: OpenMetrics names a counter family without `_total` (the text
//! format names it with), has `info`, `stateset` and `gaugehistogram` types, `# UNIT` and
//! `# EOF` lines, `_created` samples, exemplars after samples, timestamps in seconds, and
//! escapes `"` in help text.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};

/// `Content-Type` of the Prometheus text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// `Content-Type` of OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why OpenMetrics text could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpositionError {
    /// A line is neither a comment nor a well-formed sample.
    #[error("line {line}: {why}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// Answers a scrape: OpenMetrics when the client's `Accept` asks for it (as Prometheus's
/// scraper does), the Prometheus text format otherwise (browsers, curl, promtool).
pub fn metrics_response(request_headers: &HeaderMap, openmetrics: String) -> Response {
    let wants_openmetrics = request_headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if wants_openmetrics {
        let ct = HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE);
        return ([(header::CONTENT_TYPE, ct)], openmetrics).into_response();
    }
    match openmetrics_to_prometheus_text(&openmetrics) {
        Ok(text) => {
            let ct = HeaderValue::from_static(TEXT_CONTENT_TYPE);
            ([(header::CONTENT_TYPE, ct)], text).into_response()
        }
        Err(e) => (
            http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode metrics: {e}\n"),
        )
            .into_response(),
    }
}

/// How one OpenMetrics family is written in the text format.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Family renamed to `<name>_total`; `_created` dropped.
    Counter,
    /// Family renamed to `<name>_info`, typed gauge.
    Info,
    /// Written under its own name and type (`gauge`, `histogram`, `summary`, `untyped`);
    /// `_created` dropped.
    Same(&'static str),
    /// No text-format equivalent: samples pass through untyped, metadata is dropped.
    Untyped,
}

/// Converts OpenMetrics text to the Prometheus text format.
pub fn openmetrics_to_prometheus_text(input: &str) -> Result<String, ExpositionError> {
    let mut out = String::with_capacity(input.len());
    let mut family = String::new();
    let mut kind = Kind::Untyped;
    let mut help: Option<String> = None;
    for (i, line) in input.lines().enumerate() {
        let bad = |why: &str| ExpositionError::BadLine {
            line: i + 1,
            why: why.to_string(),
        };
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let keyword = parts.next().unwrap_or("");
            let name = parts.next().unwrap_or("");
            let rest = parts.next().unwrap_or("");
            match keyword {
                "HELP" => {
                    if name != family {
                        family = name.to_string();
                        kind = Kind::Untyped;
                    }
                    help = Some(rest.replace("\\\"", "\""));
                }
                "TYPE" => {
                    if name != family {
                        family = name.to_string();
                        help = None;
                    }
                    kind = kind_of(rest);
                    write_metadata(&mut out, &family, kind, help.take());
                }
                _ => {} // UNIT, EOF and free comments have no text-format equivalent.
            }
            continue;
        }
        let (name, rest) = split_sample(line).ok_or_else(|| bad("malformed sample"))?;
        if let Some(sample) = convert_sample(name, rest, &family, kind).map_err(|w| bad(&w))? {
            out.push_str(&sample);
            out.push('\n');
        }
    }
    Ok(out)
}

fn kind_of(openmetrics_type: &str) -> Kind {
    match openmetrics_type {
        "counter" => Kind::Counter,
        "info" => Kind::Info,
        "gauge" | "stateset" => Kind::Same("gauge"),
        "histogram" => Kind::Same("histogram"),
        "summary" => Kind::Same("summary"),
        "unknown" => Kind::Same("untyped"),
        _ => Kind::Untyped,
    }
}

fn write_metadata(out: &mut String, family: &str, kind: Kind, help: Option<String>) {
    let (name, ty) = match kind {
        Kind::Counter => (format!("{family}_total"), "counter"),
        Kind::Info => (format!("{family}_info"), "gauge"),
        Kind::Same(ty) => (family.to_string(), ty),
        Kind::Untyped => return,
    };
    if let Some(h) = help {
        out.push_str(&format!("# HELP {name} {h}\n"));
    }
    out.push_str(&format!("# TYPE {name} {ty}\n"));
}

/// `name` and the text after it (`{labels} value ...` or ` value ...`), respecting quotes.
fn split_sample(line: &str) -> Option<(&str, &str)> {
    let end = line.find(['{', ' '])?;
    Some((&line[..end], &line[end..]))
}

/// One sample line in the text format, or `None` for samples the text format has no
/// place for (`_created`).
fn convert_sample(
    name: &str,
    rest: &str,
    family: &str,
    kind: Kind,
) -> Result<Option<String>, String> {
    let suffix = name.strip_prefix(family).unwrap_or(name);
    if suffix == "_created" && kind != Kind::Untyped {
        return Ok(None);
    }
    let (labels, values) = if rest.starts_with('{') {
        let close = closing_brace(rest).ok_or("unterminated label set")?;
        (&rest[..=close], &rest[close + 1..])
    } else {
        ("", rest)
    };
    // Exemplars follow ` # `; the text format has none.
    let values = values.split(" # ").next().unwrap_or("");
    let mut fields = values.split_whitespace();
    let value = fields.next().ok_or("sample without a value")?;
    let mut sample = format!("{name}{labels} {value}");
    if let Some(ts) = fields.next() {
        let secs: f64 = ts.parse().map_err(|_| format!("bad timestamp {ts:?}"))?;
        sample.push_str(&format!(" {}", (secs * 1000.0).round() as i64));
    }
    Ok(Some(sample))
}

/// Index of the `}` closing a label set that starts at 0, skipping quoted values.
fn closing_brace(s: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '}' if !in_quotes => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_info_and_histograms_convert() {
        let om = "\
# HELP sextant_spans Spans \\\"accepted\\\".
# TYPE sextant_spans counter
sextant_spans_total{tenant=\"a}b # c\"} 3 # {trace_id=\"ab\"} 1.0 1700000000.5
sextant_spans_created{tenant=\"a\"} 1700000000.0
# HELP build Build.
# TYPE build info
build_info{version=\"1\"} 1
# HELP q Query time.
# TYPE q histogram
# UNIT q seconds
q_sum 0.5
q_count 2
q_bucket{le=\"+Inf\"} 2
# TYPE g gauge
g 1.5 1700000000.25
# EOF
";
        let want = "\
# HELP sextant_spans_total Spans \"accepted\".
# TYPE sextant_spans_total counter
sextant_spans_total{tenant=\"a}b # c\"} 3
# HELP build_info Build.
# TYPE build_info gauge
build_info{version=\"1\"} 1
# HELP q Query time.
# TYPE q histogram
q_sum 0.5
q_count 2
q_bucket{le=\"+Inf\"} 2
# TYPE g gauge
g 1.5 1700000000250
";
        assert_eq!(openmetrics_to_prometheus_text(om), Ok(want.to_string()));
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(openmetrics_to_prometheus_text("x{a=\"b\" 1\n").is_err());
        assert!(openmetrics_to_prometheus_text("x 1 soon\n").is_err());
        assert!(openmetrics_to_prometheus_text("novalue\n").is_err());
    }

    proptest::proptest! {
        /// Label values with quotes, braces, `#` and backslashes pass through unchanged, and
        /// an exemplar after them is dropped.
        #[test]
        fn label_values_survive(value in "[a-z{}# \\\\\"]{0,12}", n in 0u32..1000) {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            let sample = format!("g{{v=\"{escaped}\"}} {n}");
            let om = format!("# TYPE g gauge\n{sample} # {{trace_id=\"x\"}} 1\n# EOF\n");
            let text = openmetrics_to_prometheus_text(&om)
                .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert_eq!(text, format!("# TYPE g gauge\n{sample}\n"));
        }
    }

    #[test]
    fn negotiation_follows_accept() {
        let om = "# TYPE c counter\nc_total 1\n# EOF\n".to_string();
        let mut h = HeaderMap::new();
        let r = metrics_response(&h, om.clone());
        assert_eq!(r.headers()[header::CONTENT_TYPE], TEXT_CONTENT_TYPE);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
        );
        let r = metrics_response(&h, om);
        assert_eq!(r.headers()[header::CONTENT_TYPE], OPENMETRICS_CONTENT_TYPE);
    }
}
