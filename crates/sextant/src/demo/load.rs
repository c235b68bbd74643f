//! `sextant demo --into-data-dir DIR --spans N` (hidden): writes demo traffic straight into a
//! data directory's blocks, for measuring the UI and the APIs on millions of stored spans
//! without waiting for OTLP ingestion (10 M spans at the server's ingest rate take minutes).
//!
//! ```text
//!  TrafficGen (start times spread over --over seconds, oldest first)
//!     └─▶ content policy (the server's default: prompts dropped)
//!          └─▶ SpanBatchBuilder + GenAiEnricher (prices, totals, as ingest does)
//!               ├─▶ one block per --block-spans spans, in time order, as head flushes write them
//!               └─▶ span metrics of every batch, as ingest observes them, appended to the
//!                   series store (`metrics/`) every 15 s of the traffic's own time
//! ```
//!
//! The server must not run on that directory meanwhile. A server that ingested the same
//! traffic holds the same spans and span-metric series, so the Overview (span metrics) and the
//! span-store APIs (listings, costs, conversations, search) both see realistic data.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use anyhow::{Context, bail};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use sextant_genai::ContentPolicy;
use sextant_ingest::GenAiEnricher;
use sextant_metrics::{SeriesStore, SeriesStoreConfig, SpanMetrics};
use sextant_store::SpanBatchBuilder;

use super::traffic::TrafficGen;

/// Traces per generated request: big enough to amortize, small enough to stay cache-friendly.
const TRACES_PER_REQUEST: usize = 1000;
/// Traces generated to estimate the mean spans per trace (so start times fill `--over`).
const SAMPLE_TRACES: usize = 2000;
/// How often the server appends its span metrics to the series store.
const SPAN_METRICS_INTERVAL_NANOS: u64 = 15_000_000_000;

/// A batch builder and the start of its first trace (Unix nanoseconds).
type Pending = Vec<(SpanBatchBuilder, u64)>;

/// What to load and where.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub data_dir: PathBuf,
    pub tenant: String,
    pub spans: u64,
    /// Traces start evenly over this many seconds before `end_unix_nano`.
    pub over_secs: f64,
    pub block_spans: u64,
    pub seed: u64,
    pub end_unix_nano: u64,
}

/// What a load wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub traces: u64,
    pub spans: u64,
    pub blocks: u64,
    pub bytes: u64,
    /// Span-metric samples appended to the series store.
    pub samples: u64,
}

/// Generates `plan.spans` spans (a whole last trace may go a little over) and writes them as
/// blocks. Generation and block writing overlap on two threads.
pub fn load(plan: &LoadPlan) -> anyhow::Result<LoadReport> {
    if plan.spans == 0 || plan.block_spans == 0 {
        bail!("--spans and --block-spans must be at least 1");
    }
    if !(plan.over_secs.is_finite() && plan.over_secs > 0.0) {
        bail!("--over must be a positive number of seconds");
    }
    sextant_store::tenant::validate_tenant(&plan.tenant)?;
    let blocks = plan
        .data_dir
        .join("tenants")
        .join(&plan.tenant)
        .join("blocks");
    std::fs::create_dir_all(&blocks)
        .with_context(|| format!("cannot create {}", blocks.display()))?;
    let metrics = MetricsWriter::open(plan)?;
    let (tx, rx) = sync_channel(1);
    let writer = std::thread::spawn(move || write_blocks(&blocks, metrics, rx));
    let generated = generate(plan, tx);
    let (blocks, bytes, mut metrics) = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the block writer panicked"))??;
    let (traces, spans) = generated?;
    let samples = metrics.finish(plan.end_unix_nano)?;
    Ok(LoadReport {
        traces,
        spans,
        blocks,
        bytes,
        samples,
    })
}

/// Span metrics as ingest keeps them: observed batch by batch, appended every interval.
struct MetricsWriter {
    store: SeriesStore,
    spans: SpanMetrics,
    tenant: String,
    next_flush: u64,
    samples: u64,
}

impl MetricsWriter {
    fn open(plan: &LoadPlan) -> anyhow::Result<Self> {
        let dir = plan.data_dir.join("metrics");
        let store = SeriesStore::open(&dir, SeriesStoreConfig::default())
            .with_context(|| format!("cannot open the series store in {}", dir.display()))?;
        let first = plan
            .end_unix_nano
            .saturating_sub((plan.over_secs * 1e9) as u64);
        Ok(MetricsWriter {
            store,
            spans: SpanMetrics::default(),
            tenant: plan.tenant.clone(),
            next_flush: first + SPAN_METRICS_INTERVAL_NANOS,
            samples: 0,
        })
    }

    /// Appends the snapshots the server would have taken up to `start` (the first trace of
    /// the batch about to be observed).
    fn flush_until(&mut self, start: u64) -> anyhow::Result<()> {
        while self.next_flush <= start {
            self.append(self.next_flush)?;
            self.next_flush += SPAN_METRICS_INTERVAL_NANOS;
        }
        Ok(())
    }

    fn append(&mut self, at_nanos: u64) -> anyhow::Result<()> {
        let samples: Vec<_> = (self.spans.snapshot((at_nanos / 1_000_000) as i64))
            .into_iter()
            .map(|(_, labels, t, v)| (labels, t, v))
            .collect();
        if samples.is_empty() {
            return Ok(());
        }
        let stats = self.store.append(&self.tenant, &samples)?;
        if let Some(e) = stats.error() {
            bail!("span metrics refused by the series store: {e}");
        }
        self.samples += samples.len() as u64;
        Ok(())
    }

    /// Appends the last snapshot at `end` and writes the series to a block.
    fn finish(&mut self, end: u64) -> anyhow::Result<u64> {
        self.append(end)?;
        self.store.flush()?;
        Ok(self.samples)
    }
}

/// The gap between two trace starts so that `spans` spans fill `over_secs`.
fn trace_gap_nanos(seed: u64, spans: u64, over_secs: f64) -> u64 {
    let mut sample = TrafficGen::new(seed);
    let sampled: usize = (0..SAMPLE_TRACES)
        .map(|_| span_count(&sample.request(1, 0)))
        .sum();
    let traces = (spans as f64 * SAMPLE_TRACES as f64 / sampled.max(1) as f64).max(1.0);
    (over_secs * 1e9 / traces) as u64
}

fn span_count(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// Builds record batches of about `block_spans` spans each and hands them to the writer.
/// The builders go to the writer unfinished, so that finishing them (building the columns)
/// also runs on the writer's thread.
fn generate(plan: &LoadPlan, tx: SyncSender<Pending>) -> anyhow::Result<(u64, u64)> {
    let catalog = Arc::new(sextant_genai::Catalog::embedded().with_overrides(Vec::new())?);
    let enricher = GenAiEnricher::new(catalog);
    let policy = ContentPolicy::new(false, &[])?;
    let gap = trace_gap_nanos(plan.seed, plan.spans, plan.over_secs);
    let first = plan
        .end_unix_nano
        .saturating_sub((plan.over_secs * 1e9) as u64);
    let mut traffic = TrafficGen::new(plan.seed);
    let (mut traces, mut spans) = (0u64, 0u64);
    let mut pending = Vec::new();
    let mut in_block = 0u64;
    let started = Instant::now();
    while spans < plan.spans {
        let mut builder = SpanBatchBuilder::with_capacity(TRACES_PER_REQUEST * 16);
        let batch_start = first + traces * gap;
        for _ in 0..TRACES_PER_REQUEST {
            let mut req = traffic.request(1, first + traces * gap);
            scrub(&policy, &mut req);
            let n = span_count(&req) as u64;
            builder.push_request(&req, &enricher)?;
            traces += 1;
            spans += n;
            in_block += n;
            if spans >= plan.spans || in_block >= plan.block_spans {
                break;
            }
        }
        pending.push((builder, batch_start));
        if in_block >= plan.block_spans || spans >= plan.spans {
            tx.send(std::mem::take(&mut pending))
                .context("the block writer stopped")?;
            in_block = 0;
            eprintln!(
                "demo load: {spans} spans, {traces} traces ({:.0?})",
                started.elapsed()
            );
        }
    }
    Ok((traces, spans))
}

/// Drops prompt and completion content, as the server does by default before storing.
fn scrub(policy: &ContentPolicy, req: &mut ExportTraceServiceRequest) {
    for span in req
        .resource_spans
        .iter_mut()
        .flat_map(|rs| rs.scope_spans.iter_mut())
        .flat_map(|ss| ss.spans.iter_mut())
    {
        policy.apply(span);
    }
}

/// Writes each received group of batches as one block, observing them into the span metrics;
/// returns (blocks, bytes, the span metrics).
fn write_blocks(
    dir: &Path,
    mut metrics: MetricsWriter,
    rx: Receiver<Pending>,
) -> anyhow::Result<(u64, u64, MetricsWriter)> {
    let (mut blocks, mut bytes) = (0, 0);
    for builders in rx {
        let mut batches = Vec::with_capacity(builders.len());
        for (builder, start) in builders {
            let batch = builder.finish()?;
            metrics.flush_until(start)?;
            metrics.spans.observe_batch(&metrics.tenant, &batch);
            batches.push(Arc::new(batch));
        }
        let block = sextant_store::block::write_batches(dir, &batches, 0)
            .with_context(|| format!("cannot write a block in {}", dir.display()))?;
        blocks += 1;
        bytes += block.meta.size_bytes;
    }
    Ok((blocks, bytes, metrics))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_store::{DEFAULT_TENANT, Store, StoreConfig, StoreMetrics, TraceQuery};

    fn plan(dir: &Path, spans: u64) -> LoadPlan {
        LoadPlan {
            data_dir: dir.to_path_buf(),
            tenant: DEFAULT_TENANT.into(),
            spans,
            over_secs: 600.0,
            block_spans: 2000,
            seed: 7,
            end_unix_nano: 1_800_000_000_000_000_000,
        }
    }

    #[test]
    fn loaded_spans_are_readable_by_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = plan(dir.path(), 5000);
        let report = load(&p).expect("load");
        assert!(report.spans >= 5000, "{report:?}");
        assert!(report.blocks >= 2, "{report:?}");
        let mut config = StoreConfig::new(dir.path());
        config.retention.max_age = None;
        let store = Store::open(
            config,
            StoreMetrics::default(),
            Arc::new(sextant_store::NoEnrichment),
        )
        .expect("open");
        let q = TraceQuery {
            start: p.end_unix_nano - 700 * 1_000_000_000,
            end: p.end_unix_nano + 60 * 1_000_000_000,
            limit: 1_000_000,
            ..Default::default()
        };
        let rows = store.list_traces(DEFAULT_TENANT, &q).expect("list");
        assert_eq!(rows.len() as u64, report.traces);
        let stored: u64 = rows.iter().map(|r| u64::from(r.spans)).sum();
        assert_eq!(stored, report.spans);
        // Spread over the window, oldest first: the newest trace starts near its end.
        let newest = rows[0].start_unix_nano;
        assert!(newest > p.end_unix_nano - 120 * 1_000_000_000, "{newest}");
        assert!(rows.iter().any(|r| r.genai.cost_usd > 0.0));
    }

    #[test]
    fn span_metrics_count_every_loaded_span_over_the_traffic_s_time() {
        use sextant_promql::{MatchOp, Matcher, SeriesSource};
        let dir = tempfile::tempdir().expect("tempdir");
        let p = plan(dir.path(), 5000);
        let report = load(&p).expect("load");
        assert!(report.samples > 0, "{report:?}");
        let store = SeriesStore::open(&dir.path().join("metrics"), SeriesStoreConfig::default())
            .expect("series store");
        let name = Matcher::new("__name__", MatchOp::Equal, "traces_spanmetrics_calls_total")
            .expect("matcher");
        let end_ms = (p.end_unix_nano / 1_000_000) as i64;
        let series = (store.source(DEFAULT_TENANT))
            .select(&[name], 0, end_ms)
            .expect("select");
        let last: f64 = (series.iter())
            .filter_map(|s| s.samples.last().map(|x| x.1))
            .sum();
        assert_eq!(
            last as u64, report.spans,
            "the last snapshot counts every span"
        );
        let times: std::collections::BTreeSet<i64> = (series.iter())
            .flat_map(|s| s.samples.iter().map(|x| x.0))
            .collect();
        assert_eq!(times.last(), Some(&end_ms));
        // Snapshots every 15 s of the 600 s the traffic covers (batches are 1000 traces long).
        assert!(times.len() >= 3, "{times:?}");
        assert!(times.iter().all(|t| t % 15_000 == 0 || *t == end_ms));
    }

    #[test]
    fn content_is_dropped_as_the_server_does_by_default() {
        let policy = ContentPolicy::new(false, &[]).expect("policy");
        let mut traffic = TrafficGen::new(3);
        let mut req = traffic.request(50, 0);
        scrub(&policy, &mut req);
        let has_content = req
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .flat_map(|s| &s.attributes)
            .any(|kv| sextant_genai::content::is_content_key(&kv.key));
        assert!(!has_content);
    }
}
