//! Parsing of the parameters the query APIs share: tenants, trace ids, times.

use http::HeaderMap;
use sextant_store::{DEFAULT_TENANT, TraceId};

use crate::error::ApiError;

/// The tenant named by `X-Scope-OrgID`, or the default one.
pub fn tenant(headers: &HeaderMap) -> Result<String, ApiError> {
    let t = match headers.get("x-scope-orgid") {
        None => DEFAULT_TENANT.to_owned(),
        Some(v) => v
            .to_str()
            .map_err(|_| ApiError::BadRequest("X-Scope-OrgID is not valid text".into()))?
            .trim()
            .to_owned(),
    };
    sextant_store::tenant::validate_tenant(&t).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(t)
}

/// A trace id in hex, up to 32 digits (shorter ids are left-padded with zeros, as Tempo does).
pub fn trace_id(s: &str) -> Result<TraceId, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid trace id {s:?}: expected up to 32 hex digits"
        ))
    };
    if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let padded = format!("{s:0>32}");
    let bytes = hex::decode(padded).map_err(|_| bad())?;
    TraceId::try_from(bytes.as_slice()).map_err(|_| bad())
}

/// A time parameter: Unix seconds (integer or fractional) or RFC 3339 is not accepted here;
/// returns Unix nanoseconds.
pub fn unix_seconds(name: &str, s: &str) -> Result<u64, ApiError> {
    let secs: f64 = s.trim().parse().map_err(|_| {
        ApiError::BadRequest(format!("invalid {name} {s:?}: expected Unix seconds"))
    })?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(ApiError::BadRequest(format!(
            "invalid {name} {s:?}: expected Unix seconds"
        )));
    }
    Ok((secs * 1e9) as u64)
}

/// A parameter with surrounding blanks trimmed; `None` when absent or blank.
pub fn nonempty(o: Option<String>) -> Option<String> {
    o.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Window a query covers when it gives no start.
pub const DEFAULT_WINDOW_NANOS: u64 = 3600 * 1_000_000_000;

/// `start` and `end` in Unix seconds, defaulting to the last hour; Unix nanoseconds.
pub fn time_range(start: Option<String>, end: Option<String>) -> Result<(u64, u64), ApiError> {
    let end = match nonempty(end) {
        Some(e) => unix_seconds("end", &e)?,
        None => now_nanos(),
    };
    let start = match nonempty(start) {
        Some(s) => unix_seconds("start", &s)?,
        None => end.saturating_sub(DEFAULT_WINDOW_NANOS),
    };
    if start > end {
        return Err(ApiError::BadRequest("start must not be after end".into()));
    }
    Ok((start, end))
}

/// A duration such as `15s`, `5m`, `1h`, `1d` or plain seconds (`60`, `0.5`); nanoseconds.
pub fn duration(name: &str, s: &str) -> Result<u64, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid {name} {s:?}: expected seconds or a duration like 30s, 5m, 1h"
        ))
    };
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let scale = match unit {
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        "d" => 86400e9,
        "w" => 7.0 * 86400e9,
        _ => return Err(bad()),
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    let nanos = v * scale;
    if !nanos.is_finite() || nanos <= 0.0 || nanos > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(nanos as u64)
}

/// Runs a store read off the async executor.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, sextant_store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::BadRequest(format!("query task failed: {e}")))?
        .map_err(ApiError::from)
}

pub fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids() {
        assert_eq!(trace_id("1").expect("ok")[15], 1);
        assert!(trace_id("").is_err());
        assert!(trace_id("xyz").is_err());
        assert!(trace_id(&"a".repeat(33)).is_err());
        assert_eq!(
            hex::encode(trace_id("5b8efff798038103d269b633813fc60c").expect("ok")),
            "5b8efff798038103d269b633813fc60c"
        );
    }

    #[test]
    fn times() {
        assert_eq!(
            unix_seconds("start", "1700000000").expect("ok"),
            1_700_000_000_000_000_000
        );
        assert!(unix_seconds("start", "-1").is_err());
        assert!(unix_seconds("start", "soon").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("step", "15s").expect("ok"), 15_000_000_000);
        assert_eq!(duration("step", "60").expect("ok"), 60_000_000_000);
        assert_eq!(duration("step", "1h").expect("ok"), 3_600_000_000_000);
        assert!(duration("step", "0s").is_err());
        assert!(duration("step", "-5m").is_err());
        assert!(duration("step", "5 parsecs").is_err());
        assert!(duration("step", "").is_err());
    }
}
