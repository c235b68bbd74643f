//! The write-ahead log of one tenant's samples: numbered segment files of CRC-framed records,
//! appended with group commit (concurrent appenders share one `fsync`).
//!
//! Frame: `u32 len | u32 crc32(payload) | payload`. A torn or corrupt frame ends its segment:
//! replay truncates the segment there and goes on with the next one.
//!
//! Payloads (see [`Record`]): `1 | n | (ref, labels)*` declares series refs, `2 | n | base_t |
//! (ref, zigzag(t - base_t), value bits)*` carries samples. A ref means the series declared
//! last under it, so refs may be reused after a restart once re-declared.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use sextant_promql::Labels;

use crate::codec::{Reader, put_labels, put_uvarint, put_varint};
use crate::error::{Error, Result};

const SERIES: u8 = 1;
const SAMPLES: u8 = 2;
/// Largest payload replay accepts; bigger lengths are garbage from a torn write.
const MAX_PAYLOAD: usize = 256 << 20;

/// One decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Series declarations: `(ref, labels)`.
    Series(Vec<(u32, Labels)>),
    /// Samples: `(ref, t ms, value)`.
    Samples(Vec<(u32, i64, f64)>),
}

/// Builds the payloads of one append without allocating per sample.
#[derive(Debug, Default)]
pub struct RecordBuilder {
    series: Vec<u8>,
    series_n: u64,
    samples: Vec<u8>,
    samples_n: u64,
    base_t: Option<i64>,
}

impl RecordBuilder {
    /// Declares a series ref.
    pub fn series(&mut self, id: u32, labels: &Labels) {
        put_uvarint(&mut self.series, u64::from(id));
        put_labels(&mut self.series, labels);
        self.series_n += 1;
    }

    /// Adds one sample.
    pub fn sample(&mut self, id: u32, t: i64, v: f64) {
        let base = *self.base_t.get_or_insert(t);
        put_uvarint(&mut self.samples, u64::from(id));
        put_varint(&mut self.samples, t.wrapping_sub(base));
        self.samples.extend_from_slice(&v.to_bits().to_le_bytes());
        self.samples_n += 1;
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.series_n == 0 && self.samples_n == 0
    }

    /// The framed records (series first), appended to `out`; the builder is reset.
    pub fn finish_into(&mut self, out: &mut Vec<u8>) {
        let mut head = Vec::with_capacity(16);
        if self.series_n > 0 {
            head.push(SERIES);
            put_uvarint(&mut head, self.series_n);
            frame(out, &head, &self.series);
        }
        if self.samples_n > 0 {
            head.clear();
            head.push(SAMPLES);
            put_uvarint(&mut head, self.samples_n);
            head.extend_from_slice(&self.base_t.unwrap_or(0).to_le_bytes());
            frame(out, &head, &self.samples);
        }
        self.series.clear();
        self.samples.clear();
        self.series_n = 0;
        self.samples_n = 0;
        self.base_t = None;
    }
}

fn frame(out: &mut Vec<u8>, head: &[u8], body: &[u8]) {
    let len = (head.len() + body.len()) as u32;
    let mut h = crc32fast::Hasher::new();
    h.update(head);
    h.update(body);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(head);
    out.extend_from_slice(body);
}

/// Decodes one payload; `None` if it is malformed.
pub fn decode(payload: &[u8]) -> Option<Record> {
    let mut r = Reader::new(payload);
    let kind = *r.take(1)?.first()?;
    let n = usize::try_from(r.uvarint()?).ok()?;
    if n > payload.len() {
        return None;
    }
    match kind {
        SERIES => {
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let id = u32::try_from(r.uvarint()?).ok()?;
                out.push((id, r.labels()?));
            }
            Some(Record::Series(out))
        }
        SAMPLES => {
            let base = r.i64()?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let id = u32::try_from(r.uvarint()?).ok()?;
                let t = base.wrapping_add(r.varint()?);
                out.push((id, t, f64::from_bits(r.u64()?)));
            }
            Some(Record::Samples(out))
        }
        _ => None,
    }
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}.wal"))
}

fn segments(dir: &Path) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    let rd = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".wal")) else {
            continue;
        };
        if let Ok(n) = stem.parse() {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Replays one segment's valid frames into `f`; returns the length of the valid prefix.
fn replay_segment(bytes: &[u8], f: &mut impl FnMut(Record)) -> usize {
    let mut pos = 0;
    while let Some(hdr) = bytes.get(pos..pos + 8) {
        let len = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
        let crc = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        if len > MAX_PAYLOAD {
            break;
        }
        let Some(payload) = bytes.get(pos + 8..pos + 8 + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Some(rec) = decode(payload) else {
            break;
        };
        f(rec);
        pos += 8 + len;
    }
    pos
}

struct Active {
    file: Arc<File>,
    segment: u64,
    written: u64,
}

#[derive(Default)]
struct SyncState {
    synced: u64,
    syncing: bool,
}

/// An open WAL directory.
pub struct Wal {
    dir: PathBuf,
    active: Mutex<Active>,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
}

impl Wal {
    /// Replays every segment of `dir` (created if missing) into `f`, truncating torn tails,
    /// and opens a fresh segment for appends.
    pub fn open(dir: &Path, mut f: impl FnMut(Record)) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let segs = segments(dir)?;
        for &n in &segs {
            let path = segment_path(dir, n);
            let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let valid = replay_segment(&bytes, &mut f);
            if valid < bytes.len() {
                tracing::warn!(path = %path.display(), valid, len = bytes.len(), "truncating torn wal tail");
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| Error::io(&path, e))?;
                file.set_len(valid as u64)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| Error::io(&path, e))?;
            }
        }
        let next = segs.last().map_or(1, |n| n + 1);
        let file = create_segment(dir, next)?;
        Ok(Wal {
            dir: dir.to_owned(),
            active: Mutex::new(Active {
                file: Arc::new(file),
                segment: next,
                written: 0,
            }),
            sync: Mutex::new(SyncState::default()),
            synced_cv: Condvar::new(),
        })
    }

    /// Writes framed records (not yet durable); returns the sequence number to pass to
    /// [`Wal::sync`].
    pub fn write(&self, framed: &[u8]) -> Result<u64> {
        let mut a = self.active.lock();
        let path = segment_path(&self.dir, a.segment);
        (&*a.file)
            .write_all(framed)
            .map_err(|e| Error::io(path, e))?;
        a.written += 1;
        Ok(a.written)
    }

    /// Returns once everything up to `seq` is on disk; one `fsync` serves every waiter.
    pub fn sync(&self, seq: u64) -> Result<()> {
        let mut s = self.sync.lock();
        loop {
            if s.synced >= seq {
                return Ok(());
            }
            if !s.syncing {
                break;
            }
            self.synced_cv.wait(&mut s);
        }
        s.syncing = true;
        drop(s);
        let (file, upto, segment) = {
            let a = self.active.lock();
            (a.file.clone(), a.written, a.segment)
        };
        let res = file.sync_data();
        let mut s = self.sync.lock();
        s.syncing = false;
        if res.is_ok() {
            s.synced = s.synced.max(upto);
        }
        self.synced_cv.notify_all();
        res.map_err(|e| Error::io(segment_path(&self.dir, segment), e))
    }

    /// Starts a new segment whose first records are `framed` (the declarations of live
    /// series), makes it durable and deletes all older segments. The caller holds the head
    /// lock, so no append runs concurrently.
    pub fn rotate(&self, framed: &[u8]) -> Result<()> {
        let mut a = self.active.lock();
        let next = a.segment + 1;
        let path = segment_path(&self.dir, next);
        let file = create_segment(&self.dir, next)?;
        (&file)
            .write_all(framed)
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io(&path, e))?;
        let old = a.segment;
        a.file = Arc::new(file);
        a.segment = next;
        a.written += 1;
        let upto = a.written;
        drop(a);
        let mut s = self.sync.lock();
        s.synced = s.synced.max(upto);
        drop(s);
        for n in segments(&self.dir)? {
            if n <= old {
                let p = segment_path(&self.dir, n);
                fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        Ok(())
    }
}

fn create_segment(dir: &Path, n: u64) -> Result<File> {
    let path = segment_path(dir, n);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn replay_all(dir: &Path) -> Vec<Record> {
        let mut out = Vec::new();
        let _wal = Wal::open(dir, |r| out.push(r)).expect("open wal");
        out
    }

    fn batch_bytes(i: u32, n: u32) -> (Vec<u8>, Vec<Record>) {
        let mut b = RecordBuilder::default();
        let l = Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())]);
        b.series(i, &l);
        let mut samples = Vec::new();
        for k in 0..n {
            let t = i64::from(i) * 1000 + i64::from(k);
            b.sample(i, t, f64::from(k));
            samples.push((i, t, f64::from(k)));
        }
        let mut out = Vec::new();
        b.finish_into(&mut out);
        let mut recs = vec![Record::Series(vec![(i, l)])];
        if n > 0 {
            recs.push(Record::Samples(samples));
        }
        (out, recs)
    }

    #[test]
    fn rotation_keeps_only_the_new_segment() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let wal = Wal::open(dir.path(), |_| {})?;
        let (a, _) = batch_bytes(1, 3);
        let seq = wal.write(&a)?;
        wal.sync(seq)?;
        let (b, recs_b) = batch_bytes(2, 2);
        wal.rotate(&b)?;
        drop(wal);
        assert_eq!(replay_all(dir.path()), recs_b);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Cutting the log anywhere loses only whole trailing records, and a reopened log
        /// appends after the cut.
        #[test]
        fn torn_tail_recovers_a_prefix(sizes in proptest::collection::vec(0u32..20, 1..12), cut in 0.0f64..1.0) {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut expect = Vec::new();
            {
                let wal = Wal::open(dir.path(), |_| {}).expect("open");
                for (i, n) in sizes.iter().enumerate() {
                    let (bytes, recs) = batch_bytes(i as u32, *n);
                    let seq = wal.write(&bytes).expect("write");
                    wal.sync(seq).expect("sync");
                    expect.extend(recs);
                }
            }
            let seg = segment_path(dir.path(), 1);
            let len = fs::metadata(&seg).expect("meta").len();
            let keep = (len as f64 * cut) as u64;
            OpenOptions::new().write(true).open(&seg).expect("open seg").set_len(keep).expect("cut");
            let got = replay_all(dir.path());
            prop_assert!(got.len() <= expect.len());
            prop_assert_eq!(&got[..], &expect[..got.len()]);
            // Appends after recovery replay after the surviving prefix.
            {
                let wal = Wal::open(dir.path(), |_| {}).expect("reopen");
                let (bytes, recs) = batch_bytes(99, 2);
                let seq = wal.write(&bytes).expect("write");
                wal.sync(seq).expect("sync");
                let mut want = got.clone();
                want.extend(recs);
                drop(wal);
                prop_assert_eq!(replay_all(dir.path()), want);
            }
        }
    }
}
