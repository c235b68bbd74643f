//! `/metrics` in the text format: Sextant's real registry, converted, checked by `promtool`.

use std::io::Write;
use std::process::{Command, Stdio};

use prometheus_client::registry::Registry;

use crate::prom_api::openmetrics_to_prometheus_text;
use crate::state::QueryMetrics;

/// The registry the binary builds, with a sample in every labelled family.
fn sextant_metrics() -> String {
    let mut registry = Registry::default();
    let store = sextant_store::StoreMetrics::default();
    let ingest = sextant_ingest::IngestMetrics::default();
    let query = QueryMetrics::default();
    store.register(&mut registry);
    ingest.register(&mut registry);
    query.register(&mut registry);
    ingest.request("http", "traces", "ok");
    ingest.spans_accepted.inc_by(3);
    ingest.request_seconds.observe(0.002);
    query.observe("prom_query", std::time::Instant::now());
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).expect("encodes");
    out
}

/// Runs `promtool check metrics`; `None` when promtool is not installed.
fn promtool(text: &str) -> Option<(bool, String)> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("writes");
    let out = child.wait_with_output().expect("promtool runs");
    let msg =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Some((out.status.success() && msg.trim().is_empty(), msg))
}

#[test]
fn converted_metrics_keep_every_sample() {
    let om = sextant_metrics();
    let text = openmetrics_to_prometheus_text(&om).expect("converts");
    assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
    assert!(
        text.contains(
            "# TYPE sextant_spans_accepted_total counter\nsextant_spans_accepted_total 3\n"
        )
    );
    assert!(text.contains("# TYPE sextant_ingest_request_duration_seconds histogram"));
    let samples = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count()
    };
    assert_eq!(samples(&text), samples(&om));
}

#[test]
fn promtool_accepts_converted_metrics() {
    let text = openmetrics_to_prometheus_text(&sextant_metrics()).expect("converts");
    match promtool(&text) {
        Some((ok, msg)) => assert!(ok, "promtool check metrics:\n{msg}\n--- input ---\n{text}"),
        None => eprintln!("promtool not installed (apt-get install prometheus); check skipped"),
    }
}

#[test]
fn promtool_rejects_openmetrics_counters() {
    // Why the conversion exists: the OpenMetrics text served today fails the check.
    if let Some((ok, msg)) = promtool(&sextant_metrics()) {
        assert!(!ok, "promtool accepted OpenMetrics text: {msg}");
    }
}
