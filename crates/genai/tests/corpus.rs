//! Data-driven checks over the captured corpus (`../shared/corpus`, read in place): trace totals
//! per payload against hand-computed expectations (`corpus_expectations.json`), and the content
//! policy on every `content_on` payload.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value;
use sextant_genai::content::is_content_key;
use sextant_genai::{Catalog, ContentPolicy, CostSource, TraceTotals, normalize, price};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

fn load(file: &str) -> ExportTraceServiceRequest {
    let bytes = std::fs::read(format!("{CORPUS}/{file}")).expect("corpus beside the repository");
    ExportTraceServiceRequest::decode(bytes.as_slice()).expect("valid OTLP")
}

#[test]
fn trace_totals_match_hand_computed_expectations() {
    let expectations: Vec<Value> =
        serde_json::from_str(include_str!("corpus_expectations.json")).expect("valid expectations");
    let catalog = Catalog::embedded();
    assert_eq!(
        catalog.source().kind,
        "embedded",
        "these expectations need the embedded catalog"
    );
    for exp in &expectations {
        let file = exp["file"].as_str().expect("file");
        let req = load(file);
        let mut totals = TraceTotals::default();
        let mut sources = Vec::new();
        for rs in &req.resource_spans {
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    let mut c = normalize(rs.resource.as_ref(), ss.scope.as_ref(), span);
                    price(catalog, &mut c, span.start_time_unix_nano);
                    if sextant_genai::is_llm_call(&c)
                        && let Some(cost) = &c.cost
                    {
                        sources.push(matches!(cost.source, CostSource::Client { .. }));
                    }
                    totals.add(&c);
                }
            }
        }
        let n = |k: &str| exp[k].as_u64().expect("number");
        assert_eq!(totals.input_tokens, n("input_tokens"), "{file} input");
        assert_eq!(totals.output_tokens, n("output_tokens"), "{file} output");
        assert_eq!(
            totals.cache_read_tokens,
            n("cache_read_tokens"),
            "{file} cache read"
        );
        assert_eq!(totals.llm_calls, n("llm_calls"), "{file} llm calls");
        assert_eq!(totals.tool_calls, n("tool_calls"), "{file} tool calls");
        assert_eq!(
            totals.unpriced_calls,
            n("unpriced_calls"),
            "{file} unpriced"
        );
        let want_cost = exp["cost_usd"].as_f64().expect("cost");
        assert!(
            (totals.cost_usd() - want_cost).abs() < 1e-9,
            "{file} cost {} vs {want_cost}",
            totals.cost_usd()
        );
        let agents: Vec<&str> = totals.agents.iter().map(String::as_str).collect();
        let want_agents: Vec<&str> = exp["agents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(agents, want_agents, "{file} agents");
        assert_eq!(
            totals.conversation_id.as_deref(),
            exp["conversation_id"].as_str(),
            "{file} conversation"
        );
        assert_eq!(
            totals.user_id.as_deref(),
            exp["user_id"].as_str(),
            "{file} user"
        );
        let client = exp["cost_source"] == "client";
        assert!(
            !sources.is_empty() && sources.iter().all(|s| *s == client),
            "{file} cost sources {sources:?}"
        );
    }
}

#[test]
fn content_is_dropped_from_every_content_on_payload() {
    let policy = ContentPolicy::new(false, &[]).expect("valid policy");
    let mut checked = 0;
    for lib in [
        "openai_v2",
        "openinference",
        "traceloop",
        "openlit",
        "pydantic_ai",
        "ajolopy",
    ] {
        let dir = format!("{CORPUS}/{lib}");
        for entry in std::fs::read_dir(&dir).expect("corpus folder") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            // `events_content_on` puts content in log records, not on spans.
            if !(name.contains("content_on") && name.ends_with(".traces.pb"))
                || name.contains("events_content")
            {
                continue;
            }
            let mut req = load(&format!("{lib}/{name}"));
            let mut changed = false;
            for span in req
                .resource_spans
                .iter_mut()
                .flat_map(|r| r.scope_spans.iter_mut())
                .flat_map(|s| s.spans.iter_mut())
            {
                changed |= policy.apply(span).changed();
                assert!(
                    span.attributes.iter().all(|kv| !is_content_key(&kv.key)),
                    "{name}: content left"
                );
            }
            // Failed calls and embeddings of some libraries carry no content on the span.
            assert!(
                changed || name.starts_with("error_") || name.starts_with("embeddings"),
                "{name}: content_on payload had no content to drop"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} payloads checked");
}

/// Every captured payload: cutting content from the protobuf bytes gives exactly what decoding
/// and applying the policy gives.
#[test]
fn splicing_content_out_of_each_payload_equals_decode_then_apply() {
    let policy = ContentPolicy::new(false, &[]).expect("built-in rules");
    let (mut spliced, mut declined) = (0, Vec::new());
    for entry in glob_pb() {
        let bytes = std::fs::read(&entry).expect("readable payload");
        let mut want = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("valid OTLP");
        let stats = policy.apply_request(&mut want);
        let Some(sp) = policy.splice_otlp(&bytes) else {
            declined.push(entry.display().to_string());
            continue;
        };
        let body = sp.body.as_deref().unwrap_or(&bytes);
        let got = ExportTraceServiceRequest::decode(body).expect("spliced body decodes");
        assert_eq!(got, want, "{}", entry.display());
        let spans = got
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans);
        assert_eq!(sp.attributes.len(), spans.clone().count());
        for (span, run) in spans.zip(&sp.attributes) {
            let (from, to) = run.expect("SDKs encode a span's attributes as one run");
            let blob = Span::decode(&body[from..to]).expect("a run decodes");
            assert_eq!(blob.attributes, span.attributes, "{}", entry.display());
        }
        assert_eq!(sp.stats, stats, "{}", entry.display());
        spliced += 1;
    }
    // None of the captured payloads holds a secret-like value: all of them take the splice.
    assert!(
        spliced > 100 && declined.is_empty(),
        "{spliced} spliced; declined: {declined:?}"
    );
}

fn glob_pb() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for lib in std::fs::read_dir(CORPUS).expect("corpus beside the repository") {
        let lib = lib.expect("entry").path();
        if !lib.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&lib).expect("library dir") {
            let f = f.expect("entry").path();
            if f.to_string_lossy().ends_with(".traces.pb") {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}
