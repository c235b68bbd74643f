//! Reproduces the reference prices of genai-prices' `usages.json` (read in place from
//! `../shared/data/genai-prices/`) with this crate's catalog and arithmetic. Cases it cannot
//! handle are counted by reason and listed in PRICING.md.

use std::collections::BTreeMap;

use serde_json::Value;
use sextant_genai::Catalog;
use sextant_genai::catalog::units::Usage;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/genai-prices"
);
/// The timestamp the reference dataset was priced at: 2025-11-06T12:00:00Z.
const AT: u64 = 1_762_430_400 * 1_000_000_000;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12_f64.max(b.abs() * 1e-9)
}

fn price(v: &Value, k: &str) -> Option<f64> {
    v.get(k)?.as_str()?.parse().ok()
}

#[test]
fn reference_prices_are_reproduced() {
    let (Ok(data), Ok(usages)) = (
        std::fs::read_to_string(format!("{DIR}/data.json")),
        std::fs::read_to_string(format!("{DIR}/usages.json")),
    ) else {
        panic!("../shared/data/genai-prices is required beside the repository");
    };
    let catalog = Catalog::from_json(&data, "custom", "data.json").expect("feed parses");
    let cases: Vec<Value> = serde_json::from_str(&usages).expect("usages.json parses");
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let (mut matched, mut both_unpriced, mut extra_priced) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for case in &cases {
        let Some(model) = case.get("model").and_then(Value::as_str) else {
            *skipped
                .entry("no model name in the response body".into())
                .or_default() += 1;
            continue;
        };
        for ex in case["extracted"].as_array().into_iter().flatten() {
            let mut usage = Usage::default();
            let mut unknown = None;
            for (k, v) in ex["usage"].as_object().into_iter().flatten() {
                match v.as_u64() {
                    Some(n) if usage.set_key(k, n) => {}
                    _ => unknown = Some(k.clone()),
                }
            }
            for e in ex["extractors"].as_array().into_iter().flatten() {
                let provider = e["provider_id"].as_str().unwrap_or_default();
                if let Some(k) = &unknown {
                    *skipped
                        .entry(format!("usage key {k} not supported"))
                        .or_default() += 1;
                    continue;
                }
                let ours = catalog.quote(Some(provider), model, &usage, AT);
                match (price(e, "input_price"), ours) {
                    (Some(input), Ok(q)) => {
                        let output = price(e, "output_price").unwrap_or(0.0);
                        let total = price(e, "total_price").unwrap_or(input + output);
                        let b = q.breakdown;
                        if close(b.input_usd, input)
                            && close(b.output_usd, output)
                            && close(b.total_usd, total)
                        {
                            matched += 1;
                        } else {
                            mismatches.push(format!(
                                "{provider}/{model}: ours {b:?} vs {input} {output} {total}"
                            ));
                        }
                    }
                    (Some(_), Err(reason)) => {
                        mismatches.push(format!("{provider}/{model}: unpriced ({reason})"))
                    }
                    (None, Err(_)) => both_unpriced += 1,
                    // Our extra name candidates (snapshot suffix, routed `a/b` names) priced it.
                    (None, Ok(_)) => extra_priced += 1,
                }
            }
        }
    }
    eprintln!(
        "matched {matched}, both unpriced {both_unpriced}, priced only by us {extra_priced}, skipped {skipped:?}"
    );
    for m in mismatches.iter().take(30) {
        eprintln!("MISMATCH {m}");
    }
    assert!(matched > 1500, "too few cases checked: {matched}");
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
}
