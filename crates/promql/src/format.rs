//! Pretty-printing of queries for `/api/v1/format_query`.

use crate::error::Result;

/// Parses `query` and returns it in Prometheus's canonical multi-line layout.
pub fn format_query(query: &str) -> Result<String> {
    let expr = crate::engine::parse(query)?;
    Ok(expr.prettify())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_rejects() {
        assert_eq!(
            format_query("sum   by (job)(rate(x[5m]))").ok().as_deref(),
            Some("sum by (job) (rate(x[5m]))")
        );
        assert!(format_query("sum(").is_err());
    }
}
