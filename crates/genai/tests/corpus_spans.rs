//! Per-span canonical fields and per-trace totals for **every** `*.traces.pb` of the corpus
//! (`../shared/corpus`, read in place) against `corpus_spans.json`: operation, provider, models,
//! agent, tool, conversation, user, tokens by kind, error, cost to 1e-12 USD and where it came
//! from, span by span in payload order; then each trace's token, call and cost totals.
//! `corpus_spans_oracle.py` (an independent per-library reading) drafted the file.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::{Map, Value, json};
use sextant_genai::{Canonical, Catalog, CostSource, TraceTotals, normalize, price};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
const COST_TOLERANCE: f64 = 1e-12;

/// The fields the expectations name, as JSON (absent = null).
fn observed(name: &str, c: &Canonical) -> Map<String, Value> {
    let cost_source = c.cost.as_ref().map(|cost| match &cost.source {
        CostSource::Client { key } => format!("client:{key}"),
        CostSource::Catalog { entry } => format!("catalog:{entry}"),
    });
    let v = json!({
        "name": name,
        "operation": c.operation.as_ref().map(|o| o.as_str().to_string()),
        "provider": c.provider,
        "request_model": c.request_model,
        "response_model": c.response_model,
        "agent_name": c.agent_name,
        "tool_name": c.tool_name,
        "tool_call_id": c.tool_call_id,
        "conversation_id": c.conversation_id,
        "user_id": c.user_id,
        "input_tokens": c.input_tokens,
        "output_tokens": c.output_tokens,
        "cache_read_tokens": c.cache_read_tokens,
        "cache_write_tokens": c.cache_write_tokens,
        "reasoning_tokens": c.reasoning_tokens,
        "error": c.error_type.is_some(),
        "cost_usd": c.cost.as_ref().map(|cost| cost.usd),
        "cost_source": cost_source,
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Differences between an expected span (absent keys mean null/false) and the observed one.
fn diff(want: &Map<String, Value>, got: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, g) in got {
        let w = want.get(k).cloned().unwrap_or(match k.as_str() {
            "error" => Value::Bool(false),
            _ => Value::Null,
        });
        let same = match (k.as_str(), w.as_f64(), g.as_f64()) {
            ("cost_usd", Some(a), Some(b)) => (a - b).abs() <= COST_TOLERANCE,
            _ => w == *g,
        };
        if !same {
            out.push(format!("{k}: want {w}, got {g}"));
        }
    }
    for k in want.keys() {
        if !got.contains_key(k) {
            out.push(format!("unknown expected field {k}"));
        }
    }
    out
}

fn corpus_files() -> Vec<String> {
    let mut files = Vec::new();
    for lib in std::fs::read_dir(CORPUS).expect("../shared/corpus beside the repository") {
        let lib = lib.expect("entry").path();
        let Some(lib_name) = lib.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if !lib.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&lib).expect("library folder") {
            let name = f.expect("entry").file_name().to_string_lossy().into_owned();
            if name.ends_with(".traces.pb") {
                files.push(format!("{lib_name}/{name}"));
            }
        }
    }
    files.sort();
    files
}

fn check_totals(file: &str, want: &Value, got: &TraceTotals, errors: &mut Vec<String>) {
    let n = |k: &str| want[k].as_u64().unwrap_or(0);
    let pairs = [
        ("input_tokens", got.input_tokens),
        ("output_tokens", got.output_tokens),
        ("cache_read_tokens", got.cache_read_tokens),
        ("llm_calls", got.llm_calls),
        ("tool_calls", got.tool_calls),
    ];
    let trace = want["trace_id"].as_str().unwrap_or("?");
    for (k, g) in pairs {
        if n(k) != g {
            errors.push(format!("{file} trace {trace} {k}: want {}, got {g}", n(k)));
        }
    }
    let want_cost = want["cost_usd"].as_f64().unwrap_or(f64::NAN);
    if (want_cost - got.cost_usd()).abs() > COST_TOLERANCE {
        errors.push(format!(
            "{file} trace {trace} cost: want {want_cost}, got {}",
            got.cost_usd()
        ));
    }
    let agents: Vec<Value> = got.agents.iter().map(|a| json!(a)).collect();
    if want["agents"].as_array() != Some(&agents) {
        errors.push(format!(
            "{file} trace {trace} agents: want {}, got {agents:?}",
            want["agents"]
        ));
    }
    if got.unpriced_calls != 0 {
        errors.push(format!(
            "{file} trace {trace}: {} unpriced calls",
            got.unpriced_calls
        ));
    }
}

#[test]
fn every_corpus_span_maps_to_its_expected_canonical_fields() {
    let expectations: Vec<Value> =
        serde_json::from_str(include_str!("corpus_spans.json")).expect("valid expectations");
    let by_file: BTreeMap<&str, &Value> = expectations
        .iter()
        .filter_map(|e| Some((e["file"].as_str()?, e)))
        .collect();
    let catalog = Catalog::embedded();
    assert_eq!(
        catalog.source().kind,
        "embedded",
        "needs the embedded catalog"
    );
    let files = corpus_files();
    assert!(files.len() >= 100, "only {} corpus files", files.len());
    let mut errors = Vec::new();
    for file in &files {
        let Some(exp) = by_file.get(file.as_str()) else {
            errors.push(format!("{file}: no expectations"));
            continue;
        };
        let bytes = std::fs::read(format!("{CORPUS}/{file}")).expect("read corpus file");
        let req = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("valid OTLP");
        let want_spans = exp["spans"].as_array().cloned().unwrap_or_default();
        let mut totals: BTreeMap<String, TraceTotals> = BTreeMap::new();
        let mut i = 0;
        for rs in &req.resource_spans {
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    let mut c = normalize(rs.resource.as_ref(), ss.scope.as_ref(), span);
                    price(catalog, &mut c, span.start_time_unix_nano);
                    totals.entry(hex_id(&span.trace_id)).or_default().add(&c);
                    let got = observed(&span.name, &c);
                    match want_spans.get(i).and_then(Value::as_object) {
                        Some(want) => errors.extend(
                            diff(want, &got)
                                .into_iter()
                                .map(|d| format!("{file} span {i} {:?}: {d}", span.name)),
                        ),
                        None => errors.push(format!("{file}: unexpected span {i} {:?}", span.name)),
                    }
                    i += 1;
                }
            }
        }
        if i != want_spans.len() {
            errors.push(format!("{file}: {i} spans, want {}", want_spans.len()));
        }
        let want_traces = exp["traces"].as_array().cloned().unwrap_or_default();
        if want_traces.len() != totals.len() {
            errors.push(format!(
                "{file}: {} traces, want {}",
                totals.len(),
                want_traces.len()
            ));
        }
        for want in &want_traces {
            let id = want["trace_id"].as_str().unwrap_or_default();
            match totals.get(id) {
                Some(got) => check_totals(file, want, got, &mut errors),
                None => errors.push(format!("{file}: trace {id} missing")),
            }
        }
    }
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

fn hex_id(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
