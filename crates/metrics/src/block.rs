//! Immutable block files: the compressed samples of one flushed head.
//!
//! Layout: `"SXMB" 1 | n | series* | crc32(all before)`, each series being `labels | min_t |
//! max_t | len | chunks` with `chunks = n | (count, bytes)*` Gorilla chunks. Opening a block
//! reads its index (labels and chunk offsets) into memory; queries read only the chunk bytes of
//! the series they select, with positioned reads.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sextant_promql::Labels;

use crate::codec::{Reader, put_bytes, put_labels, put_uvarint};
use crate::error::{Error, Result};
use crate::gorilla::{CHUNK_SAMPLES, Chunk, decode_into, keep_range};
use crate::head::SeriesSamples;

const MAGIC: &[u8; 5] = b"SXMB\x01";

/// Where one series' chunks sit in a block.
#[derive(Debug, Clone, Copy)]
struct Extent {
    offset: u64,
    len: u32,
    min_t: i64,
    max_t: i64,
}

/// An open block: its time range and index.
#[derive(Debug)]
pub struct Block {
    path: PathBuf,
    file: File,
    /// Smallest timestamp in the block.
    pub min_t: i64,
    /// Largest timestamp in the block.
    pub max_t: i64,
    series: HashMap<u32, Extent, ahash::RandomState>,
}

/// Encodes one series' samples (sorted, distinct timestamps) as a chunk list.
fn encode_chunks(samples: &[(i64, f64)], out: &mut Vec<u8>) {
    let chunks = samples.chunks(usize::from(CHUNK_SAMPLES));
    put_uvarint(out, chunks.len() as u64);
    for part in chunks {
        let mut c = Chunk::default();
        for &(t, v) in part {
            c.push(t, v);
        }
        put_uvarint(out, u64::from(c.len()));
        put_bytes(out, c.bytes());
    }
}

impl Block {
    /// Writes a block of `(id, labels, samples)` atomically (temp file, fsync, rename) and opens
    /// it. Samples must be sorted by timestamp without duplicates; empty series are skipped.
    pub fn write(path: &Path, series: &[SeriesSamples]) -> Result<Block> {
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(MAGIC);
        let live: Vec<_> = series.iter().filter(|s| !s.2.is_empty()).collect();
        put_uvarint(&mut buf, live.len() as u64);
        let mut chunk_buf = Vec::new();
        for (_, labels, samples) in &live {
            put_labels(&mut buf, labels);
            let (first, last) = (samples[0].0, samples[samples.len() - 1].0);
            buf.extend_from_slice(&first.to_le_bytes());
            buf.extend_from_slice(&last.to_le_bytes());
            chunk_buf.clear();
            encode_chunks(samples, &mut chunk_buf);
            put_bytes(&mut buf, &chunk_buf);
        }
        let crc = crc32fast::hash(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        let tmp = path.with_extension("tmp");
        let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(&buf)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        if let Some(dir) = path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::io(dir, e))?;
        }
        let mut ids = live.iter().map(|s| s.0);
        Block::parse(path, &buf, |_, _, _| ids.next().unwrap_or(u32::MAX))
    }

    /// Opens a block; `intern(labels, min_t, max_t)` returns the series id for each series.
    pub fn open(path: &Path, intern: impl FnMut(Labels, i64, i64) -> u32) -> Result<Block> {
        let buf = fs::read(path).map_err(|e| Error::io(path, e))?;
        Block::parse(path, &buf, intern)
    }

    fn parse(
        path: &Path,
        buf: &[u8],
        mut intern: impl FnMut(Labels, i64, i64) -> u32,
    ) -> Result<Block> {
        let corrupt = |reason| Error::CorruptBlock {
            path: path.to_owned(),
            reason,
        };
        let body_len = buf
            .len()
            .checked_sub(4)
            .ok_or_else(|| corrupt("too short"))?;
        let (body, crc) = buf.split_at(body_len);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(corrupt("checksum mismatch"));
        }
        if !body.starts_with(MAGIC) {
            return Err(corrupt("bad magic"));
        }
        let mut r = Reader::new(body);
        r.take(MAGIC.len());
        let n = r.uvarint().ok_or_else(|| corrupt("series count"))?;
        let mut series = HashMap::with_capacity_and_hasher(
            usize::try_from(n).unwrap_or(0).min(body.len()),
            ahash::RandomState::new(),
        );
        let (mut min_t, mut max_t) = (i64::MAX, i64::MIN);
        for _ in 0..n {
            let labels = r.labels().ok_or_else(|| corrupt("labels"))?;
            let lo = r.i64().ok_or_else(|| corrupt("min time"))?;
            let hi = r.i64().ok_or_else(|| corrupt("max time"))?;
            let len = r.uvarint().ok_or_else(|| corrupt("chunk length"))?;
            let offset = r.pos() as u64;
            let len32 = u32::try_from(len).map_err(|_| corrupt("chunk length"))?;
            r.take(len32 as usize).ok_or_else(|| corrupt("chunks"))?;
            min_t = min_t.min(lo);
            max_t = max_t.max(hi);
            let id = intern(labels, lo, hi);
            series.insert(
                id,
                Extent {
                    offset,
                    len: len32,
                    min_t: lo,
                    max_t: hi,
                },
            );
        }
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Ok(Block {
            path: path.to_owned(),
            file,
            min_t,
            max_t,
            series,
        })
    }

    /// The block file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the block holds samples of series `id` overlapping `[start, end]`.
    pub fn overlaps(&self, id: u32, start: i64, end: i64) -> bool {
        self.series
            .get(&id)
            .is_some_and(|e| e.max_t >= start && e.min_t <= end)
    }

    /// Appends the samples of series `id` within `[start, end]` to `out`; the chunk bytes are
    /// read into `buf`, which callers reuse across series.
    pub fn read_with(
        &self,
        id: u32,
        start: i64,
        end: i64,
        out: &mut Vec<(i64, f64)>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let Some(e) = self.series.get(&id) else {
            return Ok(());
        };
        if e.max_t < start || e.min_t > end {
            return Ok(());
        }
        buf.clear();
        buf.resize(e.len as usize, 0);
        self.file
            .read_exact_at(buf, e.offset)
            .map_err(|err| Error::io(&self.path, err))?;
        let mut r = Reader::new(buf);
        let corrupt = || Error::CorruptBlock {
            path: self.path.clone(),
            reason: "chunk data",
        };
        let n = r.uvarint().ok_or_else(corrupt)?;
        // Chunk headers first, so the output grows once instead of doubling chunk by chunk.
        let mut chunks = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(buf.len()));
        for _ in 0..n {
            let count = u16::try_from(r.uvarint().ok_or_else(corrupt)?).map_err(|_| corrupt())?;
            chunks.push((count, r.bytes().ok_or_else(corrupt)?));
        }
        out.reserve(chunks.iter().map(|c| usize::from(c.0)).sum());
        let first = out.len();
        for (count, bytes) in chunks {
            decode_into(bytes, count, out);
        }
        if e.min_t < start || e.max_t > end {
            keep_range(out, first, start, end);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_open_read_roundtrip() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let path = dir.path().join("1.blk");
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        let sa: Vec<(i64, f64)> = (0..300).map(|i| (i * 15_000, i as f64)).collect();
        let series = vec![(7, a.clone(), sa.clone()), (9, b.clone(), vec![(5, 1.5)])];
        let written = Block::write(&path, &series)?;
        let mut out = Vec::new();
        written.read_with(7, 15_000, 30_000, &mut out, &mut Vec::new())?;
        assert_eq!(out, vec![(15_000, 1.0), (30_000, 2.0)]);
        let mut seen = Vec::new();
        let opened = Block::open(&path, |l, lo, hi| {
            seen.push((l, lo, hi));
            seen.len() as u32
        })?;
        assert_eq!(seen, vec![(a, 0, 299 * 15_000), (b, 5, 5)]);
        let mut all = Vec::new();
        opened.read_with(1, i64::MIN, i64::MAX, &mut all, &mut Vec::new())?;
        assert_eq!(all, sa);
        assert_eq!((opened.min_t, opened.max_t), (0, 299 * 15_000));
        Ok(())
    }

    #[test]
    fn corruption_is_detected() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let path = dir.path().join("1.blk");
        Block::write(
            &path,
            &[(1, Labels::from_pairs(&[("a", "b")]), vec![(1, 1.0)])],
        )?;
        let mut bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        bytes[8] ^= 0xff;
        fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
        assert!(matches!(
            Block::open(&path, |_, _, _| 0),
            Err(Error::CorruptBlock { .. })
        ));
        Ok(())
    }
}
