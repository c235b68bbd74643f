//! Evaluation of a query against one trace at a time.

/// Compiles a TraceQL regex: fully anchored, as Tempo does (`=~ "bar"` means `^bar$`).
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
}
