//! The group-commit thread: takes writes from any number of requests, appends them to the WAL,
//! fsyncs once per group, then makes them visible in the heads and acknowledges them. Because the
//! same thread also cuts the heads for flushing, every WAL segment below a cut holds exactly the
//! data of the heads frozen by that cut.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use futures_channel::oneshot;

use crate::error::{Result, StoreError};
use crate::store::Shared;
use crate::tenant::Tenant;
use crate::wal::WalWriter;

/// Most bytes one group commit gathers before it writes.
const GROUP_BYTES: usize = 16 << 20;

pub(crate) struct Write {
    pub tenant: Arc<Tenant>,
    pub body: crate::wal_body::WalBody,
    pub batch: Arc<RecordBatch>,
    pub ack: oneshot::Sender<Result<()>>,
}

pub(crate) enum Msg {
    Write(Write),
    /// Freeze every head now (shutdown, tests).
    Cut(oneshot::Sender<()>),
    Stop,
}

/// Heads frozen by one cut; the WAL below `cut` may go once they are blocks.
pub(crate) struct FlushJob {
    pub cut: u64,
    pub heads: Vec<(Arc<Tenant>, Arc<crate::tenant::FrozenHead>)>,
}

pub(crate) fn run(
    shared: Arc<Shared>,
    mut wal: WalWriter,
    rx: Receiver<Msg>,
    flush_tx: SyncSender<FlushJob>,
) {
    let mut group: Vec<Write> = Vec::new();
    maybe_cut(&shared, &mut wal, &flush_tx, false);
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                maybe_cut(&shared, &mut wal, &flush_tx, false);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut next = Some(first);
        let mut bytes = 0;
        while let Some(msg) = next.take() {
            match msg {
                Msg::Write(w) => {
                    bytes += w.body.len();
                    wal.push(&w.tenant.name, w.body.kind(), w.body.bytes());
                    group.push(w);
                }
                Msg::Cut(done) => {
                    commit(&shared, &mut wal, &mut group);
                    maybe_cut(&shared, &mut wal, &flush_tx, true);
                    let _ = done.send(());
                }
                Msg::Stop => {
                    commit(&shared, &mut wal, &mut group);
                    return;
                }
            }
            if bytes < GROUP_BYTES {
                next = rx.try_recv().ok();
            }
        }
        commit(&shared, &mut wal, &mut group);
        maybe_cut(&shared, &mut wal, &flush_tx, false);
    }
}

fn commit(shared: &Shared, wal: &mut WalWriter, group: &mut Vec<Write>) {
    if group.is_empty() {
        return;
    }
    let t0 = Instant::now();
    let res = wal.commit();
    let m = &shared.metrics;
    m.wal_fsync_seconds.observe(t0.elapsed().as_secs_f64());
    match res {
        Ok(n) => {
            m.wal_bytes.inc_by(n as u64);
            m.wal_records.inc_by(group.len() as u64);
            for w in group.drain(..) {
                let bytes = w.batch.get_array_memory_size();
                w.tenant.view.write().head.append(w.batch);
                shared.unflushed_bytes.fetch_add(bytes, Ordering::Relaxed);
                let _ = w.ack.send(Ok(()));
            }
        }
        Err(e) => {
            m.wal_failures.inc();
            tracing::error!(error = %e, "wal commit failed; refusing the writes of this group");
            for w in group.drain(..) {
                let _ = w.ack.send(Err(StoreError::Overloaded(format!(
                    "write-ahead log failed: {e}"
                ))));
            }
        }
    }
}

/// Freezes the heads and rotates the WAL when a head is full or old (or `force`).
fn maybe_cut(shared: &Shared, wal: &mut WalWriter, flush_tx: &SyncSender<FlushJob>, force: bool) {
    let cfg = &shared.config;
    let tenants = shared.tenants();
    let due = tenants.iter().any(|t| {
        let v = t.view.read();
        !v.head.is_empty()
            && (force
                || v.head.spans() >= cfg.head_max_spans
                || v.head.bytes() >= cfg.head_max_bytes
                || v.head.age() >= cfg.head_max_age)
    });
    let head_spans: usize = tenants.iter().map(|t| t.view.read().head.spans()).sum();
    shared.metrics.head_spans.set(head_spans as i64);
    if !due {
        return;
    }
    let cut = match wal.rotate() {
        Ok(seq) => seq,
        Err(e) => {
            tracing::error!(error = %e, "cannot start a new wal segment; flush postponed");
            return;
        }
    };
    let heads: Vec<_> = tenants
        .iter()
        .filter_map(|t| t.freeze().map(|f| (t.clone(), f)))
        .collect();
    if flush_tx.send(FlushJob { cut, heads }).is_err() {
        tracing::error!("flusher has stopped; heads stay in memory until restart replays the wal");
    }
}
