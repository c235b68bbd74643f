//! Background upkeep of blocks: retention by age and size, then compaction of small blocks.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::block::Block;
use crate::compact::merge_blocks;
use crate::error::Result;
use crate::store::Shared;
use crate::tenant::Tenant;

pub(crate) fn run(shared: Arc<Shared>) {
    let cfg = &shared.config;
    let every = cfg.compaction.interval.min(cfg.retention.interval);
    let mut last = Instant::now();
    while !shared.stopping.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        if last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        if let Err(e) = pass(&shared) {
            tracing::error!(error = %e, "maintenance pass failed");
        }
    }
}

/// One retention and compaction pass over every tenant.
pub(crate) fn pass(shared: &Shared) -> Result<()> {
    for tenant in shared.tenants() {
        let _rewrite = tenant.rewrite.lock();
        enforce_retention(shared, &tenant)?;
        if shared.config.compaction.enabled {
            while compact_once(shared, &tenant)? {
                if shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
            }
        }
    }
    update_gauges(shared);
    Ok(())
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Blocks to delete: every block older than `max_age`, then the oldest until under `max_bytes`.
pub(crate) fn expired(
    blocks: &[Arc<Block>],
    max_age: Option<Duration>,
    max_bytes: Option<u64>,
    now: u64,
) -> Vec<Arc<Block>> {
    let mut by_age: Vec<Arc<Block>> = blocks.to_vec();
    by_age.sort_by_key(|b| b.meta.max_end_unix_nano);
    let cutoff = max_age.map_or(0, |a| now.saturating_sub(a.as_nanos() as u64));
    let mut total: u64 = by_age.iter().map(|b| b.meta.size_bytes).sum();
    let mut out = Vec::new();
    for b in by_age {
        let too_old = b.meta.max_end_unix_nano < cutoff;
        let too_big = max_bytes.is_some_and(|m| total > m);
        if too_old || too_big {
            total -= b.meta.size_bytes;
            out.push(b);
        }
    }
    out
}

fn enforce_retention(shared: &Shared, tenant: &Tenant) -> Result<()> {
    let r = &shared.config.retention;
    let blocks = tenant.view.read().blocks.clone();
    let doomed = expired(&blocks, r.max_age, r.max_bytes_per_tenant, now_nanos());
    if doomed.is_empty() {
        return Ok(());
    }
    tenant
        .view
        .write()
        .blocks
        .retain(|b| !doomed.iter().any(|d| Arc::ptr_eq(b, d)));
    for b in &doomed {
        b.delete()?;
        tracing::info!(tenant = %tenant.name, block = %b.meta.id, "block deleted by retention");
    }
    shared
        .metrics
        .retention_deleted_blocks
        .inc_by(doomed.len() as u64);
    Ok(())
}

/// Most blocks one merge reads: a merge holds a row group's column chunks of every input at
/// once (a few MiB each), so fan-in bounds its memory; more blocks take more merges.
const MAX_MERGE_INPUTS: usize = 16;

/// Blocks to merge next: the oldest small blocks, up to `max_block_spans` in all and
/// [`MAX_MERGE_INPUTS`] blocks.
pub(crate) fn pick_compaction(
    blocks: &[Arc<Block>],
    min_blocks: usize,
    max_block_spans: u64,
) -> Vec<Arc<Block>> {
    let mut small: Vec<Arc<Block>> = blocks
        .iter()
        .filter(|b| b.meta.spans < max_block_spans / 2)
        .cloned()
        .collect();
    if small.len() < min_blocks.max(2) {
        return Vec::new();
    }
    small.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
    let mut picked = Vec::new();
    let mut spans = 0;
    for b in small {
        let full = spans + b.meta.spans > max_block_spans || picked.len() == MAX_MERGE_INPUTS;
        if full && picked.len() >= 2 {
            break;
        }
        spans += b.meta.spans;
        picked.push(b);
    }
    if picked.len() < 2 { Vec::new() } else { picked }
}

fn compact_once(shared: &Shared, tenant: &Tenant) -> Result<bool> {
    let c = &shared.config.compaction;
    let blocks = tenant.view.read().blocks.clone();
    let inputs = pick_compaction(&blocks, c.min_blocks, c.max_block_spans);
    if inputs.is_empty() {
        return Ok(false);
    }
    let merged = Arc::new(merge_blocks(&tenant.blocks_dir(), &inputs)?);
    {
        let mut v = tenant.view.write();
        v.blocks
            .retain(|b| !inputs.iter().any(|i| Arc::ptr_eq(b, i)));
        v.blocks.push(merged.clone());
        v.blocks.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
    }
    for b in &inputs {
        b.delete()?;
    }
    shared.metrics.compactions.inc();
    tracing::info!(tenant = %tenant.name, inputs = inputs.len(), spans = merged.meta.spans,
        block = %merged.meta.id, "blocks compacted");
    Ok(true)
}

pub(crate) fn update_gauges(shared: &Shared) {
    let (mut blocks, mut bytes) = (0i64, 0i64);
    for t in shared.tenants() {
        let v = t.view.read();
        blocks += v.blocks.len() as i64;
        bytes += v
            .blocks
            .iter()
            .map(|b| b.meta.size_bytes as i64)
            .sum::<i64>();
    }
    shared.metrics.blocks.set(blocks);
    shared.metrics.disk_bytes.set(bytes);
    shared
        .metrics
        .unflushed_bytes
        .set(shared.unflushed_bytes.load(Ordering::Relaxed) as i64);
}
