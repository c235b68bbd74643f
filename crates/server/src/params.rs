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
}
