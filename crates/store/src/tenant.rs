//! Per-tenant state: the head, heads being flushed, and blocks, behind one lock that writers hold
//! only to push or swap pointers.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use parking_lot::RwLock;

use crate::block::Block;
use crate::error::{Result, StoreError};
use crate::head::Head;

/// The tenant used when a request names none (Tempo's default).
pub const DEFAULT_TENANT: &str = "single-tenant";

/// Checks that a tenant id is safe to use as a directory name.
pub fn validate_tenant(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 150
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && !id.bytes().all(|b| b == b'.');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidTenant(id.to_owned()))
    }
}

/// A head taken out of service and being written to a block; still served to queries.
#[derive(Debug)]
pub struct FrozenHead {
    pub batches: Vec<Arc<RecordBatch>>,
    pub spans: usize,
    pub bytes: usize,
}

/// What a query sees of a tenant at one instant.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub head: Vec<Arc<RecordBatch>>,
    pub blocks: Vec<Arc<Block>>,
}

#[derive(Debug, Default)]
pub(crate) struct View {
    pub head: Head,
    pub flushing: Vec<Arc<FrozenHead>>,
    pub blocks: Vec<Arc<Block>>,
}

#[derive(Debug)]
pub struct Tenant {
    pub name: String,
    pub dir: PathBuf,
    pub(crate) view: RwLock<View>,
    /// Held by whatever replaces or deletes blocks (compaction, retention, repricing), so two
    /// of them never rewrite the same block.
    pub(crate) rewrite: parking_lot::Mutex<()>,
    /// The WAL segment below which every record of this tenant is in a block.
    cut: AtomicU64,
}

impl Tenant {
    pub(crate) fn new(name: &str, tenants_dir: &Path) -> Self {
        Self {
            name: name.to_owned(),
            dir: tenants_dir.join(name),
            view: RwLock::new(View::default()),
            rewrite: parking_lot::Mutex::new(()),
            cut: AtomicU64::new(0),
        }
    }

    pub fn blocks_dir(&self) -> PathBuf {
        self.dir.join("blocks")
    }

    pub fn snapshot(&self) -> Snapshot {
        let v = self.view.read();
        let mut head: Vec<Arc<RecordBatch>> = v.head.batches().to_vec();
        for f in &v.flushing {
            head.extend(f.batches.iter().cloned());
        }
        Snapshot {
            head,
            blocks: v.blocks.clone(),
        }
    }

    /// Takes the head out of service if it has data; returns it, now served from `flushing`.
    pub(crate) fn freeze(&self) -> Option<Arc<FrozenHead>> {
        let mut v = self.view.write();
        if v.head.is_empty() {
            return None;
        }
        let head = std::mem::take(&mut v.head);
        let frozen = Arc::new(FrozenHead {
            spans: head.spans(),
            bytes: head.bytes(),
            batches: head.batches().to_vec(),
        });
        v.flushing.push(frozen.clone());
        Some(frozen)
    }

    /// The WAL segment below which every record of this tenant is in a block.
    pub(crate) fn wal_cut(&self) -> u64 {
        self.cut.load(Ordering::Acquire)
    }

    fn wal_cut_file(&self) -> u64 {
        fs::read_to_string(self.dir.join("wal.cut"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    pub(crate) fn set_wal_cut(&self, cut: u64) -> Result<()> {
        let tmp = self.dir.join("wal.cut.tmp");
        let path = self.dir.join("wal.cut");
        fs::write(&tmp, cut.to_string())
            .and_then(|()| fs::File::open(&tmp)?.sync_all())
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(StoreError::io(&path))?;
        crate::wal::sync_dir(&self.dir)?;
        self.cut.fetch_max(cut, Ordering::AcqRel);
        Ok(())
    }

    /// Moves a damaged block directory out of `blocks/` into `quarantine/`.
    fn quarantine(&self, path: &Path, name: &str) -> Result<()> {
        let dir = self.dir.join("quarantine");
        fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        let to = dir.join(name);
        tracing::error!(tenant = %self.name, from = %path.display(), to = %to.display(),
            "block without meta.json moved to quarantine");
        fs::rename(path, &to).map_err(StoreError::io(path))
    }

    /// Loads the tenant's complete blocks, removing leftovers of interrupted flushes and
    /// compactions.
    pub(crate) fn load_blocks(&self) -> Result<()> {
        let dir = self.blocks_dir();
        fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        let mut blocks = Vec::new();
        for entry in fs::read_dir(&dir).map_err(StoreError::io(&dir))? {
            let path = entry.map_err(StoreError::io(&dir))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with(".tmp-") {
                fs::remove_dir_all(&path).map_err(StoreError::io(&path))?;
                continue;
            }
            if !path.join(crate::block::META_FILE).exists() {
                // Only a delete interrupted before blocks were deleted by rename leaves this;
                // keep the files for inspection but out of the store.
                self.quarantine(&path, &name)?;
                continue;
            }
            blocks.push(Arc::new(Block::open(&path)?));
        }
        // A compaction that stopped after writing its output but before deleting its inputs.
        let replaced: std::collections::HashSet<String> = blocks
            .iter()
            .flat_map(|b| b.meta.sources.iter().cloned())
            .collect();
        for b in blocks.iter().filter(|b| replaced.contains(&b.meta.id)) {
            b.delete()?;
        }
        blocks.retain(|b| !replaced.contains(&b.meta.id));
        blocks.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
        let cut = blocks.iter().map(|b| b.meta.wal_cut).max().unwrap_or(0);
        self.cut
            .store(cut.max(self.wal_cut_file()), Ordering::Release);
        self.view.write().blocks = blocks;
        Ok(())
    }
}
