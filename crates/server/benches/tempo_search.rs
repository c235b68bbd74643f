//! Loads generated agent traces straight into blocks and times the four queries of issue 4
//! (selective, broad, structural search, and a metrics rate by service over 1 h) plus trace
//! lookups by id, printing latency and bytes read.
//!
//! `SEXTANT_BENCH_SPANS` sets the span count (default 10,000,000; 10 spans per trace, spread
//! over one hour, 1,000,000 spans per block). Run with
//! `cargo bench -p sextant-server --bench tempo_search`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value as V};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use sextant_genai::Catalog;
use sextant_ingest::GenAiEnricher;
use sextant_server::tempo_api::{metrics, search};
use sextant_store::{SpanBatchBuilder, Store, StoreConfig, StoreMetrics};
use sextant_traceql::MetricsRequest;

const SPANS_PER_TRACE: u64 = 10;
const SPANS_PER_BLOCK: u64 = 1_000_000;
const TRACES_PER_BATCH: u64 = 10_000;
const HOUR: u64 = 3600 * 1_000_000_000;
const BASE: u64 = 1_750_000_000_000_000_000;
const MODELS: [&str; 4] = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-3-5-sonnet-20241022",
    "gpt-4.1",
];
const TOOLS: [&str; 3] = ["search", "fetch", "calc"];

fn kv(k: &str, v: V) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

/// A cheap deterministic mix.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn trace_id(t: u64) -> Vec<u8> {
    let mut id = mix(t).to_be_bytes().to_vec();
    id.extend((t + 1).to_be_bytes());
    id
}

/// One agent trace: root, four model calls, three tool calls (children of the calls), two HTTP.
fn trace(t: u64, total: u64) -> ResourceSpans {
    let tid = trace_id(t);
    let start = BASE + t * (HOUR / total.max(1));
    let h = mix(t ^ 0xABCD);
    let sid = |i: u64| ((t << 8) | (i + 1)).to_be_bytes().to_vec();
    let mut spans = Vec::with_capacity(SPANS_PER_TRACE as usize);
    let mut push =
        |i: u64, parent: Option<u64>, name: String, dur: u64, attrs: Vec<KeyValue>, err: bool| {
            spans.push(Span {
                trace_id: tid.clone(),
                span_id: sid(i),
                parent_span_id: parent.map(sid).unwrap_or_default(),
                name,
                kind: 1,
                start_time_unix_nano: start + i * 1_000_000,
                end_time_unix_nano: start + i * 1_000_000 + dur,
                attributes: attrs,
                status: err.then(|| Status {
                    code: 2,
                    message: "upstream error".into(),
                }),
                ..Default::default()
            });
        };
    push(
        0,
        None,
        "invoke_agent planner".into(),
        5_000_000_000,
        vec![
            kv(
                "gen_ai.operation.name",
                V::StringValue("invoke_agent".into()),
            ),
            kv("gen_ai.agent.name", V::StringValue("planner".into())),
        ],
        false,
    );
    for c in 0..4u64 {
        let m = MODELS[((h >> (c * 4)) % 4) as usize];
        let dur = 100_000_000 + (mix(h + c) % 3_000_000_000);
        push(
            1 + c,
            Some(0),
            format!("chat {m}"),
            dur,
            vec![
                kv("gen_ai.operation.name", V::StringValue("chat".into())),
                kv("gen_ai.request.model", V::StringValue(m.into())),
                kv(
                    "gen_ai.usage.input_tokens",
                    V::IntValue((mix(h + c) % 4000) as i64),
                ),
                kv(
                    "gen_ai.usage.output_tokens",
                    V::IntValue((mix(h + c + 7) % 500) as i64),
                ),
            ],
            mix(h + c + 3).is_multiple_of(100),
        );
    }
    for k in 0..3u64 {
        let tool = TOOLS[((h >> (20 + k * 3)) % 3) as usize];
        push(
            5 + k,
            Some(1 + k),
            format!("execute_tool {tool}"),
            50_000_000,
            vec![
                kv(
                    "gen_ai.operation.name",
                    V::StringValue("execute_tool".into()),
                ),
                kv("gen_ai.tool.name", V::StringValue(tool.into())),
            ],
            false,
        );
    }
    for k in 0..2u64 {
        push(
            8 + k,
            Some(5 + k),
            "GET /api".into(),
            20_000_000,
            vec![kv("http.request.method", V::StringValue("GET".into()))],
            false,
        );
    }
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv(
                "service.name",
                V::StringValue(format!("agent-{}", t % 8)),
            )],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        schema_url: String::new(),
    }
}

fn load(dir: &Path, spans: u64) -> u64 {
    let blocks = dir.join("tenants/single-tenant/blocks");
    std::fs::create_dir_all(&blocks).expect("blocks dir");
    let catalog = Arc::new(
        Catalog::embedded()
            .with_overrides(Vec::new())
            .expect("catalog"),
    );
    let enricher = GenAiEnricher::new(catalog);
    let traces = spans / SPANS_PER_TRACE;
    let per_block = SPANS_PER_BLOCK / SPANS_PER_TRACE;
    let mut t = 0;
    let mut bytes = 0;
    while t < traces {
        let end = (t + per_block).min(traces);
        let mut batches = Vec::new();
        while t < end {
            let stop = (t + TRACES_PER_BATCH).min(end);
            let req = ExportTraceServiceRequest {
                resource_spans: (t..stop).map(|i| trace(i, traces)).collect(),
            };
            let mut b = SpanBatchBuilder::with_capacity(((stop - t) * SPANS_PER_TRACE) as usize);
            b.push_request(&req, &enricher).expect("push");
            batches.push(Arc::new(b.finish().expect("batch")));
            t = stop;
        }
        let block = sextant_store::block::write_batches(&blocks, &batches, 0).expect("block");
        bytes += block.meta.size_bytes;
    }
    bytes
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let t0 = Instant::now();
    let mut last = f();
    let first = t0.elapsed();
    let mut best = first;
    for _ in 1..runs {
        let t = Instant::now();
        last = f();
        best = best.min(t.elapsed());
    }
    (first, best, last)
}

fn main() {
    let spans: u64 = std::env::var("SEXTANT_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = Instant::now();
    let disk = load(dir.path(), spans);
    println!(
        "loaded {spans} spans into blocks ({:.1} MB) in {:.1?}",
        disk as f64 / 1e6,
        t0.elapsed()
    );
    let mut config = StoreConfig::new(dir.path());
    config.head_max_age = Duration::from_secs(3600);
    // The fixture is dated in the past: keep retention and compaction from touching it.
    config.retention.max_age = None;
    config.compaction.interval = std::time::Duration::from_secs(3600);
    let enricher = Arc::new(sextant_store::NoEnrichment);
    let store = Store::open(config, StoreMetrics::default(), enricher).expect("open");
    let tenant = "single-tenant";
    let searches = [
        (
            "selective",
            r#"{ span.gen_ai.request.model = "gpt-4o" && duration > 2s }"#,
        ),
        ("broad", "{ status = error }"),
        (
            "structural",
            r#"{ name =~ "invoke_agent.*" } >> { span.gen_ai.tool.name = "search" }"#,
        ),
    ];
    println!("| query | first | best of 3 | traces | bytes read |");
    println!("|---|---|---|---|---|");
    for (label, q) in searches {
        let p = search::SearchParams {
            query: q.into(),
            start: BASE,
            end: BASE + HOUR,
            limit: search::DEFAULT_LIMIT,
            spss: search::DEFAULT_SPSS,
            min_duration: None,
            max_duration: None,
        };
        let (first, best, r) = time(3, || search::run(&store, tenant, &p).expect("search"));
        let bytes = r.metrics.map_or(0, |m| m.inspected_bytes);
        println!(
            "| {label} `{q}` | {first:.1?} | {best:.1?} | {} | {:.1} MB |",
            r.traces.len(),
            bytes as f64 / 1e6
        );
    }
    let q = "{ } | rate() by (resource.service.name)";
    let req = MetricsRequest {
        start_unix_nano: BASE,
        end_unix_nano: BASE + HOUR,
        step_nanos: 60_000_000_000,
        instant: false,
    };
    let (first, best, (series, m)) =
        time(2, || metrics::run(&store, tenant, q, req).expect("metrics"));
    println!(
        "| metrics `{q}` 1h | {first:.1?} | {best:.1?} | {} series | {:.1} MB |",
        series.len(),
        m.inspected_bytes as f64 / 1e6
    );
    let traces = spans / SPANS_PER_TRACE;
    let mut lat: Vec<Duration> = (0..1000u64)
        .map(|i| {
            let id: [u8; 16] = trace_id(mix(i) % traces).try_into().expect("16 bytes");
            let t = Instant::now();
            let found = store.find_trace(tenant, &id).expect("find");
            assert!(!found.is_empty());
            t.elapsed()
        })
        .collect();
    lat.sort();
    println!(
        "trace by id over 1000 lookups: p50 {:.1?}, p99 {:.1?}",
        lat[500], lat[990]
    );
}
