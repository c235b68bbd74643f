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

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    proptest! {
        /// Formatting never changes what a query means: the output parses to the same AST.
        #[test]
        fn formatted_query_parses_to_same_ast(
            name in "[a-z_][a-z0-9_]{0,8}",
            job in "[a-z0-9 ]{0,6}",
            k in 0u32..100,
            range in 1u32..120,
            op in prop::sample::select(vec!["+", "-", "*", "/", ">", "and", "or", "unless"]),
        ) {
            let q = format!("sum by (job) (rate({name}{{job=\"{job}\"}}[{range}m])) {op} topk({k}, {name})");
            let Ok(orig) = crate::engine::parse(&q) else { return Ok(()) };
            let formatted = super::format_query(&q).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let again = crate::engine::parse(&formatted).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(orig, again);
        }
    }
}
