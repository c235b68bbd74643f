//! OTLP/HTTP load generator in Rust: sends the peers' generator bodies (byte-identical, dumped
//! by `benches/load_template.py`) over keep-alive connections with fresh ids and timestamps per
//! request, like `../shared/bench/otlp_load.py`, but cheaply enough that it leaves the cores to
//! the server. Prints accepted spans/s, refusals, latency, the decode-only ceiling of the same
//! bodies, and (with `--server-pid`) server CPU per span and peak RSS.
//!
//!   cargo bench -p sextant --bench load -- --template T.json --seconds 20 --server-pid PID
//!
//! Written by hand rather than with an HTTP client crate: the request is a fixed header plus a
//! patched body, and the answer needs only its status and length, so a raw socket keeps the
//! generator's own CPU (which competes with the server on two cores) to a minimum.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser, Debug)]
struct Args {
    /// JSON written by benches/load_template.py.
    #[arg(long)]
    template: PathBuf,
    #[arg(long, default_value = "127.0.0.1:4318")]
    addr: String,
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Requests in flight (one keep-alive connection each).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Random trace and span ids per request (default: a counter, which compresses well).
    #[arg(long)]
    random_ids: bool,
    /// Server process to read CPU time and peak RSS from.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Writes some of the sent trace ids here (for `sextant bench trace-by-id`).
    #[arg(long)]
    ids_out: Option<PathBuf>,
    /// Ignored (cargo bench passes it).
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Deserialize)]
struct Template {
    body: String,
    trace_offs: Vec<(usize, usize)>,
    span_offs: Vec<(usize, usize)>,
    ts_offs: Vec<(usize, u64)>,
    payload_offs: Vec<usize>,
    payload_bytes: usize,
    n_traces: usize,
    n_spans: usize,
}

struct Shape {
    body: Vec<u8>,
    t: Template,
    pool: Vec<u8>,
    random_ids: bool,
}

#[derive(Default)]
struct Stats {
    ok_requests: u64,
    ok_spans: u64,
    rejected_spans: u64,
    errors: u64,
    statuses: std::collections::BTreeMap<u16, u64>,
    latencies_us: Vec<u32>,
    sample_ids: Vec<[u8; 16]>,
}

fn load_shape(path: &PathBuf, random_ids: bool) -> anyhow::Result<Shape> {
    let t: Template = serde_json::from_slice(&std::fs::read(path)?)?;
    let body = hex::decode(&t.body)?;
    let pool = if t.payload_bytes > 0 {
        let mut p = path.clone().into_os_string();
        p.push(".pool");
        std::fs::read(p)?
    } else {
        Vec::new()
    };
    Ok(Shape {
        body,
        t,
        pool,
        random_ids,
    })
}

/// Fresh ids, timestamps and payload slices in `body`, as otlp_load.py does per request.
fn patch(shape: &Shape, body: &mut [u8], worker: u64, counter: &mut u64, rng: &mut SmallRng) {
    let t = &shape.t;
    let base = *counter;
    *counter += t.n_spans as u64;
    let mut tids = vec![[0u8; 16]; t.n_traces];
    for (i, id) in tids.iter_mut().enumerate() {
        if shape.random_ids {
            rng.fill(&mut id[..]);
            continue;
        }
        id[..4].copy_from_slice(&0x5e47_a000u32.to_be_bytes());
        id[4..8].copy_from_slice(&(worker as u32 + 1).to_be_bytes());
        id[8..].copy_from_slice(&(base + i as u64).to_be_bytes());
    }
    for &(off, i) in &t.trace_offs {
        body[off..off + 16].copy_from_slice(&tids[i]);
    }
    for &(off, i) in &t.span_offs {
        let mut id = (((worker + 1) << 48) | (base + i as u64)).to_be_bytes();
        if shape.random_ids {
            rng.fill(&mut id[..]);
        }
        body[off..off + 8].copy_from_slice(&id);
    }
    for &off in &t.payload_offs {
        let j = rng.random_range(0..shape.pool.len() - t.payload_bytes);
        body[off..off + t.payload_bytes].copy_from_slice(&shape.pool[j..j + t.payload_bytes]);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        - 3_000_000_000
        - rng.random_range(0..2_000_000_000);
    for &(off, rel) in &t.ts_offs {
        body[off..off + 8].copy_from_slice(&(now + rel).to_le_bytes());
    }
}

/// Reads one HTTP/1.1 response; returns the status and the body.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<(u16, Vec<u8>)> {
    buf.clear();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])?;
    let status: u16 = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("bad status line"))?;
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let mut chunk = vec![0u8; len - body.len()];
        let n = s.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed");
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((status, body))
}

async fn worker(
    shape: Arc<Shape>,
    addr: String,
    w: u64,
    deadline: Instant,
    spans_sent: Arc<AtomicU64>,
) -> Stats {
    let mut st = Stats::default();
    let mut rng = SmallRng::seed_from_u64(w * 7919 + 1);
    let header = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\n\
         User-Agent: sextant-load\r\nConnection: keep-alive\r\nContent-Length: {}\r\n\r\n",
        shape.body.len()
    );
    let mut req = header.into_bytes();
    let body_at = req.len();
    req.extend_from_slice(&shape.body);
    let (mut counter, mut buf, mut conn) = (1u64, Vec::new(), None::<TcpStream>);
    while Instant::now() < deadline {
        patch(&shape, &mut req[body_at..], w, &mut counter, &mut rng);
        let t0 = Instant::now();
        let s = match conn.take() {
            Some(s) => s,
            None => match TcpStream::connect(&addr).await {
                Ok(s) => s,
                Err(_) => {
                    st.errors += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let mut s = s;
        let res = match s.write_all(&req).await {
            Ok(()) => read_response(&mut s, &mut buf).await,
            Err(e) => Err(e.into()),
        };
        match res {
            Ok((status, body)) => {
                *st.statuses.entry(status).or_default() += 1;
                st.latencies_us.push(t0.elapsed().as_micros() as u32);
                if status == 200 {
                    let rejected = ExportTraceServiceResponse::decode(body.as_slice())
                        .ok()
                        .and_then(|r| r.partial_success)
                        .map_or(0, |p| p.rejected_spans as u64);
                    st.ok_requests += 1;
                    st.ok_spans += shape.t.n_spans as u64 - rejected;
                    st.rejected_spans += rejected;
                    spans_sent.fetch_add(shape.t.n_spans as u64, Ordering::Relaxed);
                    if st.sample_ids.len() < 500 && st.ok_requests % 13 == 0 {
                        let off = shape.t.trace_offs[0].0 + body_at;
                        st.sample_ids
                            .push(req[off..off + 16].try_into().unwrap_or([0; 16]));
                    }
                } else {
                    st.errors += 1;
                }
                conn = Some(s);
            }
            Err(_) => st.errors += 1,
        }
    }
    st
}

/// Spans per CPU-second that protobuf decoding alone reaches on this thread (the ceiling).
fn decode_ceiling(shape: &Shape, seconds: f64) -> f64 {
    let mut rng = SmallRng::seed_from_u64(42);
    let mut counter = 1;
    let bodies: Vec<Vec<u8>> = (0..16)
        .map(|_| {
            let mut b = shape.body.clone();
            patch(shape, &mut b, 99, &mut counter, &mut rng);
            b
        })
        .collect();
    let (c0, t0) = (thread_cpu(), Instant::now());
    let mut spans = 0u64;
    while t0.elapsed().as_secs_f64() < seconds {
        for b in &bodies {
            if let Ok(r) = ExportTraceServiceRequest::decode(b.as_slice()) {
                spans += r
                    .resource_spans
                    .iter()
                    .flat_map(|rs| &rs.scope_spans)
                    .map(|ss| ss.spans.len() as u64)
                    .sum::<u64>();
            }
        }
    }
    spans as f64 / (thread_cpu() - c0).max(1e-9)
}

/// CPU seconds this thread has run (schedstat), falling back to wall time.
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(
            || {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
            },
            |ns| ns / 1e9,
        )
}

/// User + system CPU seconds of a process.
fn process_cpu(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn merge(all: Vec<Stats>) -> Stats {
    let mut m = Stats::default();
    for s in all {
        m.ok_requests += s.ok_requests;
        m.ok_spans += s.ok_spans;
        m.rejected_spans += s.rejected_spans;
        m.errors += s.errors;
        for (k, v) in s.statuses {
            *m.statuses.entry(k).or_default() += v;
        }
        m.latencies_us.extend(s.latencies_us);
        m.sample_ids.extend(s.sample_ids);
    }
    m.latencies_us.sort_unstable();
    m
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shape = Arc::new(load_shape(&args.template, args.random_ids)?);
    let ceiling = decode_ceiling(&shape, 2.0);
    println!(
        "body: {} B, {} spans ({:.0} B/span); decode-only ceiling: {ceiling:.0} spans per CPU-second",
        shape.body.len(),
        shape.t.n_spans,
        shape.body.len() as f64 / shape.t.n_spans as f64
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let cpu0 = args.server_pid.and_then(process_cpu);
    let (gen0, t0) = (thread_cpu(), Instant::now());
    let deadline = t0 + Duration::from_secs_f64(args.seconds);
    let sent = Arc::new(AtomicU64::new(0));
    let stats = rt.block_on(async {
        let tasks: Vec<_> = (0..args.concurrency as u64)
            .map(|w| {
                let fut = worker(shape.clone(), args.addr.clone(), w, deadline, sent.clone());
                tokio::spawn(fut)
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await?);
        }
        anyhow::Ok(all)
    })?;
    let (elapsed, gen_cpu) = (t0.elapsed().as_secs_f64(), thread_cpu() - gen0);
    let cpu1 = args.server_pid.and_then(process_cpu);
    let s = merge(stats);
    report(&args, &s, elapsed, gen_cpu, ceiling, cpu0.zip(cpu1));
    if let Some(path) = &args.ids_out {
        let lines: Vec<String> = s.sample_ids.iter().map(hex::encode).collect();
        std::fs::write(path, lines.join("\n") + "\n")?;
    }
    Ok(())
}

fn report(
    args: &Args,
    s: &Stats,
    elapsed: f64,
    gen_cpu: f64,
    ceiling: f64,
    server_cpu: Option<(f64, f64)>,
) {
    let rate = s.ok_spans as f64 / elapsed;
    println!(
        "sent {} spans in {elapsed:.1} s = {rate:.0} spans/s accepted, rejected spans {}, \
         refused or failed requests {} of {} (statuses {:?})",
        s.ok_spans,
        s.rejected_spans,
        s.errors,
        s.ok_requests + s.errors,
        s.statuses
    );
    println!(
        "request latency p50 {:.1} ms, p99 {:.1} ms; generator CPU {:.0} % of one core",
        pct(&s.latencies_us, 0.5),
        pct(&s.latencies_us, 0.99),
        100.0 * gen_cpu / elapsed
    );
    println!(
        "ingest / decode-only ceiling: {:.0} %",
        100.0 * rate / ceiling
    );
    if let (Some(pid), Some((c0, c1))) = (args.server_pid, server_cpu) {
        println!(
            "server CPU {:.1} us/span ({:.0} % of the two cores); peak RSS {} MiB",
            1e6 * (c1 - c0) / s.ok_spans.max(1) as f64,
            100.0 * (c1 - c0) / elapsed / 2.0,
            status_kib(pid, "VmHWM:").unwrap_or(0) / 1024
        );
    }
}
