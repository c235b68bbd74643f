//! Tempo's pre-TraceQL search parameters: `tags` in logfmt (`service.name=api status.code=2`),
//! turned into an equivalent TraceQL filter, and Go duration strings (`1m30s`, `250ms`).

use crate::error::ApiError;

/// Parses a Go duration (`300ms`, `1.5h`, `2h45m`, `0`) into nanoseconds.
pub fn go_duration(name: &str, s: &str) -> Result<u64, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid {name} {s:?}: expected a duration like 1.5s or 2m30s"
        ))
    };
    let s = s.trim();
    if s == "0" {
        return Ok(0);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(num_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_end);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        let v: f64 = num.parse().map_err(|_| bad())?;
        total += v * scale;
        rest = next;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(total as u64)
}

/// Splits logfmt into `(key, value)` pairs; values may be double-quoted with `\"` escapes.
pub fn logfmt(s: &str) -> Result<Vec<(String, String)>, ApiError> {
    let bad = |why: &str| ApiError::BadRequest(format!("invalid tags {s:?}: {why}"));
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next() != Some('=') || key.is_empty() {
            return Err(bad("expected key=value"));
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(bad("unterminated quote")),
                    Some('"') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// The TraceQL filter equivalent to legacy tags: every tag must hold on one span; `name` is the
/// span name, `service.name` the resource's, `status.code` the status; numbers also match
/// integer attributes.
pub fn tags_to_traceql(tags: &str) -> Result<String, ApiError> {
    let pairs = logfmt(tags)?;
    if pairs.is_empty() {
        return Ok("{ }".into());
    }
    let mut conds = Vec::new();
    for (k, v) in pairs {
        let field = match k.as_str() {
            "name" => "name".to_owned(),
            "service.name" => "resource.service.name".to_owned(),
            "status.code" | "status" => {
                let st = match v.as_str() {
                    "0" | "unset" => "unset",
                    "1" | "ok" => "ok",
                    "2" | "error" => "error",
                    _ => return Err(ApiError::BadRequest(format!("invalid status {v:?}"))),
                };
                conds.push(format!("status = {st}"));
                continue;
            }
            other => format!(".{}", quote(other)),
        };
        let mut c = format!("{field} = {}", quote(&v));
        if let Ok(n) = v.parse::<i64>() {
            c = format!("({c} || {field} = {n})");
        }
        conds.push(c);
    }
    Ok(format!("{{ {} }}", conds.join(" && ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("d", "250ms").expect("ok"), 250_000_000);
        assert_eq!(go_duration("d", "1m30s").expect("ok"), 90_000_000_000);
        assert_eq!(go_duration("d", "1.5h").expect("ok"), 5_400_000_000_000);
        assert_eq!(go_duration("d", "0").expect("ok"), 0);
        for bad in ["", "5", "5x", "s", "1..2s"] {
            assert!(go_duration("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_become_a_filter_that_parses() {
        let q = tags_to_traceql(r#"service.name=api http.status_code=500 "#).expect("ok");
        assert_eq!(
            q,
            r#"{ resource.service.name = "api" && (."http.status_code" = "500" || ."http.status_code" = 500) }"#
        );
        sextant_traceql::parse(&q).expect("valid TraceQL");
        let q = tags_to_traceql(r#"name="GET /x" status.code=2"#).expect("ok");
        assert_eq!(q, r#"{ name = "GET /x" && status = error }"#);
        sextant_traceql::parse(&q).expect("valid TraceQL");
        assert!(tags_to_traceql("novalue").is_err());
        assert!(tags_to_traceql(r#"a="open"#).is_err());
    }
}
