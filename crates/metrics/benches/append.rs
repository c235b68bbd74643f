//! Series-store figures for BENCHMARKS.md: samples appended per second (durable, fsync per
//! batch), memory per active series, OTLP translation + append throughput, and a `rate`/`sum by`
//! range query over 24 h at a 15 s step on 1,000 series.
//!
//! `cargo bench -p sextant-metrics --bench append` (env `SERIES`, `ROUNDS` to resize).

use std::time::Instant;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sextant_metrics::{
    DeltaState, LabelCache, SeriesStore, SeriesStoreConfig, now_ms, otlp_to_samples_cached,
};
use sextant_promql::{Engine, Labels};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of this thread in ms (Linux `schedstat`): the cores are shared with other
/// builds, so wall-clock time alone mostly measures the neighbours.
fn thread_cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e6)
}

/// CPU time of the whole process in ms, threads that already exited included: a range query
/// splits its steps across threads, so one thread's time no longer covers it.
fn process_cpu_ms() -> f64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

fn series_labels(n: usize) -> Vec<Labels> {
    (0..n)
        .map(|i| {
            Labels::new(vec![
                ("__name__".into(), format!("bench_metric_{}", i % 50)),
                ("job".into(), "bench".into()),
                ("instance".into(), format!("host-{}:9100", i % 200)),
                ("series".into(), i.to_string()),
            ])
        })
        .collect()
}

fn open(dir: &std::path::Path) -> SeriesStore {
    let config = SeriesStoreConfig {
        retention_ms: 30 * 24 * 3_600_000,
        ..SeriesStoreConfig::default()
    };
    SeriesStore::open(dir, config).expect("open store")
}

fn bench_append() {
    let series = env("SERIES", 100_000);
    let rounds = env("ROUNDS", 60);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let labels = series_labels(series);
    let start = now_ms() - rounds as i64 * 15_000;
    let batch_size = 10_000;
    let mut batch = Vec::with_capacity(batch_size);
    let t0 = Instant::now();
    let mut total = 0usize;
    for r in 0..rounds {
        let t = start + r as i64 * 15_000;
        for (i, l) in labels.iter().enumerate() {
            batch.push((l.clone(), t, (r * 7 + i) as f64));
            if batch.len() == batch_size {
                total += store.append("bench", &batch).expect("append").accepted;
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        total += store.append("bench", &batch).expect("append").accepted;
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "append: {total} samples into {series} series in {secs:.2} s = {:.0} samples/s (batches of {batch_size}, fsync per batch)",
        total as f64 / secs
    );
    let mem = store.memory_per_active_series().unwrap_or(0.0);
    println!("memory: {mem:.0} bytes per active series ({rounds} samples each in the head)");
    let t0 = Instant::now();
    store.flush().expect("flush");
    println!("flush: {:.2} s", t0.elapsed().as_secs_f64());
}

fn otlp_request(points: usize, t_ms: u64, value: i64) -> ExportMetricsServiceRequest {
    let data_points = (0..points)
        .map(|i| NumberDataPoint {
            attributes: vec![KeyValue {
                key: "route".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(format!("/r/{i}"))),
                }),
                ..Default::default()
            }],
            time_unix_nano: t_ms * 1_000_000,
            value: Some(number_data_point::Value::AsInt(value)),
            ..Default::default()
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("api".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "http.requests".into(),
                    unit: "{request}".into(),
                    data: Some(Data::Sum(Sum {
                        data_points,
                        aggregation_temporality: 2,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn bench_otlp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut state = DeltaState::default();
    let mut cache = LabelCache::default();
    let start = (now_ms() - 3_600_000) as u64;
    let reqs: Vec<_> = (0..100)
        .map(|r| otlp_request(10_000, start + r * 15_000, r as i64))
        .collect();
    let t0 = Instant::now();
    let mut total = 0;
    for req in &reqs {
        let (samples, _) = otlp_to_samples_cached(req, &mut state, &mut cache);
        total += store.append("otlp", &samples).expect("append").accepted;
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "otlp: {total} data points translated and appended in {secs:.2} s = {:.0} samples/s",
        total as f64 / secs
    );
}

fn bench_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let labels: Vec<Labels> = (0..1000)
        .map(|i| {
            Labels::new(vec![
                ("__name__".into(), "http_requests_total".into()),
                ("service".into(), format!("svc-{}", i % 10)),
                ("pod".into(), i.to_string()),
            ])
        })
        .collect();
    let step = 15_000;
    let end = now_ms() / step * step;
    let start = end - 24 * 3_600_000;
    let mut batch = Vec::with_capacity(100_000);
    let mut t = start;
    while t <= end {
        for (i, l) in labels.iter().enumerate() {
            batch.push((
                l.clone(),
                t,
                ((t - start) / step) as f64 * (i % 7 + 1) as f64,
            ));
        }
        if batch.len() >= 100_000 {
            store.append("q", &batch).expect("append");
            batch.clear();
        }
        t += step;
    }
    store.append("q", &batch).expect("append");
    store.flush().expect("flush");
    let engine = Engine::new(sextant_promql::EngineOptions {
        threads: env("QUERY_THREADS", 2),
        ..Default::default()
    });
    let src = store.source("q");
    let (t0, c0) = (Instant::now(), thread_cpu_ms());
    let all =
        sextant_promql::SeriesSource::select(&src, &[], start - 300_000, end).expect("select");
    let n: usize = all.iter().map(|s| s.samples.len()).sum();
    println!(
        "select: {n} samples of {} series read from the block in {:.1} ms ({:.1} ms CPU)",
        all.len(),
        t0.elapsed().as_secs_f64() * 1000.0,
        thread_cpu_ms() - c0
    );
    let q = "sum by (service) (rate(http_requests_total[5m]))";
    let threads = env("QUERY_THREADS", 2);
    for _ in 0..env("QUERY_RUNS", 3) {
        let (t0, c0) = (Instant::now(), process_cpu_ms());
        let r = engine.eval_range(&src, q, start, end, step).expect("query");
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        let cpu = process_cpu_ms() - c0;
        let n = match r.value {
            sextant_promql::Value::Matrix(m) => m.len(),
            _ => 0,
        };
        println!(
            "query: {q} over 24 h at 15 s on 1000 series ({n} result series, {threads} threads): {ms:.1} ms wall ({cpu:.1} ms CPU, all threads)"
        );
    }
}

fn main() {
    // `ONLY=append|otlp|query` runs one figure (for profiling).
    let only = std::env::var("ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only == name;
    if run("append") {
        bench_append();
    }
    if run("otlp") {
        bench_otlp();
    }
    if run("query") {
        bench_query();
    }
}
