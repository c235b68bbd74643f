//! Write-ahead log: numbered segment files of length-prefixed, checksummed records.
//!
//! ```text
//! segment  = magic "SXWAL" 0 0 VERSION  record*
//! record   = len:u32le  crc32(payload):u32le  payload
//! payload  = tenant_len:u8  tenant  kind:u8  body     (version 2)
//!          | tenant_len:u8  tenant  body              (version 1: every body is OTLP)
//! ```
//! `kind` says what the body holds ([`RecordKind`]): the client's own OTLP protobuf bytes, or,
//! when ingest changed the request (content policy, rejected spans, JSON or gRPC input), the
//! span batch it built, in Arrow IPC stream format — a copy of buffers, where re-encoding the
//! protobuf would cost a tenth of the ingest CPU.
//!
//! A record whose length or checksum does not match (a write torn by a crash) ends its segment:
//! replay cuts the file there and goes on with the next segment.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

const MAGIC: [u8; 8] = *b"SXWAL\0\0\x02";
/// Segments written before record kinds existed: every body is an OTLP request.
const MAGIC_V1: [u8; 8] = *b"SXWAL\0\0\x01";
const HEADER: usize = 8;
/// Refuses absurd lengths in a corrupt header instead of allocating them.
const MAX_RECORD: usize = 1 << 30;

/// What the body of a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// An OTLP `ExportTraceServiceRequest` in protobuf, as the client sent it.
    Otlp = 0,
    /// A span batch (the store's schema) in Arrow IPC stream format, as ingest built it.
    ArrowIpc = 1,
}

impl RecordKind {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Otlp),
            1 => Some(Self::ArrowIpc),
            _ => None,
        }
    }
}

/// Appends records to the newest segment.
pub struct WalWriter {
    dir: PathBuf,
    seq: u64,
    file: File,
    buf: Vec<u8>,
}

impl WalWriter {
    /// Starts a new segment numbered `seq` in `dir`.
    pub fn create(dir: &Path, seq: u64) -> Result<Self> {
        fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        let path = segment_path(dir, seq);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(StoreError::io(&path))?;
        file.write_all(&MAGIC).map_err(StoreError::io(&path))?;
        file.sync_all().map_err(StoreError::io(&path))?;
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            seq,
            file,
            buf: Vec::with_capacity(1 << 20),
        })
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Buffers one record; nothing reaches the file before `commit`.
    pub fn push(&mut self, tenant: &str, kind: RecordKind, body: &[u8]) {
        let tenant = &tenant.as_bytes()[..tenant.len().min(255)];
        let len = 1 + tenant.len() + 1 + body.len();
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[tenant.len() as u8]);
        crc.update(tenant);
        crc.update(&[kind as u8]);
        crc.update(body);
        self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        self.buf.extend_from_slice(&crc.finalize().to_le_bytes());
        self.buf.push(tenant.len() as u8);
        self.buf.extend_from_slice(tenant);
        self.buf.push(kind as u8);
        self.buf.extend_from_slice(body);
    }

    /// Writes the buffered records and fsyncs them; returns the bytes written.
    pub fn commit(&mut self) -> Result<usize> {
        let n = self.buf.len();
        if n == 0 {
            return Ok(0);
        }
        let path = segment_path(&self.dir, self.seq);
        let res = self
            .file
            .write_all(&self.buf)
            .and_then(|()| self.file.sync_data());
        self.buf.clear();
        res.map_err(StoreError::io(path))?;
        Ok(n)
    }

    /// Closes this segment and starts the next one; returns the new segment's number.
    pub fn rotate(&mut self) -> Result<u64> {
        self.commit()?;
        *self = Self::create(&self.dir, self.seq + 1)?;
        Ok(self.seq)
    }
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016}.wal"))
}

/// Segment numbers present in `dir`, ascending.
pub fn segments(dir: &Path) -> Result<Vec<u64>> {
    let mut seqs = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(seqs),
        Err(e) => return Err(StoreError::io(dir)(e)),
    };
    for entry in entries {
        let name = entry.map_err(StoreError::io(dir))?.file_name();
        let name = name.to_string_lossy();
        if let Some(seq) = name.strip_suffix(".wal").and_then(|s| s.parse().ok()) {
            seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// What replay found.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplayStats {
    pub segments: usize,
    pub records: usize,
    pub bytes: u64,
    /// Segments whose tail was cut because a record was torn or corrupt.
    pub torn_tails: usize,
}

/// Calls `f(segment, tenant, kind, body)` for every intact record, oldest first, and truncates
/// each segment after its last intact record.
pub fn replay(dir: &Path, mut f: impl FnMut(u64, &str, RecordKind, &[u8])) -> Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    for seq in segments(dir)? {
        let path = segment_path(dir, seq);
        let mut data = Vec::new();
        File::open(&path)
            .and_then(|mut file| file.read_to_end(&mut data))
            .map_err(StoreError::io(&path))?;
        let good = replay_segment(&data, |tenant, kind, body| {
            stats.records += 1;
            stats.bytes += body.len() as u64;
            f(seq, tenant, kind, body)
        });
        stats.segments += 1;
        if good < data.len() {
            stats.torn_tails += 1;
            tracing::warn!(segment = %path.display(), kept = good, dropped = data.len() - good,
                "wal segment ends in a torn or corrupt record; cutting it there");
            truncate(&path, good)?;
        }
    }
    Ok(stats)
}

/// Walks the records of one segment image; returns the length of its intact prefix.
fn replay_segment(data: &[u8], mut f: impl FnMut(&str, RecordKind, &[u8])) -> usize {
    let kinds = match data.get(..HEADER) {
        Some(m) if m == MAGIC => true,
        Some(m) if m == MAGIC_V1 => false,
        _ => return 0,
    };
    let mut pos = HEADER;
    while let Some(header) = data.get(pos..pos + 8) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let Some(payload) = data.get(pos + 8..pos + 8 + len) else {
            break;
        };
        if len == 0 || len > MAX_RECORD || crc32fast::hash(payload) != crc {
            break;
        }
        let tlen = payload[0] as usize;
        let Some(tenant) = payload
            .get(1..1 + tlen)
            .and_then(|t| std::str::from_utf8(t).ok())
        else {
            break;
        };
        let rest = &payload[1 + tlen..];
        let (kind, body) = match (kinds, rest.split_first()) {
            (false, _) => (RecordKind::Otlp, rest),
            (true, Some((k, body))) => match RecordKind::from_byte(*k) {
                Some(kind) => (kind, body),
                None => break,
            },
            (true, None) => break,
        };
        f(tenant, kind, body);
        pos += 8 + len;
    }
    pos
}

fn truncate(path: &Path, len: usize) -> Result<()> {
    let len = len.max(HEADER);
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(StoreError::io(path))?;
    file.set_len(len as u64).map_err(StoreError::io(path))?;
    if len == HEADER {
        // A segment cut to nothing gets a valid header again so the next replay reads it.
        let mut f = &file;
        use std::io::Seek;
        f.seek(std::io::SeekFrom::Start(0))
            .and_then(|_| f.write_all(&MAGIC))
            .map_err(StoreError::io(path))?;
    }
    file.sync_all().map_err(StoreError::io(path))
}

/// Deletes every segment numbered below `seq`.
pub fn remove_below(dir: &Path, seq: u64) -> Result<usize> {
    let mut n = 0;
    for s in segments(dir)?.into_iter().filter(|s| *s < seq) {
        let path = segment_path(dir, s);
        fs::remove_file(&path).map_err(StoreError::io(&path))?;
        n += 1;
    }
    Ok(n)
}

/// Makes a directory's entries (created or renamed files) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write(dir: &Path, records: &[(String, Vec<u8>)]) -> PathBuf {
        let mut w = WalWriter::create(dir, 1).expect("create");
        for (t, b) in records {
            w.push(t, RecordKind::Otlp, b);
        }
        w.commit().expect("commit");
        segment_path(dir, 1)
    }

    fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        replay(dir, |_, t, _, b| out.push((t.to_owned(), b.to_vec()))).expect("replay");
        out
    }

    #[test]
    fn rotate_and_remove() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = WalWriter::create(dir.path(), 1).expect("create");
        w.push("a", RecordKind::Otlp, b"one");
        assert_eq!(w.rotate().expect("rotate"), 2);
        w.push("b", RecordKind::ArrowIpc, b"two");
        w.commit().expect("commit");
        assert_eq!(read_all(dir.path()).len(), 2);
        assert_eq!(remove_below(dir.path(), 2).expect("remove"), 1);
        assert_eq!(read_all(dir.path()), vec![("b".into(), b"two".to_vec())]);
    }

    #[test]
    fn kinds_survive_and_version_1_segments_still_replay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = WalWriter::create(dir.path(), 1).expect("create");
        w.push("a", RecordKind::Otlp, b"one");
        w.push("a", RecordKind::ArrowIpc, b"two");
        w.commit().expect("commit");
        let mut kinds = Vec::new();
        replay(dir.path(), |_, _, k, b| kinds.push((k, b.to_vec()))).expect("replay");
        assert_eq!(
            kinds,
            vec![
                (RecordKind::Otlp, b"one".to_vec()),
                (RecordKind::ArrowIpc, b"two".to_vec())
            ]
        );
        // A segment of the first format: no kind byte, every body is OTLP.
        let mut v1 = MAGIC_V1.to_vec();
        let payload = [&[1u8][..], b"t", b"old"].concat();
        v1.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        v1.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        v1.extend_from_slice(&payload);
        fs::write(segment_path(dir.path(), 2), &v1).expect("write v1");
        let mut all = Vec::new();
        replay(dir.path(), |s, t, k, b| {
            all.push((s, t.to_owned(), k, b.to_vec()))
        })
        .expect("replay");
        assert_eq!(all[2], (2, "t".into(), RecordKind::Otlp, b"old".to_vec()));
    }

    #[test]
    fn unknown_kind_ends_the_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            &[("a".into(), b"x".to_vec()), ("a".into(), b"y".to_vec())],
        );
        let mut data = fs::read(&path).expect("read");
        // Second record: kind byte at header + first record + 8 (len, crc) + 2 (tenant).
        let first = 8 + 1 + 1 + 1 + 1;
        let at = HEADER + first + 8 + 2;
        data[at] = 9;
        let payload = data[HEADER + first + 8..].to_vec();
        data[HEADER + first + 4..HEADER + first + 8]
            .copy_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        fs::write(&path, &data).expect("write");
        assert_eq!(read_all(dir.path()), vec![("a".into(), b"x".to_vec())]);
    }

    proptest! {
        /// Whatever byte a crash or bit flip leaves at whatever offset, replay keeps exactly the
        /// records before the damage and never fails.
        #[test]
        fn torn_tail_keeps_intact_prefix(
            records in prop::collection::vec(("[a-z]{1,8}", prop::collection::vec(any::<u8>(), 1..200)), 1..20),
            cut in any::<prop::sample::Index>(),
            flip in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = write(dir.path(), &records);
            let full = fs::read(&path).expect("read");
            let at = HEADER + cut.index(full.len() - HEADER);
            let mut damaged = full[..at].to_vec();
            if flip && at < full.len() {
                damaged.push(full[at] ^ 0x55);
            }
            fs::write(&path, &damaged).expect("write");
            let got = read_all(dir.path());
            // Records whose bytes lie wholly before the damage survive.
            let mut end = HEADER;
            let mut expect = Vec::new();
            for (t, b) in &records {
                end += 8 + 1 + t.len() + 1 + b.len();
                if end <= at { expect.push((t.clone(), b.clone())); }
            }
            prop_assert_eq!(&got, &expect);
            // And a second replay of the cut file agrees.
            prop_assert_eq!(read_all(dir.path()), expect);
        }
    }
}
