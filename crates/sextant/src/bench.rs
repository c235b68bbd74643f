//! `sextant bench`: the figures of BENCHMARKS.md that are not measured by an external load
//! generator — the single-core decode ceiling and trace-by-id latency against a running server.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::Subcommand;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::demo::traffic::TrafficGen;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Single-core decode rate of OTLP protobuf bodies (the ceiling of ingest)
    Decode {
        /// Directory of captured request bodies (*.pb); default: generated agent traffic
        #[arg(long)]
        bodies: Option<PathBuf>,
        /// Seconds to run
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Trace-by-id latency against a running server, ids read from a file (one hex id a line)
    TraceById {
        /// Query API base URL
        #[arg(long, default_value = "http://127.0.0.1:3200")]
        endpoint: String,
        /// File of trace ids, e.g. from otlp_load.py --trace-ids-out
        #[arg(long)]
        ids: PathBuf,
        /// Lookups to make
        #[arg(long, default_value_t = 1000)]
        requests: usize,
    },
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Decode { bodies, seconds } => decode(bodies, seconds),
        BenchCommand::TraceById {
            endpoint,
            ids,
            requests,
        } => tokio::runtime::Runtime::new()?.block_on(trace_by_id(&endpoint, &ids, requests)),
    }
}

fn load_bodies(dir: Option<PathBuf>) -> Result<Vec<Bytes>> {
    let Some(dir) = dir else {
        let mut g = TrafficGen::new(7);
        return Ok((0..64)
            .map(|i| Bytes::from(g.request(10, 1_700_000_000_000_000_000 + i).encode_to_vec()))
            .collect());
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "pb") {
            out.push(Bytes::from(std::fs::read(&p)?));
        }
    }
    if out.is_empty() {
        bail!("no *.pb bodies in {}", dir.display());
    }
    Ok(out)
}

/// CPU time the calling thread has used, from Linux's `/proc/thread-self/schedstat`
/// (nanoseconds on CPU); `None` elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Decode,
    Batch,
    GenAi,
}

/// Slices each stage runs in, taking turns: a build that starts on the shared machine halfway
/// through slows every stage alike instead of only the last one.
const SLICES: u32 = 12;

fn decode(dir: Option<PathBuf>, seconds: f64) -> Result<()> {
    let bodies = load_bodies(dir)?;
    let slice = Duration::from_secs_f64(seconds / f64::from(SLICES));
    let genai = sextant_ingest::GenAiEnricher::new(std::sync::Arc::new(
        sextant_genai::Catalog::embedded().with_overrides(Vec::new())?,
    ));
    let policy = sextant_genai::ContentPolicy::new(false, &[])?;
    let stages = [
        ("decode only", Stage::Decode),
        ("decode + validate + columnar batch", Stage::Batch),
        (
            "... + GenAI normalize, price, content policy (what ingest does)",
            Stage::GenAi,
        ),
    ];
    // (spans, bytes, CPU seconds) per stage.
    let mut totals = [(0u64, 0u64, 0f64); 3];
    for _ in 0..SLICES {
        for ((_, stage), total) in stages.iter().zip(totals.iter_mut()) {
            let (t0, cpu0) = (Instant::now(), thread_cpu_seconds());
            while t0.elapsed() < slice {
                for b in &bodies {
                    total.0 += run_stage(*stage, b, &genai, &policy)? as u64;
                    total.1 += b.len() as u64;
                }
            }
            // CPU time of this thread, not wall time: the figure holds on a busy machine too.
            total.2 += match (cpu0, thread_cpu_seconds()) {
                (Some(a), Some(b)) if b > a => b - a,
                _ => t0.elapsed().as_secs_f64(),
            };
        }
    }
    for ((label, _), (spans, bytes, secs)) in stages.iter().zip(totals) {
        println!(
            "{label}: {:.0} spans per CPU-second ({:.0} MB/s of protobuf, {} bodies, {:.0} B/span)",
            spans as f64 / secs,
            bytes as f64 / secs / 1e6,
            bodies.len(),
            bytes as f64 / spans.max(1) as f64
        );
    }
    Ok(())
}

/// One body through one stage; returns its span count.
fn run_stage(
    stage: Stage,
    body: &Bytes,
    genai: &sextant_ingest::GenAiEnricher,
    policy: &sextant_genai::ContentPolicy,
) -> Result<usize> {
    let mut req = ExportTraceServiceRequest::decode(body.clone())?;
    if stage != Stage::Decode {
        sextant_ingest::validate::validate(&mut req);
        let enricher: &dyn sextant_store::SpanEnricher = if stage == Stage::GenAi {
            for span in req
                .resource_spans
                .iter_mut()
                .flat_map(|r| r.scope_spans.iter_mut())
                .flat_map(|s| s.spans.iter_mut())
            {
                policy.apply(span);
            }
            genai
        } else {
            &sextant_store::NoEnrichment
        };
        let mut builder = sextant_store::SpanBatchBuilder::with_capacity(128);
        builder.push_request(&req, enricher)?;
        std::hint::black_box(builder.finish()?);
    }
    Ok(sextant_ingest::validate::span_count(&req))
}

async fn trace_by_id(endpoint: &str, ids: &PathBuf, requests: usize) -> Result<()> {
    use http_body_util::{BodyExt, Empty};
    let ids: Vec<String> = std::fs::read_to_string(ids)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if ids.is_empty() {
        bail!("no trace ids in the file");
    }
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let mut lat = Vec::with_capacity(requests);
    let (mut found, mut spans) = (0usize, 0usize);
    for i in 0..requests {
        let id = &ids[(i * 7919) % ids.len()];
        let uri: http::Uri =
            format!("{}/api/traces/{id}", endpoint.trim_end_matches('/')).parse()?;
        let t0 = Instant::now();
        let resp = client.get(uri).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        lat.push(t0.elapsed());
        if status.is_success() {
            found += 1;
            spans += body.windows(8).filter(|w| w == b"\"spanId\"").count();
        }
    }
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "trace by id: {requests} lookups, {found} found ({:.1} spans each), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        spans as f64 / found.max(1) as f64,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}
