//! A block's content store on disk (`content.bin`): the bytes `crate::dedup::Encoder` stored,
//! in independently zstd-compressed frames of [`FRAME`] bytes, so a read decompresses only
//! the frames it touches. Small frames compress poorly on their own, so the writer first
//! trains a zstd dictionary on the store's first [`DICT_SAMPLE`] bytes (the words and
//! phrases of the text) and compresses every frame with it: on prose this stores about a fifth
//! less than frames without one.
//!
//! Layout: the dictionary (may be empty), the frames, then the end offset of every frame (u64
//! LE), the frame count (u64 LE), the frame size (u32 LE), the dictionary length (u64 LE) and
//! the magic `SXC2`.

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
const MAGIC: &[u8; 4] = b"SXC2";
const TRAILER: usize = 8 + 4 + 8 + 4;
/// Store bytes held back to train the dictionary on; a smaller store trains on all of it...
const DICT_SAMPLE: usize = 8 << 20;
/// ...unless it is smaller than this, when a dictionary would cost more than it saves.
const MIN_DICT_SAMPLE: usize = 256 << 10;
const MAX_DICT: usize = 110 << 10;
const LEVEL: i32 = 3;
/// Decompressed frames one reader keeps (a scan of a block touches frames in any order).
const READER_CACHE_BYTES: usize = 64 << 20;

/// Writes `content.bin` as store bytes arrive.
pub struct ContentWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes held back until the dictionary is trained (`None` once it is).
    sample: Option<Vec<u8>>,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    dict_len: u64,
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
            sample: Some(Vec::new()),
            compressor: None,
            dict_len: 0,
            pending: Vec::with_capacity(FRAME),
            ends: Vec::new(),
            written: 0,
        })
    }

    /// Appends store bytes, writing every frame they complete.
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(sample) = self.sample.as_mut() else {
            return self.frames(bytes);
        };
        sample.extend_from_slice(bytes);
        if sample.len() >= DICT_SAMPLE {
            self.start()?;
        }
        Ok(())
    }

    /// Trains the dictionary on the held-back bytes, writes it, then their frames.
    fn start(&mut self) -> Result<()> {
        let sample = self.sample.take().unwrap_or_default();
        let dict = if sample.len() >= MIN_DICT_SAMPLE {
            let sizes: Vec<usize> = sample.chunks(FRAME).map(<[u8]>::len).collect();
            // A store the trainer finds nothing in (too uniform, say) goes without one.
            zstd::dict::from_continuous(&sample, &sizes, MAX_DICT).unwrap_or_default()
        } else {
            Vec::new()
        };
        let compressor = zstd::bulk::Compressor::with_dictionary(LEVEL, &dict)
            .map_err(StoreError::io(&self.path))?;
        self.compressor = Some(compressor);
        self.out
            .write_all(&dict)
            .map_err(StoreError::io(&self.path))?;
        self.dict_len = dict.len() as u64;
        self.written = self.dict_len;
        self.frames(&sample)
    }

    fn frames(&mut self, mut bytes: &[u8]) -> Result<()> {
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
        let Some(compressor) = self.compressor.as_mut() else {
            return Err(StoreError::Content {
                path: self.path.clone(),
                reason: "frame written before the dictionary".into(),
            });
        };
        let z = compressor
            .compress(&self.pending)
            .map_err(StoreError::io(&self.path))?;
        self.out.write_all(&z).map_err(StoreError::io(&self.path))?;
        self.written += z.len() as u64;
        self.ends.push(self.written);
        self.pending.clear();
        Ok(())
    }

    /// Writes the last frame and the index, and syncs the file.
    pub fn finish(mut self) -> Result<()> {
        if self.sample.is_some() {
            self.start()?;
        }
        if !self.pending.is_empty() {
            self.write_frame()?;
        }
        let mut tail = Vec::with_capacity(self.ends.len() * 8 + TRAILER);
        for e in &self.ends {
            tail.extend_from_slice(&e.to_le_bytes());
        }
        tail.extend_from_slice(&(self.ends.len() as u64).to_le_bytes());
        tail.extend_from_slice(&(FRAME as u32).to_le_bytes());
        tail.extend_from_slice(&self.dict_len.to_le_bytes());
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
    dict: Vec<u8>,
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
        let (count, frame, dict_len) = (word(0..8), word(8..12) as usize, word(12..20));
        if &trailer[20..] != MAGIC || frame == 0 {
            return Err(corrupt("bad trailer"));
        }
        let index_len = count.checked_mul(8).filter(|n| {
            n.checked_add(TRAILER as u64 + dict_len)
                .is_some_and(|total| total <= len)
        });
        let index_len = index_len.ok_or_else(|| corrupt("frame count past the file"))?;
        let mut dict = vec![0u8; dict_len as usize];
        file.read_exact_at(&mut dict, 0)
            .map_err(StoreError::io(&path))?;
        let mut index = vec![0u8; index_len as usize];
        file.read_exact_at(&mut index, len - TRAILER as u64 - index_len)
            .map_err(StoreError::io(&path))?;
        let ends: Vec<u64> = index
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        let out_of_order = ends.first().is_some_and(|e| *e < dict_len)
            || ends.windows(2).any(|w| w[0] > w[1])
            || ends.last().is_some_and(|e| *e > len);
        if out_of_order {
            return Err(corrupt("frame index out of order"));
        }
        Ok(Some(Self {
            path,
            file: Arc::new(file),
            dict,
            ends,
            frame,
        }))
    }

    /// A reader with its own cache of decompressed frames, for one query or scan.
    pub fn reader(self: &Arc<Self>) -> ContentReader {
        ContentReader {
            content: self.clone(),
            decompressor: None,
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

    /// The compressed bytes of frame `i`.
    fn compressed(&self, i: usize) -> Result<Vec<u8>> {
        let dict_len = self.dict.len() as u64;
        let start = if i == 0 { dict_len } else { self.ends[i - 1] };
        let mut z = vec![0u8; (self.ends[i] - start) as usize];
        self.file
            .read_exact_at(&mut z, start)
            .map_err(StoreError::io(&self.path))?;
        Ok(z)
    }
}

/// Reads store ranges, decompressing each frame once while it stays in the cache.
pub struct ContentReader {
    content: Arc<ContentFile>,
    /// Made with the dictionary on the first frame read.
    decompressor: Option<zstd::bulk::Decompressor<'static>>,
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

    fn load(&mut self, i: usize) -> Result<Arc<[u8]>> {
        let content = &self.content;
        let z = content.compressed(i)?;
        let dec = match self.decompressor.as_mut() {
            Some(d) => d,
            None => self.decompressor.insert(
                zstd::bulk::Decompressor::with_dictionary(&content.dict)
                    .map_err(|e| content.corrupt(format!("dictionary: {e}")))?,
            ),
        };
        let raw = dec
            .decompress(&z, content.frame)
            .map_err(|e| content.corrupt(format!("frame {i}: {e}")))?;
        if raw.len() != content.frame && i + 1 != content.ends.len() {
            return Err(content.corrupt(format!("frame {i} holds {} bytes", raw.len())));
        }
        Ok(raw.into())
    }

    fn frame(&mut self, i: usize) -> Result<Arc<[u8]>> {
        if let Some(f) = self.cache.get(&i) {
            return Ok(f.clone());
        }
        if i >= self.content.ends.len() {
            return Err(self.content.corrupt(format!("frame {i} past the store")));
        }
        let data = self.load(i)?;
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

    /// Writes `data` in two appends and reads ranges of it back, across frame boundaries.
    fn write_and_read_back(data: &[u8]) -> Arc<ContentFile> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = ContentWriter::create(dir.path()).expect("create");
        w.append(&data[..FRAME + 7]).expect("append");
        w.append(&data[FRAME + 7..]).expect("append");
        w.finish().expect("finish");
        let file = ContentFile::open(dir.path())
            .expect("open")
            .expect("present");
        let file = Arc::new(file);
        let mut r = file.reader();
        let n = data.len();
        for (off, len) in [
            (0, 10),
            (FRAME - 5, 10),
            (FRAME * 2 - 1, FRAME + 2),
            (n - 10, 10),
        ] {
            let mut out = Vec::new();
            r.read(off as u64, len as u64, &mut out).expect("read");
            assert_eq!(out, &data[off..off + len]);
        }
        let mut out = Vec::new();
        assert!(r.read(n as u64 - 5, 10, &mut out).is_err(), "past the end");
        file
    }

    #[test]
    fn ranges_read_back_across_frames() {
        let data: Vec<u8> = (0..FRAME * 3 + 100).map(|i| (i * 31 % 251) as u8).collect();
        let file = write_and_read_back(&data);
        assert!(file.dict.is_empty(), "too little to train a dictionary on");
    }

    #[test]
    fn a_dictionary_is_trained_on_a_larger_store_and_used_to_read_it() {
        let words: Vec<String> = (0..500)
            .map(|i| format!("w{}x{}", i * 7919 % 503, i % 7))
            .collect();
        let text: Vec<u8> = (0..120_000usize)
            .flat_map(|i| format!("{} ", words[(i * 2_654_435_761) % words.len()]).into_bytes())
            .collect();
        let file = write_and_read_back(&text);
        assert!(!file.dict.is_empty());
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
