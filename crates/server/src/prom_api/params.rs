//! Request parameters of the Prometheus API, parsed the way Prometheus's `web/api/v1` does:
//! form values from the URL and from a form-encoded POST body, times as RFC 3339 or Unix
//! seconds, durations as Prometheus durations or float seconds, and `match[]` selectors.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use http::{Method, header};
use sextant_promql::{METRIC_NAME, MatchOp, Matcher};

use super::error::PromError;

/// Largest form body accepted (Prometheus's Go server reads at most 10 MB of form).
const MAX_FORM_BYTES: usize = 10 << 20;

/// Earliest time Prometheus accepts, in milliseconds (its `minTime`).
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974;
/// Latest time Prometheus accepts, in milliseconds (its `maxTime`).
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974;
const MIN_TIME_TEXT: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT: &str = "292277025-08-18T07:12:54.999999999Z";

/// The form values of one request: a form-encoded POST body first, then the URL query
/// (the order of Go's `Request.Form`, so the body wins in [`Params::get`]).
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a URL query string and an optional form body.
    pub fn parse(query: Option<&str>, form_body: Option<&[u8]>) -> Self {
        let mut pairs = Vec::new();
        if let Some(body) = form_body {
            pairs.extend(form_urlencoded::parse(body).into_owned());
        }
        if let Some(q) = query {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Params(pairs)
    }

    /// The first value of `name`, as Go's `FormValue`; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name` (e.g. `match[]`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter in milliseconds, or `default` when absent.
    pub fn time_or(&self, name: &str, default: i64) -> Result<i64, PromError> {
        match self.get(name) {
            None => Ok(default),
            Some(s) => parse_time(s).map_err(|e| PromError::invalid_param(name, e)),
        }
    }

    /// A required time parameter in milliseconds.
    pub fn time(&self, name: &str) -> Result<i64, PromError> {
        parse_time(self.get(name).unwrap_or("")).map_err(|e| PromError::invalid_param(name, e))
    }

    /// An optional `limit`: a positive count, or `None` for no limit (also for `0`).
    pub fn limit(&self) -> Result<Option<usize>, PromError> {
        self.count("limit")
    }

    /// An optional count parameter: positive, or `None` when absent or `0` (no limit).
    pub fn count(&self, name: &str) -> Result<Option<usize>, PromError> {
        match self.get(name) {
            None => Ok(None),
            Some(s) => match s.parse::<i64>() {
                Ok(0) => Ok(None),
                Ok(n) if n > 0 => Ok(usize::try_from(n).ok()),
                Ok(_) => Err(PromError::BadData(format!("{name} must be non-negative"))),
                Err(_) => Err(PromError::BadData(format!("{name} must be a number"))),
            },
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = PromError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().map(str::to_owned);
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let reads_body = is_form && matches!(*req.method(), Method::POST | Method::PUT);
        if !reads_body {
            return Ok(Params::parse(query.as_deref(), None));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| PromError::BadData(format!("error parsing form values: {e}")))?;
        if body.len() > MAX_FORM_BYTES {
            return Err(PromError::BadData(
                "error parsing form values: body too large".into(),
            ));
        }
        Ok(Params::parse(query.as_deref(), Some(&body)))
    }
}

/// A time as Prometheus's `parseTime` reads it: Unix seconds (fractions rounded to
/// milliseconds) or RFC 3339; milliseconds since the epoch.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let bad = || format!("cannot parse {s:?} to a valid timestamp");
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() || secs.abs() >= (i64::MAX / 1000) as f64 {
            return Err(bad());
        }
        let whole = secs.trunc();
        let frac_ms = ((secs - whole) * 1000.0).round();
        return Ok(whole as i64 * 1000 + frac_ms as i64);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    match s {
        MIN_TIME_TEXT => Ok(MIN_TIME_MS),
        MAX_TIME_TEXT => Ok(MAX_TIME_MS),
        _ => Err(bad()),
    }
}

/// A duration as Prometheus's `parseDuration` reads it (float seconds, or `1h30m`-style);
/// nanoseconds, possibly zero or negative (callers decide what they accept).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        let ns = secs * 1e9;
        if !ns.is_finite() || ns >= i64::MAX as f64 || ns <= i64::MIN as f64 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ns as i64);
    }
    prom_duration(s).ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

/// Prometheus's duration syntax (`model.ParseDuration`): unit terms from largest to
/// smallest, each at most once: `y w d h m s ms`; nanoseconds.
fn prom_duration(s: &str) -> Option<i64> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000_000_000),
        ("w", 7 * 86_400_000_000_000),
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
    ];
    if s == "0" {
        return Some(0);
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit_len = rest[digits..]
            .bytes()
            .take_while(|b| !b.is_ascii_digit())
            .count();
        if digits == 0 || unit_len == 0 {
            return None;
        }
        let value: u64 = rest[..digits].parse().ok()?;
        let unit = &rest[digits..digits + unit_len];
        let pos = UNITS[next_unit..].iter().position(|(u, _)| *u == unit)? + next_unit;
        next_unit = pos + 1;
        total = total.checked_add(value.checked_mul(UNITS[pos].1)?)?;
        rest = &rest[digits + unit_len..];
    }
    i64::try_from(total).ok()
}

/// The matcher sets of `match[]` values (one set per selector, or per `or` alternative),
/// rejecting selectors whose every matcher matches the empty string, as Prometheus does.
pub fn match_sets(values: &[&str]) -> Result<Vec<Vec<Matcher>>, String> {
    let mut sets = Vec::with_capacity(values.len());
    for v in values {
        let expr = sextant_promql::parse(v).map_err(|e| e.to_string())?;
        let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
            return Err(format!(
                "1:1: parse error: expected a series selector in {v:?}"
            ));
        };
        if vs.matchers.or_matchers.is_empty() {
            sets.push(convert(vs.name.as_deref(), &vs.matchers.matchers)?);
        } else {
            for alt in &vs.matchers.or_matchers {
                sets.push(convert(vs.name.as_deref(), alt)?);
            }
        }
    }
    if sets.iter().any(|set| set.iter().all(|m| m.matches(""))) {
        return Err("match[] must contain at least one non-empty matcher".into());
    }
    Ok(sets)
}

fn convert(
    name: Option<&str>,
    ms: &[promql_parser::label::Matcher],
) -> Result<Vec<Matcher>, String> {
    use promql_parser::label::MatchOp as P;
    let mut out = Vec::with_capacity(ms.len() + 1);
    for m in ms {
        let op = match m.op {
            P::Equal => MatchOp::Equal,
            P::NotEqual => MatchOp::NotEqual,
            P::Re(_) => MatchOp::Regex,
            P::NotRe(_) => MatchOp::NotRegex,
        };
        out.push(Matcher::new(&m.name, op, &m.value).map_err(|e| e.to_string())?);
    }
    if let Some(n) = name {
        out.push(Matcher::new(METRIC_NAME, MatchOp::Equal, n).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// A label name from a URL path: `U__`-escaped names are decoded (Prometheus 3's
/// value-encoding escaping: `__` is `_`, `_<hex>_` a code point); any other non-empty
/// text is a valid UTF-8 label name.
pub fn label_name(raw: &str) -> Result<String, PromError> {
    let name = match raw.strip_prefix("U__") {
        Some(escaped) => unescape(escaped).unwrap_or_else(|| raw.to_string()),
        None => raw.to_string(),
    };
    if name.is_empty() {
        return Err(PromError::BadData(format!("invalid label name: {name:?}")));
    }
    Ok(name)
}

fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('_') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('_') {
            out.push('_');
            rest = r;
            continue;
        }
        let end = rest.find('_')?;
        let code = u32::from_str_radix(&rest[..end], 16).ok()?;
        out.push(char::from_u32(code)?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn times_in_both_formats() {
        let ok = [
            ("1435781451.781", 1_435_781_451_781),
            ("1435781451", 1_435_781_451_000),
            ("0.0005", 1),
            ("-1.5", -1_500),
            ("2015-07-01T20:10:51.781Z", 1_435_781_451_781),
            ("2015-07-01T22:10:51.781+02:00", 1_435_781_451_781),
            (MIN_TIME_TEXT, MIN_TIME_MS),
            (MAX_TIME_TEXT, MAX_TIME_MS),
        ];
        for (s, want) in ok {
            assert_eq!(parse_time(s), Ok(want), "{s}");
        }
        for s in ["", "soon", "NaN", "Inf", "2015-07-01", "1e30"] {
            assert!(parse_time(s).is_err(), "{s}");
        }
    }

    #[test]
    fn durations_in_both_formats() {
        let ok = [
            ("15", 15_000_000_000),
            ("0.5", 500_000_000),
            ("15s", 15_000_000_000),
            ("1m30s", 90_000_000_000),
            ("1h", 3_600_000_000_000),
            ("2d", 172_800_000_000_000),
            ("1y", 31_536_000_000_000_000),
            ("100ms", 100_000_000),
            ("0", 0),
            ("-5", -5_000_000_000),
        ];
        for (s, want) in ok {
            assert_eq!(parse_duration(s), Ok(want), "{s}");
        }
        for s in ["", "5 m", "1s1m", "1m1m", "m", "5x", "1.5m", "1e300"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
    }

    #[test]
    fn form_values_prefer_the_body() {
        let p = Params::parse(
            Some("query=up&match%5B%5D=a&time="),
            Some(b"query=sum(x)&match[]=b"),
        );
        assert_eq!(p.get("query"), Some("sum(x)"));
        assert_eq!(p.all("match[]"), vec!["b", "a"]);
        assert_eq!(p.get("time"), None);
    }

    #[test]
    fn limits() {
        let lim = |q: &str| Params::parse(Some(q), None).limit();
        assert_eq!(lim("limit=5"), Ok(Some(5)));
        assert_eq!(lim("limit=0"), Ok(None));
        assert_eq!(lim(""), Ok(None));
        assert!(lim("limit=x").is_err());
        assert!(lim("limit=-1").is_err());
    }

    #[test]
    fn selectors_become_matcher_sets() {
        let sets = match_sets(&[r#"up{job=~"a|b"}"#, r#"{__name__="x"}"#]).expect("valid");
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[0].len(), 2);
        assert!(match_sets(&["sum(up)"]).is_err());
        assert!(match_sets(&[r#"{job=~".*"}"#]).is_err());
        assert!(match_sets(&["up{"]).is_err());
    }

    #[test]
    fn escaped_label_names() {
        assert_eq!(label_name("job").ok().as_deref(), Some("job"));
        assert_eq!(
            label_name("U__http_2e_status").ok().as_deref(),
            Some("http.status")
        );
        assert_eq!(label_name("U__a__b").ok().as_deref(), Some("a_b"));
        assert!(label_name("").is_err());
    }

    proptest! {
        /// Whole seconds written as text read back exactly.
        #[test]
        fn unix_seconds_round_trip(secs in -10_000_000_000i64..10_000_000_000, ms in 0i64..1000) {
            let text = format!("{secs}.{ms:03}");
            let want = if secs < 0 { secs * 1000 - ms } else { secs * 1000 + ms };
            prop_assert_eq!(parse_time(&text), Ok(want));
        }

        /// Composite durations add up their terms.
        #[test]
        fn durations_add_up(h in 0u32..1000, m in 0u32..60, s in 0u32..60) {
            let text = format!("{h}h{m}m{s}s");
            let want = (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * 1_000_000_000;
            prop_assert_eq!(parse_duration(&text), Ok(want));
        }

        /// Arbitrary text never panics the parsers.
        #[test]
        fn parsers_never_panic(s in "\\PC{0,24}") {
            let _ = parse_time(&s);
            let _ = parse_duration(&s);
            let _ = label_name(&s);
        }
    }
}
