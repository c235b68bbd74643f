//! Loads generated agent traces straight into blocks and times the four queries of issue 4
//! (selective, broad, structural search, and a metrics rate by service over 1 h), a metrics
//! query on GenAI attributes ("genai metrics") and trace lookups by id, printing latency and
//! bytes read (`SEXTANT_BENCH_ONLY=metrics,genai metrics` picks some).
//!
//! `SEXTANT_BENCH_SPANS` sets the span count (default 10,000,000; 10 spans per trace, spread
//! over one hour, 1,000,000 spans per block). Run with
//! `cargo bench -p sextant-server --bench tempo_search`.
//!
//! Generating 10 M spans takes minutes, so the blocks are kept between runs under
//! `$SEXTANT_BENCH_DIR` (default `$CARGO_TARGET_DIR/sextant-bench`, else the system temp dir),
//! in a directory named after the span count and [`FIXTURE_VERSION`]; delete it to regenerate.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value as V};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use sextant_genai::Catalog;
use sextant_ingest::GenAiEnricher;
use sextant_server::tempo_api::{metrics, search};
use sextant_store::schema::SPAN_FORMAT_VERSION;
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
/// Bump when the generated data or the block format changes, so cached fixtures are rebuilt.
const FIXTURE_VERSION: u32 = 1;
const TENANT: &str = "single-tenant";

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
    let blocks = dir.join("tenants").join(TENANT).join("blocks");
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

/// CPU time this thread has run, from the scheduler's accounting (nanosecond resolution, so
/// a busy shared machine inflates wall time but not this); zero where unavailable.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// A figure: wall and CPU time of the first run (the first query of the process), the best
/// wall time and the best CPU time of all runs.
struct Timing {
    first: Duration,
    first_cpu: Duration,
    best: Duration,
    cpu: Duration,
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Timing, T) {
    let mut t = Timing {
        first: Duration::MAX,
        first_cpu: Duration::MAX,
        best: Duration::MAX,
        cpu: Duration::MAX,
    };
    let mut last = None;
    for i in 0..runs {
        let (c0, t0) = (thread_cpu(), Instant::now());
        last = Some(f());
        let (wall, cpu) = (t0.elapsed(), thread_cpu().saturating_sub(c0));
        if i == 0 {
            t.first = wall;
            t.first_cpu = cpu;
        }
        t.best = t.best.min(wall);
        t.cpu = t.cpu.min(cpu);
    }
    (t, last.expect("at least one run"))
}

/// Whether the figure named `label` was asked for (`SEXTANT_BENCH_ONLY=selective,broad`).
fn wanted(label: &str) -> bool {
    std::env::var("SEXTANT_BENCH_ONLY").map_or(true, |v| v.split(',').any(|x| x.trim() == label))
}

/// The data directory holding `spans` generated spans, generated unless a previous run left it.
fn fixture(spans: u64) -> PathBuf {
    let root = std::env::var_os("SEXTANT_BENCH_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| Path::new(&d).join("sextant-bench"))
        })
        .unwrap_or_else(|| std::env::temp_dir().join("sextant-bench"));
    let dir = root.join(format!(
        "tempo-v{FIXTURE_VERSION}-f{SPAN_FORMAT_VERSION}-{spans}"
    ));
    if dir.join(DONE).exists() {
        println!("reusing the {spans} spans in {}", dir.display());
        return dir;
    }
    // Generated aside and renamed when complete, so an interrupted run never leaves a partial
    // fixture that a later run would trust.
    let tmp = root.join(format!(".tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(&dir);
    let t0 = Instant::now();
    let disk = load(&tmp, spans);
    std::fs::write(tmp.join(DONE), b"").expect("marker");
    std::fs::rename(&tmp, &dir).expect("rename fixture");
    println!(
        "loaded {spans} spans into blocks ({:.1} MB) in {:.1?}, kept in {}",
        disk as f64 / 1e6,
        t0.elapsed(),
        dir.display()
    );
    dir
}

/// Marks a complete fixture directory.
const DONE: &str = "bench-fixture-complete";

fn main() {
    let spans: u64 = std::env::var("SEXTANT_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let dir = fixture(spans);
    let mut config = StoreConfig::new(&dir);
    config.head_max_age = Duration::from_secs(3600);
    // The fixture is dated in the past and reused between runs: keep retention and compaction
    // from touching it.
    config.retention.max_age = None;
    config.compaction.enabled = false;
    config.compaction.interval = std::time::Duration::from_secs(3600);
    let enricher = Arc::new(sextant_store::NoEnrichment);
    let store = Store::open(config, StoreMetrics::default(), enricher).expect("open");
    let tenant = TENANT;
    // A server parses the price catalog at start (the GenAI attribute fallback prices with
    // it); do it here too, so the first query's time is the query's.
    let _ = Catalog::embedded();
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
    let runs: usize = std::env::var("SEXTANT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!("| query | first (CPU) | best of {runs} | best CPU | traces | bytes read |");
    println!("|---|---|---|---|---|---|");
    for (label, q) in searches.into_iter().filter(|(l, _)| wanted(l)) {
        let p = search::SearchParams {
            query: q.into(),
            start: BASE,
            end: BASE + HOUR,
            limit: search::DEFAULT_LIMIT,
            spss: search::DEFAULT_SPSS,
            min_duration: None,
            max_duration: None,
        };
        let (t, r) = time(runs, || search::run(&store, tenant, &p).expect("search"));
        let bytes = r.metrics.map_or(0, |m| m.inspected_bytes);
        println!(
            "| {label} `{q}` | {:.1?} ({:.1?}) | {:.1?} | {:.1?} | {} | {:.1} MB |",
            t.first,
            t.first_cpu,
            t.best,
            t.cpu,
            r.traces.len(),
            bytes as f64 / 1e6
        );
    }
    let metrics_queries = [
        ("metrics", "{ } | rate() by (resource.service.name)"),
        ("genai metrics", GENAI_METRICS),
    ];
    for (label, q) in metrics_queries.into_iter().filter(|(l, _)| wanted(l)) {
        bench_metrics(&store, runs, label, q);
    }
    if wanted("trace-by-id") {
        bench_lookups(&store, spans);
    }
}

/// A metrics query filtering and grouping on GenAI attributes (answered from the GenAI
/// columns, each row vouched for by its attributes).
const GENAI_METRICS: &str = r#"{ span.gen_ai.operation.name = "chat" } | quantile_over_time(duration, .9) by (span.gen_ai.request.model)"#;

fn bench_metrics(store: &Store, runs: usize, label: &str, q: &str) {
    let req = MetricsRequest {
        start_unix_nano: BASE,
        end_unix_nano: BASE + HOUR,
        step_nanos: 60_000_000_000,
        instant: false,
    };
    let (t, (series, m)) = time(runs.min(3), || {
        metrics::run(store, TENANT, q, req).expect("metrics")
    });
    println!(
        "| {label} `{q}` 1h | {:.1?} ({:.1?}) | {:.1?} | {:.1?} | {} series | {:.1} MB |",
        t.first,
        t.first_cpu,
        t.best,
        t.cpu,
        series.len(),
        m.inspected_bytes as f64 / 1e6
    );
}

fn bench_lookups(store: &Store, spans: u64) {
    let traces = spans / SPANS_PER_TRACE;
    let mut lat: Vec<Duration> = (0..1000u64)
        .map(|i| {
            let id: [u8; 16] = trace_id(mix(i) % traces).try_into().expect("16 bytes");
            let t = Instant::now();
            let found = store.find_trace(TENANT, &id).expect("find");
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
