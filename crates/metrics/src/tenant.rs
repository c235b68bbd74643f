//! One tenant's part of the series store: head, blocks and WAL in `<dir>/<tenant>/`.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::RwLock;
use sextant_promql::Labels;

use crate::block::Block;
use crate::error::{Error, Result};
use crate::head::{AddRules, Added, Head, Rejection};
use crate::store::{AppendStats, SeriesStoreConfig};
use crate::wal::{Record, RecordBuilder, Wal};

/// Checks a tenant id with the span store's rule, so both stores accept the same tenants.
pub fn validate_tenant(id: &str) -> Result<()> {
    sextant_store::tenant::validate_tenant(id).map_err(|_| Error::InvalidTenant(id.to_owned()))
}

/// The state of one tenant.
pub struct Tenant {
    name: String,
    blocks_dir: PathBuf,
    /// Series table and head samples.
    pub head: RwLock<Head>,
    /// Flushed blocks, oldest first.
    pub blocks: RwLock<Vec<Arc<Block>>>,
    wal: Wal,
    last_flush_ms: AtomicI64,
}

fn block_seq(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .strip_suffix(".blk")?
        .parse()
        .ok()
}

impl Tenant {
    /// Opens the tenant's directory: loads block indexes, then replays the WAL into the head.
    pub fn open(name: &str, dir: &Path, now_ms: i64) -> Result<Tenant> {
        let blocks_dir = dir.join("blocks");
        fs::create_dir_all(&blocks_dir).map_err(|e| Error::io(&blocks_dir, e))?;
        let mut head = Head::new();
        let blocks = load_blocks(&blocks_dir, &mut head)?;
        // Every logged sample was accepted once: replay takes them all back, whatever the
        // window (the series' bounds now include blocks the original decision did not see).
        let rules = AddRules {
            ooo_window_ms: i64::MAX,
        };
        let mut refs: HashMap<u32, u32> = HashMap::new();
        let wal = Wal::open(&dir.join("wal"), |rec| match rec {
            Record::Series(list) => {
                for (r, labels) in list {
                    refs.insert(r, head.intern(&labels));
                }
            }
            Record::Samples(list) => {
                for (r, t, v) in list {
                    if let Some(&id) = refs.get(&r)
                        && head.add(id, t, v, rules) == Ok(Added::Stored)
                    {
                        head.activate(id, usize::MAX);
                    }
                }
            }
        })?;
        head.forget_wal();
        Ok(Tenant {
            name: name.to_owned(),
            blocks_dir,
            head: RwLock::new(head),
            blocks: RwLock::new(blocks),
            wal,
            last_flush_ms: AtomicI64::new(now_ms),
        })
    }

    /// Validates, stores and logs `samples`; returns once they are durable.
    pub fn append(
        &self,
        samples: &[(Labels, i64, f64)],
        config: &SeriesStoreConfig,
        now_ms: i64,
    ) -> Result<AppendStats> {
        let mut stats = AppendStats::new(&self.name, config.max_active_series);
        let floor = now_ms.saturating_sub(config.retention_ms);
        let rules = AddRules {
            ooo_window_ms: config.ooo_window_ms,
        };
        let limit = config.max_active_series;
        let mut rb = RecordBuilder::default();
        let mut framed = Vec::new();
        let seq = {
            let mut head = self.head.write();
            // All series lookups first: they are independent, so their cache misses (one per
            // sample in a large series table) overlap instead of waiting one by one between
            // the dependent steps of storing each sample.
            let mut touched = 0u8;
            let known: Vec<Option<u32>> = samples
                .iter()
                .map(|s| {
                    let id = head.id(&s.0);
                    touched ^= id.map_or(0, |id| head.warm(id));
                    id
                })
                .collect();
            std::hint::black_box(touched);
            for ((labels, t, v), known) in samples.iter().zip(known) {
                if *t < floor {
                    stats.reject(Rejection::TooOld);
                    continue;
                }
                // A series created earlier in this batch was not known during the lookups.
                let id = match known.or_else(|| head.id(labels)) {
                    Some(id) => id,
                    None if head.active_series() >= limit => {
                        stats.reject(Rejection::SeriesLimit);
                        continue;
                    }
                    None => {
                        stats.new_series += 1;
                        head.intern(labels)
                    }
                };
                if !head.series(id).active && head.active_series() >= limit {
                    stats.reject(Rejection::SeriesLimit);
                    continue;
                }
                match head.add(id, *t, *v, rules) {
                    Ok(Added::Stored) => {
                        head.activate(id, usize::MAX);
                        let s = head.series_mut(id);
                        if !s.wal_known {
                            s.wal_known = true;
                            rb.series(id, &s.labels);
                        }
                        rb.sample(id, *t, *v);
                        stats.accepted += 1;
                    }
                    Ok(Added::Unchanged) => stats.accepted += 1,
                    Err(r) => stats.reject(r),
                }
            }
            if rb.is_empty() {
                return Ok(stats);
            }
            rb.finish_into(&mut framed);
            self.wal.write(&framed)?
        };
        self.wal.sync(seq)?;
        Ok(stats)
    }

    /// Writes the head to a new block, empties it and starts a new WAL segment.
    pub fn flush(&self, now_ms: i64) -> Result<()> {
        let mut head = self.head.write();
        self.last_flush_ms.store(now_ms, Ordering::Relaxed);
        if head.samples() == 0 {
            return Ok(());
        }
        let contents = head.block_contents();
        let seq = {
            let blocks = self.blocks.read();
            blocks
                .iter()
                .filter_map(|b| block_seq(b.path()))
                .max()
                .unwrap_or(0)
                + 1
        };
        let path = self.blocks_dir.join(format!("{seq:08}.blk"));
        let block = Block::write(&path, &contents)?;
        self.blocks.write().push(Arc::new(block));
        head.clear();
        self.wal.rotate(&[])?;
        head.forget_wal();
        Ok(())
    }

    /// Flushes when the head is older than the configured span or too large.
    pub fn flush_if_due(&self, config: &SeriesStoreConfig, now_ms: i64) -> Result<bool> {
        let since = now_ms.saturating_sub(self.last_flush_ms.load(Ordering::Relaxed));
        let big = self.head.read().samples() >= config.max_head_samples;
        if since >= config.head_flush_ms || big {
            self.flush(now_ms)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Deletes blocks whose newest sample is older than `floor_ms`.
    pub fn drop_blocks_before(&self, floor_ms: i64) -> Result<usize> {
        let mut blocks = self.blocks.write();
        let (old, keep): (Vec<_>, Vec<_>) = blocks.drain(..).partition(|b| b.max_t < floor_ms);
        *blocks = keep;
        for b in &old {
            fs::remove_file(b.path()).map_err(|e| Error::io(b.path(), e))?;
        }
        Ok(old.len())
    }
}

fn load_blocks(dir: &Path, head: &mut Head) -> Result<Vec<Arc<Block>>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().is_some_and(|x| x == "tmp") {
            // A flush that did not finish; its samples are still in the WAL.
            fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        } else if let Some(seq) = block_seq(&path) {
            paths.push((seq, path));
        }
    }
    paths.sort();
    let mut blocks = Vec::with_capacity(paths.len());
    for (_, path) in paths {
        let block = Block::open(&path, |labels, lo, hi| {
            let id = head.intern(&labels);
            head.note_block(id, lo, hi);
            id
        })?;
        blocks.push(Arc::new(block));
    }
    Ok(blocks)
}
