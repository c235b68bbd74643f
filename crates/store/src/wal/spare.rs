//! Spare segment files. A segment whose records are all in flushed blocks is renamed to
//! `<seq>.spare` instead of being deleted (a few, while they fit a byte budget), and the next
//! new segment is written over it: records written inside a file's existing length change no
//! metadata, so their fsync does not wait for a journal commit (PostgreSQL and RocksDB's
//! `recycle_log_file_num` do the same).
//!
//! A spare never holds acknowledged data that is not in a block, so a crash at any point loses
//! nothing: a spare that was not yet renamed stays a spare (replay ignores it), and one renamed
//! to a segment but not yet rewritten holds only records of an older segment number, which fail
//! the version 3 checksum. Only version 3 segments become spares, for the same reason.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use super::MAGIC;
use crate::error::{Result, StoreError};

/// Most spare files kept.
const MAX_SPARES: usize = 4;
/// Most bytes the spare files take together.
pub(super) const MAX_SPARE_BYTES: u64 = 256 << 20;

/// One spare file.
#[derive(Debug)]
pub(super) struct Spare {
    /// The number of the segment it was.
    pub seq: u64,
    pub path: PathBuf,
    pub len: u64,
}

fn spare_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016}.spare"))
}

/// The spare files in `dir`, largest first.
pub(super) fn list(dir: &Path) -> Result<Vec<Spare>> {
    let mut spares = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(spares),
        Err(e) => return Err(StoreError::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(StoreError::io(dir))?;
        let name = entry.file_name();
        let Some(seq) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".spare"))
            .and_then(|s| s.parse().ok())
        else {
            continue;
        };
        let path = entry.path();
        let len = match entry.metadata() {
            Ok(m) => m.len(),
            // Taken by the writer since the listing.
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&path)(e)),
        };
        spares.push(Spare { seq, path, len });
    }
    spares.sort_unstable_by(|a, b| b.len.cmp(&a.len).then(a.seq.cmp(&b.seq)));
    Ok(spares)
}

/// Room left for spare files.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    files: usize,
    bytes: u64,
}

impl Budget {
    /// What the spares already in `dir` leave.
    pub fn of(dir: &Path) -> Result<Self> {
        let spares = list(dir)?;
        let used: u64 = spares.iter().map(|s| s.len).sum();
        Ok(Self {
            files: MAX_SPARES.saturating_sub(spares.len()),
            bytes: MAX_SPARE_BYTES.saturating_sub(used),
        })
    }

    fn take(&mut self, len: u64) -> bool {
        if self.files == 0 || len > self.bytes {
            return false;
        }
        self.files -= 1;
        self.bytes -= len;
        true
    }
}

/// Makes segment `seq` at `path` a spare if the budget has room and it is of version 3,
/// otherwise deletes it.
pub(super) fn retire(dir: &Path, seq: u64, path: &Path, budget: &mut Budget) -> Result<()> {
    let mut file = File::open(path).map_err(StoreError::io(path))?;
    let len = file.metadata().map_err(StoreError::io(path))?.len();
    let mut magic = [0u8; 8];
    let current = file.read_exact(&mut magic).is_ok() && magic == MAGIC;
    if current && budget.take(len) {
        let to = spare_path(dir, seq);
        // No directory fsync: after a crash either name is harmless, as the segment's data is
        // in blocks and replay skips it.
        return fs::rename(path, &to).map_err(StoreError::io(to));
    }
    fs::remove_file(path).map_err(StoreError::io(path))
}

/// Renames a spare to `path` (segment `seq`) and opens it for writing, without truncating it;
/// `None` when there is no spare. Spares of a number not below `seq` are deleted instead: a
/// segment's checksums only reject records of other numbers.
pub(super) fn take(dir: &Path, seq: u64, path: &Path) -> Result<Option<File>> {
    for spare in list(dir)? {
        if spare.seq >= seq {
            fs::remove_file(&spare.path).map_err(StoreError::io(&spare.path))?;
            continue;
        }
        match fs::rename(&spare.path, path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&spare.path)(e)),
        }
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(StoreError::io(path))?;
        return Ok(Some(file));
    }
    Ok(None)
}
