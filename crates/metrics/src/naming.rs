//! Metric and label names as the OpenTelemetry-to-Prometheus compatibility spec translates them
//! (the collector's `pkg/translator/prometheus` with suffixes on): name tokens joined by `_`,
//! the unit as a suffix (`_seconds`, `_bytes`, `_per_second`, `{...}` annotations dropped),
//! `_total` for monotonic sums, `_ratio` for gauges of unit `1`.

/// The kind of OTLP metric being named, as far as naming cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A gauge (or a non-monotonic sum).
    Gauge,
    /// A monotonic sum.
    Counter,
    /// A histogram or summary (suffixes added per series).
    Other,
}

fn main_unit(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        _ => return None,
    })
}

fn per_unit(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

/// Non-alphanumeric runs become `_`, trimmed at both ends.
fn clean(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

fn unit_token(unit: &str, map: fn(&str) -> Option<&'static str>) -> Option<String> {
    let unit = unit.trim();
    if unit.is_empty() || unit.contains(['{', '}']) {
        return None;
    }
    let token = map(unit).map_or_else(|| clean(unit), str::to_owned);
    (!token.is_empty()).then_some(token)
}

/// The main and the "per" part of a unit (`By/s` → `bytes`, `second`) in Prometheus words.
fn unit_tokens(unit: &str) -> (Option<String>, Option<String>) {
    let mut parts = unit.splitn(2, '/');
    let main = parts.next().and_then(|u| unit_token(u, main_unit));
    let per = parts.next().and_then(|u| unit_token(u, per_unit));
    (main, per)
}

/// The unit of an OTLP metric in Prometheus words (`s` → `seconds`, `By/s` →
/// `bytes_per_second`); empty for dimensionless and annotation-only units.
pub fn unit_name(unit: &str) -> String {
    match unit_tokens(unit) {
        (Some(m), Some(p)) => format!("{m}_per_{p}"),
        (Some(m), None) => m,
        (None, Some(p)) => format!("per_{p}"),
        (None, None) => String::new(),
    }
}

/// The Prometheus metric name of an OTLP metric.
pub fn metric_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let (main, per) = unit_tokens(unit);
    if let Some(main) = main
        && !tokens.contains(&main)
    {
        tokens.push(main);
    }
    if let Some(per) = per
        && !tokens.contains(&per)
    {
        tokens.push("per".to_owned());
        tokens.push(per);
    }
    if kind == Kind::Counter {
        tokens.retain(|t| t != "total");
        tokens.push("total".to_owned());
    }
    if kind == Kind::Gauge && unit == "1" {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".to_owned());
    }
    let joined = tokens.join("_");
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{joined}")
    } else {
        joined
    }
}

/// A Prometheus label name for an attribute key: invalid characters become `_`, a leading
/// digit gets a `key_` prefix and a single leading underscore a `key` prefix.
pub fn label_name(key: &str) -> String {
    let s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{s}")
    } else if s.starts_with('_') && !s.starts_with("__") {
        format!("key{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_compatibility_spec() {
        let cases = [
            (
                "http.server.duration",
                "s",
                Kind::Other,
                "http_server_duration_seconds",
            ),
            (
                "http.server.request.size",
                "By",
                Kind::Counter,
                "http_server_request_size_bytes_total",
            ),
            ("requests", "{request}", Kind::Counter, "requests_total"),
            ("requests_total", "1", Kind::Counter, "requests_total"),
            ("cpu.utilization", "1", Kind::Gauge, "cpu_utilization_ratio"),
            (
                "throughput",
                "By/s",
                Kind::Gauge,
                "throughput_bytes_per_second",
            ),
            ("latency_seconds", "s", Kind::Gauge, "latency_seconds"),
            ("queue", "{items}/s", Kind::Gauge, "queue_per_second"),
            ("2xx.count", "", Kind::Gauge, "_2xx_count"),
            ("temp", "Cel", Kind::Gauge, "temp_celsius"),
            ("odd", "furlongs", Kind::Gauge, "odd_furlongs"),
            ("total.things", "", Kind::Counter, "things_total"),
            (
                "ai_platform.request.duration",
                "ms",
                Kind::Other,
                "ai_platform_request_duration_milliseconds",
            ),
        ];
        for (name, unit, kind, want) in cases {
            assert_eq!(metric_name(name, unit, kind), want, "{name} [{unit}]");
        }
    }

    #[test]
    fn label_names_are_sanitized() {
        assert_eq!(label_name("http.method"), "http_method");
        assert_eq!(label_name("2xx"), "key_2xx");
        assert_eq!(label_name("_private"), "key_private");
        assert_eq!(label_name("__reserved"), "__reserved");
        assert_eq!(label_name("ümlaut-x"), "key_mlaut_x");
    }
}
