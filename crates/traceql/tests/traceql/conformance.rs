//! Every query of the shared conformance list parses, or is rejected at the stage the list says.

use sextant_traceql::{Error, ValidateError, parse, parse_syntax};

const TSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/traceql/queries.tsv"
);
const TXT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/traceql/queries.txt"
);

struct Case {
    expect: String,
    query: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(TSV).expect("queries.tsv is readable beside the repo");
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.splitn(4, '\t').collect();
            assert_eq!(cols.len(), 4, "malformed row {l:?}");
            Case {
                expect: cols[1].to_string(),
                query: cols[3].to_string(),
            }
        })
        .collect()
}

fn outcome(query: &str) -> &'static str {
    match parse(query) {
        Ok(_) => "valid",
        Err(Error::Parse(_)) => "parse_error",
        Err(Error::Validate(ValidateError::Invalid(_))) => "validate_error",
        Err(Error::Validate(ValidateError::Unsupported(_))) => "unsupported",
    }
}

#[test]
fn tsv_expectations_hold() {
    let cases = cases();
    assert!(
        cases.len() > 500,
        "expected the full list, got {}",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let got = outcome(&c.query);
            (got != c.expect).then(|| {
                format!(
                    "{:>14} got {:<14} {}  {:?}",
                    c.expect,
                    got,
                    c.query,
                    parse(&c.query).err()
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn txt_sections_accept_or_reject() {
    let text = std::fs::read_to_string(TXT).expect("queries.txt is readable beside the repo");
    let mut section = String::new();
    let mut checked = 0;
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("# section:") {
            section = s.trim().to_string();
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let must_reject = section.starts_with("INVALID");
        assert_eq!(parse(line).is_err(), must_reject, "[{section}] {line}");
        checked += 1;
    }
    assert!(checked > 500);
    assert!(parse("").is_err(), "the empty query is a parse error");
}

#[test]
fn valid_queries_round_trip_through_display() {
    for c in cases().iter().filter(|c| c.expect != "parse_error") {
        let q = parse_syntax(&c.query).expect("parses");
        let printed = q.to_string();
        let again = parse_syntax(&printed)
            .unwrap_or_else(|e| panic!("{} printed as {printed}: {e}", c.query));
        assert_eq!(q, again, "{} printed as {printed}", c.query);
    }
}
