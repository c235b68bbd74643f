//! The store: opens the data directory, replays the WAL, runs the group-commit, flush and
//! maintenance threads, and answers reads over heads and blocks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use arrow_array::RecordBatch;
use futures_channel::oneshot;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use parking_lot::{Mutex, RwLock};
use prost::Message;

use crate::config::StoreConfig;
use crate::error::{Result, StoreError};
use crate::genai::SpanEnricher;
use crate::metrics::StoreMetrics;
use crate::schema::SpanBatchBuilder;
use crate::tenant::{Snapshot, Tenant, validate_tenant};
use crate::wal::RecordKind;
use crate::wal_body::{self, WalBody};
use crate::writer::{FlushJob, Msg, Write};
use crate::{maintenance, wal, writer};

/// State shared by the store handle and its threads.
pub(crate) struct Shared {
    pub config: StoreConfig,
    pub enricher: Arc<dyn SpanEnricher>,
    pub metrics: StoreMetrics,
    tenants: RwLock<HashMap<String, Arc<Tenant>>>,
    pub unflushed_bytes: AtomicUsize,
    pub stopping: AtomicBool,
}

impl Shared {
    pub fn tenants(&self) -> Vec<Arc<Tenant>> {
        self.tenants.read().values().cloned().collect()
    }

    fn wal_dir(&self) -> PathBuf {
        self.config.data_dir.join("wal")
    }

    fn tenants_dir(&self) -> PathBuf {
        self.config.data_dir.join("tenants")
    }

    /// The tenant's state, created (with its directory) on first use.
    pub fn tenant(&self, name: &str) -> Result<Arc<Tenant>> {
        if let Some(t) = self.tenants.read().get(name) {
            return Ok(t.clone());
        }
        validate_tenant(name)?;
        let mut map = self.tenants.write();
        if let Some(t) = map.get(name) {
            return Ok(t.clone());
        }
        let t = Arc::new(Tenant::new(name, &self.tenants_dir()));
        t.load_blocks()?;
        map.insert(name.to_owned(), t.clone());
        Ok(t)
    }
}

/// The durable span store.
pub struct Store {
    pub(crate) shared: Arc<Shared>,
    tx: SyncSender<Msg>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Store {
    /// Opens (or creates) the store in `config.data_dir`, replaying the WAL. `enricher` computes
    /// the canonical GenAI columns of replayed spans, as ingest does for new ones.
    pub fn open(
        config: StoreConfig,
        metrics: StoreMetrics,
        enricher: Arc<dyn SpanEnricher>,
    ) -> Result<Self> {
        let shared = Arc::new(Shared {
            config,
            enricher,
            metrics,
            tenants: RwLock::new(HashMap::new()),
            unflushed_bytes: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
        });
        load_tenants(&shared)?;
        let next_seq = replay(&shared)?;
        let wal = wal::WalWriter::create(&shared.wal_dir(), next_seq)?;
        let (tx, rx) = mpsc::sync_channel(4096);
        let (flush_tx, flush_rx) = mpsc::sync_channel(64);
        let s = shared.clone();
        let mut threads = vec![spawn("sextant-wal", move || {
            writer::run(s, wal, rx, flush_tx)
        })];
        let s = shared.clone();
        threads.push(spawn("sextant-flush", move || flusher(s, flush_rx)));
        let s = shared.clone();
        threads.push(spawn("sextant-maint", move || maintenance::run(s)));
        maintenance::update_gauges(&shared);
        Ok(Self {
            shared,
            tx,
            threads: Mutex::new(threads),
        })
    }

    /// Makes `body` (an encoded, validated `ExportTraceServiceRequest`) durable and queryable.
    /// `batch` must hold the same spans in columnar form. Resolves once fsynced.
    pub async fn write(&self, tenant: &str, body: bytes::Bytes, batch: RecordBatch) -> Result<()> {
        self.write_logged(tenant, WalBody::Otlp(body), batch).await
    }

    /// Like [`Store::write`], with the WAL body chosen by the caller: the client's OTLP bytes if
    /// `batch` holds exactly that request, else [`WalBody::arrow`] of the batch.
    pub async fn write_logged(
        &self,
        tenant: &str,
        body: WalBody,
        batch: RecordBatch,
    ) -> Result<()> {
        let tenant = self.shared.tenant(tenant)?;
        let unflushed = self.shared.unflushed_bytes.load(Ordering::Relaxed);
        if unflushed > self.shared.config.max_unflushed_bytes {
            return Err(StoreError::Overloaded(format!(
                "{} MiB wait to be flushed to disk",
                unflushed >> 20
            )));
        }
        let (ack, done) = oneshot::channel();
        let msg = Msg::Write(Write {
            tenant,
            body,
            batch: Arc::new(batch),
            ack,
        });
        self.tx.try_send(msg).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => StoreError::Overloaded("write queue is full".into()),
            mpsc::TrySendError::Disconnected(_) => StoreError::ShuttingDown,
        })?;
        done.await.map_err(|_| StoreError::ShuttingDown)?
    }

    /// What a query of `tenant` sees now (empty for a tenant with no data).
    pub fn snapshot(&self, tenant: &str) -> Snapshot {
        let t = self.shared.tenants.read().get(tenant).cloned();
        t.map(|t| t.snapshot()).unwrap_or_default()
    }

    /// Tenants that have data.
    pub fn tenants(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .shared
            .tenants()
            .iter()
            .map(|t| t.name.clone())
            .collect();
        v.sort();
        v
    }

    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }

    /// Freezes all heads and waits until they are blocks on disk.
    pub fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Msg::Cut(tx))
            .map_err(|_| StoreError::ShuttingDown)?;
        futures_executor_block_on(rx).map_err(|_| StoreError::ShuttingDown)?;
        while self
            .shared
            .tenants()
            .iter()
            .any(|t| !t.view.read().flushing.is_empty())
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Ok(())
    }

    /// Runs one compaction and retention pass now (they also run on their own timer).
    pub fn run_maintenance(&self) -> Result<()> {
        maintenance::pass(&self.shared)
    }

    /// Stops taking writes, flushes every head to blocks and stops the threads.
    pub fn shutdown(&self) -> Result<()> {
        let flushed = self.flush();
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Msg::Stop);
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
        flushed
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Msg::Stop);
    }
}

/// Blocks on a oneshot without pulling in an executor (only used off the async runtime).
fn futures_executor_block_on<T>(mut rx: oneshot::Receiver<T>) -> Result<T, oneshot::Canceled> {
    loop {
        match rx.try_recv() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(2)),
            Err(e) => return Err(e),
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .unwrap_or_else(|e| panic!("cannot start thread {name}: {e}"))
}

fn load_tenants(shared: &Shared) -> Result<()> {
    let dir = shared.tenants_dir();
    std::fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
    for entry in std::fs::read_dir(&dir).map_err(StoreError::io(&dir))? {
        let entry = entry.map_err(StoreError::io(&dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && validate_tenant(&name).is_ok() {
            shared.tenant(&name)?;
        }
    }
    Ok(())
}

/// Replays the WAL into the heads, skipping what blocks already hold; returns the next segment.
fn replay(shared: &Shared) -> Result<u64> {
    let dir = shared.wal_dir();
    let mut failed = Ok(());
    let mut last = 0;
    let stats = wal::replay(&dir, |seq, tenant, kind, body| {
        last = seq;
        if failed.is_err() {
            return;
        }
        failed = replay_record(shared, seq, tenant, kind, body);
    })?;
    failed?;
    tracing::info!(
        segments = stats.segments,
        records = stats.records,
        bytes = stats.bytes,
        torn_tails = stats.torn_tails,
        "wal replayed"
    );
    Ok(wal::next_seq(&dir)?.max(last + 1))
}

fn replay_record(
    shared: &Shared,
    seq: u64,
    tenant: &str,
    kind: RecordKind,
    body: &[u8],
) -> Result<()> {
    let t = shared.tenant(tenant)?;
    if seq < t.wal_cut() {
        return Ok(());
    }
    let batches = match kind {
        RecordKind::Otlp => {
            let req = ExportTraceServiceRequest::decode(body)?;
            let mut b = SpanBatchBuilder::with_capacity(64);
            b.push_request(&req, shared.enricher.as_ref())?;
            vec![b.finish()?]
        }
        RecordKind::ArrowIpc => wal_body::read_arrow(body)?,
    };
    for batch in batches {
        shared
            .unflushed_bytes
            .fetch_add(batch.get_array_memory_size(), Ordering::Relaxed);
        t.view.write().head.append(Arc::new(batch));
    }
    Ok(())
}

/// Writes frozen heads to blocks, in cut order, retrying until it succeeds or the store stops.
fn flusher(shared: Arc<Shared>, rx: Receiver<FlushJob>) {
    for job in rx {
        let mut pending = job.heads;
        while !pending.is_empty() {
            pending.retain(|(tenant, frozen)| match flush_one(&shared, tenant, frozen, job.cut) {
                Ok(()) => false,
                Err(e) => {
                    shared.metrics.flush_failures.inc();
                    tracing::error!(tenant = %tenant.name, error = %e, "flush failed; will retry");
                    true
                }
            });
            if !pending.is_empty() {
                if shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        match wal::remove_below(&shared.wal_dir(), job.cut) {
            Ok(n) => tracing::debug!(segments = n, "flushed wal segments recycled or deleted"),
            Err(e) => tracing::warn!(error = %e, "cannot retire flushed wal segments"),
        }
        maintenance::update_gauges(&shared);
    }
}

fn flush_one(
    shared: &Shared,
    tenant: &Tenant,
    frozen: &Arc<crate::tenant::FrozenHead>,
    cut: u64,
) -> Result<()> {
    let block = crate::block::write_batches(&tenant.blocks_dir(), &frozen.batches, cut)?;
    tenant.set_wal_cut(cut)?;
    {
        let mut v = tenant.view.write();
        v.blocks.push(Arc::new(block));
        v.flushing.retain(|f| !Arc::ptr_eq(f, frozen));
    }
    shared
        .unflushed_bytes
        .fetch_sub(frozen.bytes, Ordering::Relaxed);
    shared.metrics.flushes.inc();
    shared.metrics.flushed_spans.inc_by(frozen.spans as u64);
    Ok(())
}
