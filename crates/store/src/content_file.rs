//! A block's content store on disk (`content.bin`): the bytes `crate::dedup::Encoder` stored,
//! in independently zstd-compressed frames of [`FRAME`] bytes, so a read decompresses only
//! the frames it touches. The file ends with the end offset of every frame (u64 LE), the
//! frame count (u64 LE), the frame size (u32 LE) and the magic `SXC1`.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Result, StoreError};

pub const CONTENT_FILE: &str = "content.bin";
/// Uncompressed bytes per frame: small enough that a trace lookup decompresses little, large
/// enough for zstd to find the text's own repetitions.
const FRAME: usize = 32 << 10;
const MAGIC: &[u8; 4] = b"SXC1";
const TRAILER: usize = 8 + 4 + 4;
/// Decompressed frames one reader keeps (a scan of a block touches frames in any order).
const READER_CACHE_BYTES: usize = 64 << 20;

/// Writes `content.bin` as store bytes arrive.
pub struct ContentWriter {
    path: PathBuf,
    out: BufWriter<File>,
    pending: Vec<u8>,
    ends: Vec<u64>,
    written: u64,
}

impl ContentWriter {
    pub fn create(dir: &Path) -> Result<Self> {
        let path = dir.join(CONTENT_FILE);
        let file = File::create(&path).map_err(StoreError::io(&path))?;
        Ok(Self {
            out: BufWriter::new(file),
            path,
            pending: Vec::with_capacity(FRAME),
            ends: Vec::new(),
            written: 0,
        })
    }

    /// Appends store bytes, writing every frame they complete.
    pub fn append(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let take = (FRAME - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == FRAME {
                self.write_frame()?;
            }
        }
        Ok(())
    }

    fn write_frame(&mut self) -> Result<()> {
        let z = zstd::bulk::compress(&self.pending, 3).map_err(StoreError::io(&self.path))?;
        self.out.write_all(&z).map_err(StoreError::io(&self.path))?;
        self.written += z.len() as u64;
        self.ends.push(self.written);
        self.pending.clear();
        Ok(())
    }

    /// Writes the last frame and the index, and syncs the file.
    pub fn finish(mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.write_frame()?;
        }
        let mut tail = Vec::with_capacity(self.ends.len() * 8 + TRAILER);
        for e in &self.ends {
            tail.extend_from_slice(&e.to_le_bytes());
        }
        tail.extend_from_slice(&(self.ends.len() as u64).to_le_bytes());
        tail.extend_from_slice(&(FRAME as u32).to_le_bytes());
        tail.extend_from_slice(MAGIC);
        let io = StoreError::io(&self.path);
        self.out
            .write_all(&tail)
            .map_err(StoreError::io(&self.path))?;
        let file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(StoreError::io(&self.path))
    }
}

/// An open `content.bin`: its frame index, read when the block opens.
#[derive(Debug)]
pub struct ContentFile {
    path: PathBuf,
    file: Arc<File>,
    ends: Vec<u64>,
    frame: usize,
}

impl ContentFile {
    pub fn open(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(CONTENT_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&path)(e)),
        };
        let len = file.metadata().map_err(StoreError::io(&path))?.len();
        let corrupt = |reason: &str| StoreError::Content {
            path: path.clone(),
            reason: reason.to_owned(),
        };
        let mut trailer = [0u8; TRAILER];
        if len < TRAILER as u64 {
            return Err(corrupt("shorter than its trailer"));
        }
        file.read_exact_at(&mut trailer, len - TRAILER as u64)
            .map_err(StoreError::io(&path))?;
        let word = |r: std::ops::Range<usize>| {
            trailer[r]
                .iter()
                .rev()
                .fold(0u64, |a, b| a << 8 | *b as u64)
        };
        let (count, frame) = (word(0..8), word(8..12) as usize);
        if &trailer[12..] != MAGIC || frame == 0 {
            return Err(corrupt("bad trailer"));
        }
        let index_len = count.checked_mul(8).filter(|n| n + (TRAILER as u64) <= len);
        let index_len = index_len.ok_or_else(|| corrupt("frame count past the file"))?;
        let mut index = vec![0u8; index_len as usize];
        file.read_exact_at(&mut index, len - TRAILER as u64 - index_len)
            .map_err(StoreError::io(&path))?;
        let ends: Vec<u64> = index
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        if ends.windows(2).any(|w| w[0] > w[1]) || ends.last().is_some_and(|e| *e > len) {
            return Err(corrupt("frame index out of order"));
        }
        Ok(Some(Self {
            path,
            file: Arc::new(file),
            ends,
            frame,
        }))
    }

    /// A reader with its own cache of decompressed frames, for one query or scan.
    pub fn reader(self: &Arc<Self>) -> ContentReader {
        ContentReader {
            content: self.clone(),
            cache: HashMap::new(),
            order: VecDeque::new(),
            cached: 0,
        }
    }

    fn corrupt(&self, reason: String) -> StoreError {
        StoreError::Content {
            path: self.path.clone(),
            reason,
        }
    }

    fn load(&self, i: usize) -> Result<Arc<[u8]>> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends[i];
        let mut z = vec![0u8; (end - start) as usize];
        self.file
            .read_exact_at(&mut z, start)
            .map_err(StoreError::io(&self.path))?;
        let raw = zstd::bulk::decompress(&z, self.frame)
            .map_err(|e| self.corrupt(format!("frame {i}: {e}")))?;
        if raw.len() != self.frame && i + 1 != self.ends.len() {
            return Err(self.corrupt(format!("frame {i} holds {} bytes", raw.len())));
        }
        Ok(raw.into())
    }
}

/// Reads store ranges, decompressing each frame once while it stays in the cache.
pub struct ContentReader {
    content: Arc<ContentFile>,
    cache: HashMap<usize, Arc<[u8]>>,
    order: VecDeque<usize>,
    cached: usize,
}

impl ContentReader {
    /// The error for a damaged store or recipe.
    pub fn corrupt(&self, reason: String) -> StoreError {
        self.content.corrupt(reason)
    }

    /// Appends store bytes `[off, off + len)` to `out`.
    pub fn read(&mut self, off: u64, len: u64, out: &mut Vec<u8>) -> Result<()> {
        let frame = self.content.frame as u64;
        let end = off
            .checked_add(len)
            .ok_or_else(|| self.content.corrupt("range overflows".into()))?;
        let mut at = off;
        while at < end {
            let i = (at / frame) as usize;
            let data = self.frame(i)?;
            let from = (at % frame) as usize;
            let to = ((end - i as u64 * frame) as usize).min(data.len());
            if to <= from {
                return Err(self
                    .content
                    .corrupt(format!("range {off}+{len} past the store")));
            }
            out.extend_from_slice(&data[from..to]);
            at = i as u64 * frame + to as u64;
        }
        Ok(())
    }

    fn frame(&mut self, i: usize) -> Result<Arc<[u8]>> {
        if let Some(f) = self.cache.get(&i) {
            return Ok(f.clone());
        }
        if i >= self.content.ends.len() {
            return Err(self.content.corrupt(format!("frame {i} past the store")));
        }
        let data = self.content.load(i)?;
        while self.cached + data.len() > READER_CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(d) = self.cache.remove(&old) {
                self.cached -= d.len();
            }
        }
        self.cached += data.len();
        self.order.push_back(i);
        self.cache.insert(i, data.clone());
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_back_across_frames() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data: Vec<u8> = (0..FRAME * 3 + 100).map(|i| (i * 31 % 251) as u8).collect();
        let mut w = ContentWriter::create(dir.path()).expect("create");
        w.append(&data[..FRAME + 7]).expect("append");
        w.append(&data[FRAME + 7..]).expect("append");
        w.finish().expect("finish");
        let file = ContentFile::open(dir.path())
            .expect("open")
            .expect("present");
        let mut r = Arc::new(file).reader();
        for (off, len) in [
            (0, 10),
            (FRAME - 5, 10),
            (FRAME * 2 - 1, FRAME + 2),
            (FRAME * 3 + 90, 10),
        ] {
            let mut out = Vec::new();
            r.read(off as u64, len as u64, &mut out).expect("read");
            assert_eq!(out, &data[off..off + len]);
        }
        let mut out = Vec::new();
        assert!(
            r.read((FRAME * 3 + 95) as u64, 10, &mut out).is_err(),
            "past the end"
        );
    }

    #[test]
    fn a_damaged_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(
            ContentFile::open(dir.path())
                .expect("absent is fine")
                .is_none()
        );
        std::fs::write(dir.path().join(CONTENT_FILE), b"not a content store").expect("write");
        assert!(ContentFile::open(dir.path()).is_err());
    }
}
