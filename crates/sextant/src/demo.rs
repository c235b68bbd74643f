//! `sextant demo`: sends realistic GenAI agent traffic to an OTLP/HTTP endpoint, so that a
//! fresh Sextant has something to show, and as a quick end-to-end check of ingestion.
//!
//! ```text
//!  ticker (rate/batch per s) ─▶ TrafficGen::request ─▶ prost ─▶ POST {endpoint}/v1/traces
//!                                                                  │
//!      2xx: count accepted spans minus partial_success.rejected_spans
//!      429/502/503/504: wait Retry-After (bounded), try again (bounded)
//!      other status: a failed request;  no connection: an error before the first answer
//! ```
//!
//! Requests go one at a time over one keep-alive connection, so a slow server lowers the rate
//! instead of piling up requests. The run stops at `--count`, `--duration` or Ctrl-C.

mod load;
mod sender;
pub mod traffic;

use std::{
    fmt,
    path::PathBuf,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::Uri;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tokio::time::{Instant, MissedTickBehavior};

use sender::{Sender, Sent};
use traffic::TrafficGen;

/// Traces sent when neither `--count` nor `--duration` is given.
const DEFAULT_COUNT: u64 = 200;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries of one request answered 429/502/503/504.
const MAX_RETRIES: u32 = 3;
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// An export response is a few bytes; anything bigger is cut (and not decoded).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Requests in a row that reach no server before the run gives up.
const MAX_CONSECUTIVE_ERRORS: u32 = 5;

#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// OTLP/HTTP base endpoint to send to (`/v1/traces` is appended unless already there)
    #[arg(
        long,
        default_value = "http://127.0.0.1:4318",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT"
    )]
    pub endpoint: String,
    /// Traces per second
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Stop after this many traces
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this many seconds (without --count or --duration: stop after 200 traces)
    #[arg(long)]
    pub duration: Option<f64>,
    /// Tenant to send as (X-Scope-OrgID header)
    #[arg(long)]
    pub tenant: Option<String>,
    /// Traces per request (fewer when the rate is below one request per second)
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// Random seed, for reproducible traffic (default: a random one, shown in the summary)
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
    /// Benchmarks only: write the traffic straight into this data directory's blocks and span
    /// metrics instead of sending it (the server must not be running on it); see `--spans`,
    /// `--over`
    #[arg(long, hide = true)]
    pub into_data_dir: Option<PathBuf>,
    /// With --into-data-dir: spans to write
    #[arg(long, hide = true, default_value_t = 10_000_000)]
    pub spans: u64,
    /// With --into-data-dir: traces start evenly over this many seconds up to now
    #[arg(long, hide = true, default_value_t = 3600.0)]
    pub over: f64,
    /// With --into-data-dir: spans per block (the server's compaction merges them later)
    #[arg(long, hide = true, default_value_t = 1_000_000)]
    pub block_spans: u64,
}

/// What a demo run delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoReport {
    /// Traces in requests the server accepted.
    pub traces: u64,
    /// Spans the server accepted (those of accepted requests, less the rejected ones).
    pub spans: u64,
    /// Export requests sent (a retried request counts once).
    pub requests: u64,
    /// Requests not fully accepted: an error status, no answer, or rejected spans.
    pub failed_requests: u64,
}

/// Sends demo traffic as `args` say, prints a summary line to stderr and returns the counts.
///
/// Fails if the endpoint is invalid, if the first request (or several in a row) reaches no
/// server, or if the server accepted none of the requests.
pub async fn run(args: &DemoArgs) -> anyhow::Result<DemoReport> {
    if let Some(dir) = &args.into_data_dir {
        return load_into(args, dir.clone()).await;
    }
    let pacing = Pacing::new(args)?;
    let sender = Sender::new(&args.endpoint, args.tenant.as_deref())?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut traffic = TrafficGen::new(seed);
    let progress = progress_bar(pacing.count, args.quiet);
    let started = Instant::now();
    let mut stats = Stats::default();
    let result = send_all(&pacing, &sender, &mut traffic, &progress, &mut stats).await;
    progress.finish_and_clear();
    let interrupted = matches!(result, Ok(Stop::Interrupted));
    let summary = stats.summary(started.elapsed(), seed, &sender.url);
    eprintln!(
        "demo{}: {summary}",
        if interrupted { " (interrupted)" } else { "" }
    );
    let stopped = result?;
    if stats.requests > 0 && stats.accepted == 0 && stopped != Stop::Interrupted {
        let last = stats.last_error.as_deref().unwrap_or("unknown error");
        bail!(
            "no request to {} was accepted; last error: {last}",
            sender.url
        );
    }
    Ok(stats.report())
}

/// `--into-data-dir`: generates and writes blocks on blocking threads, prints a summary.
async fn load_into(args: &DemoArgs, data_dir: PathBuf) -> anyhow::Result<DemoReport> {
    let plan = load::LoadPlan {
        data_dir,
        tenant: (args.tenant.clone()).unwrap_or_else(|| sextant_store::DEFAULT_TENANT.into()),
        spans: args.spans,
        over_secs: args.over,
        block_spans: args.block_spans,
        seed: args.seed.unwrap_or_else(rand::random),
        end_unix_nano: unix_nanos()?,
    };
    let started = std::time::Instant::now();
    let report = tokio::task::spawn_blocking(move || load::load(&plan)).await??;
    eprintln!(
        "demo: wrote {} spans in {} traces as {} blocks ({:.1} MB) and {} span-metric samples in {:.1?}",
        report.spans,
        report.traces,
        report.blocks,
        report.bytes as f64 / 1e6,
        report.samples,
        started.elapsed()
    );
    Ok(DemoReport {
        traces: report.traces,
        spans: report.spans,
        requests: 0,
        failed_requests: 0,
    })
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Done,
    Interrupted,
}

/// The send loop: one request per tick until the count, the deadline or Ctrl-C.
async fn send_all(
    pacing: &Pacing,
    sender: &Sender,
    traffic: &mut TrafficGen,
    progress: &ProgressBar,
    stats: &mut Stats,
) -> anyhow::Result<Stop> {
    let mut ticker = tokio::time::interval(pacing.period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let deadline = pacing.deadline;
    let deadline = async move {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    let interrupted = interrupted();
    tokio::pin!(deadline, interrupted);
    while let Some(traces) = pacing.next_batch(stats.generated) {
        tokio::select! {
            biased;
            () = &mut interrupted => return Ok(Stop::Interrupted),
            () = &mut deadline => return Ok(Stop::Done),
            _ = ticker.tick() => {}
        }
        let now = unix_nanos()?;
        let (body, spans) = encode(traffic.request(traces, now), now);
        stats.generated += traces as u64;
        let sent = tokio::select! {
            biased;
            () = &mut interrupted => return Ok(Stop::Interrupted),
            sent = sender.send(body) => sent,
        };
        stats.record(traces as u64, spans, sent)?;
        progress.set_position(stats.generated);
        progress.set_message(format!("{} failed", stats.failed_requests));
    }
    Ok(Stop::Done)
}

/// Resolves on Ctrl-C (never, if the handler cannot be installed).
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn unix_nanos() -> anyhow::Result<u64> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    u64::try_from(now.as_nanos()).context("the system clock is past 2554")
}

/// Encodes the request after moving it back in time so its last span ends now (the runs it
/// describes just finished, as when an SDK exports them); returns the body and its span count.
fn encode(mut request: ExportTraceServiceRequest, now: u64) -> (Bytes, u64) {
    let spans = || {
        request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
    };
    let count = spans().count() as u64;
    let last_end = spans().map(|s| s.end_time_unix_nano).max().unwrap_or(0);
    let shift = last_end.saturating_sub(now);
    for span in request
        .resource_spans
        .iter_mut()
        .flat_map(|rs| &mut rs.scope_spans)
        .flat_map(|ss| &mut ss.spans)
    {
        span.start_time_unix_nano -= shift;
        span.end_time_unix_nano -= shift;
        for event in &mut span.events {
            event.time_unix_nano -= shift;
        }
    }
    (Bytes::from(request.encode_to_vec()), count)
}

/// How many traces to send and how fast.
struct Pacing {
    count: Option<u64>,
    deadline: Option<Instant>,
    batch: usize,
    /// Time between two requests.
    period: Duration,
}

impl Pacing {
    fn new(args: &DemoArgs) -> anyhow::Result<Self> {
        if !(args.rate.is_finite() && args.rate > 0.0) {
            bail!(
                "--rate must be a positive number of traces per second, not {}",
                args.rate
            );
        }
        if args.batch == 0 {
            bail!("--batch must be at least 1");
        }
        let duration = match args.duration {
            Some(secs) if !(secs.is_finite() && secs > 0.0) => {
                bail!("--duration must be a positive number of seconds, not {secs}")
            }
            Some(secs) => {
                Some(Duration::try_from_secs_f64(secs).context("--duration is too long")?)
            }
            None => None,
        };
        let count = match (args.count, duration) {
            (None, None) => Some(DEFAULT_COUNT),
            (count, _) => count,
        };
        // At least one request a second, so that a low rate does not mean long silences.
        let batch = args.batch.min(args.rate.floor().max(1.0) as usize);
        let period =
            Duration::try_from_secs_f64(batch as f64 / args.rate).context("--rate is too low")?;
        Ok(Self {
            count,
            deadline: duration.map(|d| Instant::now() + d),
            batch,
            period: period.max(Duration::from_micros(1)),
        })
    }

    /// Traces in the next request, or `None` when `generated` reached the count.
    fn next_batch(&self, generated: u64) -> Option<usize> {
        let Some(count) = self.count else {
            return Some(self.batch);
        };
        let left = count.saturating_sub(generated);
        (left > 0).then(|| self.batch.min(usize::try_from(left).unwrap_or(usize::MAX)))
    }
}

/// Counters of a run.
#[derive(Default)]
struct Stats {
    generated: u64,
    traces: u64,
    spans: u64,
    requests: u64,
    failed_requests: u64,
    rejected_spans: u64,
    /// Requests the server answered at all.
    answered: u64,
    /// Requests answered 2xx.
    accepted: u64,
    consecutive_errors: u32,
    last_error: Option<String>,
}

impl Stats {
    /// Counts one request; fails on a transport error before any answer, or too many in a row.
    fn record(
        &mut self,
        traces: u64,
        spans: u64,
        sent: anyhow::Result<Sent>,
    ) -> anyhow::Result<()> {
        self.requests += 1;
        let sent = match sent {
            Ok(sent) => sent,
            Err(error) => return self.transport_error(error),
        };
        self.answered += 1;
        self.consecutive_errors = 0;
        match sent {
            Sent::Accepted {
                rejected_spans,
                message,
            } => {
                self.accepted += 1;
                self.traces += traces;
                self.spans += spans.saturating_sub(rejected_spans);
                if rejected_spans > 0 {
                    self.failed_requests += 1;
                    self.rejected_spans += rejected_spans;
                    let reason = if message.is_empty() {
                        "no reason given"
                    } else {
                        &message
                    };
                    self.last_error = Some(format!("{rejected_spans} spans rejected: {reason}"));
                }
            }
            Sent::Refused { status, message } => {
                tracing::debug!(%status, %message, "export request refused");
                self.failed_requests += 1;
                self.last_error = Some(message);
            }
        }
        Ok(())
    }

    fn transport_error(&mut self, error: anyhow::Error) -> anyhow::Result<()> {
        self.failed_requests += 1;
        self.consecutive_errors += 1;
        if self.answered == 0 {
            return Err(error);
        }
        if self.consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
            return Err(error.context(format!("{MAX_CONSECUTIVE_ERRORS} requests in a row failed")));
        }
        self.last_error = Some(format!("{error:#}"));
        Ok(())
    }

    fn report(&self) -> DemoReport {
        DemoReport {
            traces: self.traces,
            spans: self.spans,
            requests: self.requests,
            failed_requests: self.failed_requests,
        }
    }

    fn summary(&self, elapsed: Duration, seed: u64, url: &Uri) -> String {
        let secs = elapsed.as_secs_f64();
        let mut line = format!(
            "sent {} traces ({} spans) in {} requests to {url} in {secs:.1} s ({:.1} traces/s); failed requests: {}, rejected spans: {}; seed {seed}",
            self.traces,
            self.spans,
            self.requests,
            self.traces as f64 / secs.max(1e-9),
            self.failed_requests,
            self.rejected_spans,
        );
        if let Some(error) = &self.last_error {
            line.push_str(&format!("; last error: {error}"));
        }
        line
    }
}

/// A bar over `total` traces, or a spinner when only a duration bounds the run.
fn progress_bar(total: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            "{spinner:.green} {elapsed_precise} [{wide_bar:.cyan/blue}] {pos}/{len} traces, {rate}, {msg}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner:.green} {elapsed_precise} {pos} traces, {rate}, {msg}",
        ),
    };
    let style = ProgressStyle::with_template(template).expect("the progress template is valid");
    let rate = |state: &ProgressState, out: &mut dyn fmt::Write| {
        // Best effort: a failed write only garbles one frame of the bar.
        let _ = write!(out, "{:.1} traces/s", state.per_sec());
    };
    bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
    bar.set_message("0 failed");
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry_proto::tonic::{
        collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse},
        trace::v1::Span,
    };
    use tokio::{
        io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
        net::{TcpListener, TcpStream},
    };

    use super::*;

    /// Requests a test server got: head (request line and headers) and body.
    type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

    fn args(endpoint: &str, count: u64) -> DemoArgs {
        DemoArgs {
            endpoint: endpoint.to_string(),
            rate: 1000.0,
            count: Some(count),
            duration: None,
            tenant: None,
            batch: 10,
            seed: Some(1),
            quiet: true,
            into_data_dir: None,
            spans: 0,
            over: 3600.0,
            block_spans: 1,
        }
    }

    fn answer(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let head = format!(
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\n\r\n",
            body.len()
        );
        [head.as_bytes(), body].concat()
    }

    fn ok() -> Vec<u8> {
        answer("200 OK", "content-type: application/x-protobuf\r\n", b"")
    }

    /// An HTTP/1.1 server on a free port that answers request `i` with `answers[i]` (the last
    /// answer repeats) and keeps what it got.
    async fn server(answers: Vec<Vec<u8>>) -> (String, Received) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let received = Received::default();
        let seen = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, answers.clone(), seen.clone()));
            }
        });
        (url, received)
    }

    async fn connection(stream: TcpStream, answers: Vec<Vec<u8>>, seen: Received) {
        let mut stream = BufReader::new(stream);
        loop {
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if stream.read_exact(&mut body).await.is_err() {
                return;
            }
            let n = {
                let mut seen = seen.lock().expect("lock");
                seen.push((head, body));
                seen.len()
            };
            let reply = &answers[(n - 1).min(answers.len() - 1)];
            if stream.get_mut().write_all(reply).await.is_err() {
                return;
            }
        }
    }

    /// The spans of the export requests a test server got.
    fn spans(received: &[(String, Vec<u8>)]) -> Vec<Span> {
        received
            .iter()
            .map(|(_, body)| {
                ExportTraceServiceRequest::decode(body.as_slice()).expect("protobuf body")
            })
            .flat_map(|r| r.resource_spans)
            .flat_map(|rs| rs.scope_spans)
            .flat_map(|ss| ss.spans)
            .collect()
    }

    #[test]
    fn pacing_follows_rate_count_and_batch() {
        let mut a = args("http://127.0.0.1:1", 0);
        a.count = None;
        let pacing = Pacing::new(&a).expect("defaults are valid");
        assert_eq!(pacing.count, Some(DEFAULT_COUNT));
        assert_eq!(pacing.next_batch(195), Some(5));
        assert_eq!(pacing.next_batch(200), None);

        a.rate = 5.0;
        let pacing = Pacing::new(&a).expect("valid");
        assert_eq!((pacing.batch, pacing.period), (5, Duration::from_secs(1)));
        a.rate = 0.5;
        let pacing = Pacing::new(&a).expect("valid");
        assert_eq!((pacing.batch, pacing.period), (1, Duration::from_secs(2)));

        a.duration = Some(3.0);
        let pacing = Pacing::new(&a).expect("valid");
        assert_eq!(
            (pacing.count, pacing.next_batch(1_000_000)),
            (None, Some(1))
        );

        for (rate, batch, duration) in [
            (0.0, 10, None),
            (f64::NAN, 10, None),
            (1.0, 0, None),
            (1.0, 1, Some(-1.0)),
        ] {
            let bad = DemoArgs {
                rate,
                batch,
                duration,
                ..args("http://127.0.0.1:1", 1)
            };
            assert!(Pacing::new(&bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn sends_paced_batches_and_counts_rejected_spans() {
        let partial = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 3,
                error_message: "span too old".into(),
            }),
        };
        let (url, received) = server(vec![
            ok(),
            answer("200 OK", "", &partial.encode_to_vec()),
            ok(),
        ])
        .await;
        let a = DemoArgs {
            rate: 100.0,
            tenant: Some("acme".into()),
            ..args(&url, 25)
        };
        let started = std::time::Instant::now();
        let report = run(&a).await.expect("the run succeeds");
        assert!(
            started.elapsed() >= Duration::from_millis(190),
            "3 requests 100 ms apart"
        );

        let received = received.lock().expect("lock");
        let spans = spans(&received);
        let traces: std::collections::HashSet<_> = spans.iter().map(|s| &s.trace_id).collect();
        assert_eq!(traces.len(), 25);
        let now = unix_nanos().expect("clock");
        assert!(spans.iter().all(
            |s| s.end_time_unix_nano <= now && s.end_time_unix_nano + 60 * 1_000_000_000 > now
        ));
        for (head, _) in received.iter() {
            assert!(head.starts_with("post /v1/traces http/1.1"), "{head}");
            assert!(
                head.contains("content-type: application/x-protobuf"),
                "{head}"
            );
            assert!(head.contains("x-scope-orgid: acme"), "{head}");
        }
        let expected = DemoReport {
            traces: 25,
            spans: spans.len() as u64 - 3,
            requests: 3,
            failed_requests: 1,
        };
        assert_eq!(report, expected);
    }

    #[tokio::test]
    async fn retries_when_the_server_asks_to() {
        let busy = answer("429 Too Many Requests", "retry-after: 0\r\n", b"");
        let (url, received) = server(vec![busy.clone(), busy, ok()]).await;
        let report = run(&args(&url, 10)).await.expect("the run succeeds");
        assert_eq!(
            (report.requests, report.failed_requests, report.traces),
            (1, 0, 10)
        );
        assert_eq!(received.lock().expect("lock").len(), 3);
    }

    #[tokio::test]
    async fn refused_requests_are_failures() {
        let bad = answer(
            "400 Bad Request",
            "content-type: text/plain\r\n",
            b"unknown tenant",
        );
        let (url, _) = server(vec![ok(), bad.clone(), ok()]).await;
        let report = run(&args(&url, 30))
            .await
            .expect("some requests were accepted");
        assert_eq!(
            (report.requests, report.failed_requests, report.traces),
            (3, 1, 20)
        );

        let (url, _) = server(vec![bad]).await;
        let error = run(&args(&url, 30))
            .await
            .expect_err("nothing was accepted");
        assert!(format!("{error:#}").contains("unknown tenant"), "{error:#}");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_named_in_the_error() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        drop(listener);
        let error = run(&args(&url, 10))
            .await
            .expect_err("nothing listens there");
        let message = format!("{error:#}");
        assert!(message.contains(&format!("{url}/v1/traces")), "{message}");
    }
}
