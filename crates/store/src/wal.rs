//! Write-ahead log: numbered segment files of length-prefixed, checksummed records.
//!
//! ```text
//! segment  = magic "SXWAL" 0 0 VERSION  record*  [end]
//! record   = len:u32le  crc:u32le  payload
//! crc      = crc32(seq:u64le || payload)                  (version 3)
//!          | crc32(payload)                               (versions 1 and 2)
//! payload  = tenant_len:u8  tenant  kind:u8  body         (versions 2 and 3)
//!          | tenant_len:u8  tenant  body                  (version 1: every body is OTLP)
//! end      = 0:u32le                                      (version 3)
//! ```
//! `kind` says what the body holds ([`RecordKind`]): the client's own OTLP protobuf bytes, or,
//! when ingest changed the request (content policy, rejected spans, JSON or gRPC input), the
//! span batch it built, in Arrow IPC stream format — a copy of buffers, where re-encoding the
//! protobuf would cost a tenth of the ingest CPU.
//!
//! Segment files are recycled (see [`spare`]): a new segment may overwrite an old one's file, so
//! the bytes after its records can be the records of an older segment. Version 3 seeds each
//! checksum with the segment number taken from the file name, so such a stale record fails its
//! checksum, and every commit ends its records with a zero length, so a segment closed in order
//! ends there. A record whose length or checksum does not match (a write torn by a crash, or the
//! previous contents of a recycled file) ends its segment: replay cuts the file there and goes
//! on with the next segment.

mod spare;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

const MAGIC: [u8; 8] = *b"SXWAL\0\0\x03";
/// Segments written before checksums covered the segment number.
const MAGIC_V2: [u8; 8] = *b"SXWAL\0\0\x02";
/// Segments written before record kinds existed: every body is an OTLP request.
const MAGIC_V1: [u8; 8] = *b"SXWAL\0\0\x01";
const HEADER: usize = 8;
/// A zero record length: where the records of a version 3 segment end.
const END: [u8; 4] = [0; 4];
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
    path: PathBuf,
    file: File,
    /// Where the next record goes: the end of the records committed so far.
    pos: u64,
    buf: Vec<u8>,
}

impl WalWriter {
    /// Starts a new segment numbered `seq` in `dir`, in a spare file when there is one (its
    /// records then overwrite old data in place, so a commit's fsync changes no metadata).
    pub fn create(dir: &Path, seq: u64) -> Result<Self> {
        fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        let path = segment_path(dir, seq);
        let file = match open_recycled(dir, seq, &path) {
            Ok(Some(file)) => file,
            Ok(None) => open_fresh(&path)?,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reuse a spare wal file; starting a new one");
                open_fresh(&path)?
            }
        };
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            seq,
            path,
            file,
            pos: HEADER as u64,
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
        crc.update(&self.seq.to_le_bytes());
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

    /// Writes the buffered records and the end mark after them at the end of the committed
    /// records, and fsyncs them; returns the bytes of records written. A failed commit leaves
    /// the end where it was, so the next commit overwrites whatever part of it got written.
    pub fn commit(&mut self) -> Result<usize> {
        let n = self.buf.len();
        if n == 0 {
            return Ok(0);
        }
        self.buf.extend_from_slice(&END);
        let res = self
            .file
            .write_all_at(&self.buf, self.pos)
            .and_then(|()| self.file.sync_data());
        self.buf.clear();
        res.map_err(StoreError::io(&self.path))?;
        self.pos += n as u64;
        Ok(n)
    }

    /// Closes this segment and starts the next one; returns the new segment's number.
    pub fn rotate(&mut self) -> Result<u64> {
        self.commit()?;
        *self = Self::create(&self.dir, self.seq + 1)?;
        Ok(self.seq)
    }
}

/// The header of a new segment, with the end mark of no records after it.
const NEW_SEGMENT: [u8; HEADER + END.len()] = {
    let mut bytes = [0; HEADER + END.len()];
    let mut i = 0;
    while i < HEADER {
        bytes[i] = MAGIC[i];
        i += 1;
    }
    bytes
};

/// Segment `seq` at `path` in a spare file, header and end mark rewritten; `None` without one.
fn open_recycled(dir: &Path, seq: u64, path: &Path) -> Result<Option<File>> {
    let Some(file) = spare::take(dir, seq, path)? else {
        return Ok(None);
    };
    file.write_all_at(&NEW_SEGMENT, 0)
        .and_then(|()| file.sync_data())
        .map_err(StoreError::io(path))?;
    Ok(Some(file))
}

/// Segment file at `path`, created empty (or emptied) with its header and end mark.
fn open_fresh(path: &Path) -> Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .map_err(StoreError::io(path))?;
    file.write_all(&NEW_SEGMENT)
        .and_then(|()| file.sync_all())
        .map_err(StoreError::io(path))?;
    Ok(file)
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016}.wal"))
}

/// Segment numbers present in `dir`, ascending (spare files are not segments).
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

/// The number for the next segment: above every segment and every spare file, so no segment
/// ever gets a number whose records a recycled file may still hold.
pub fn next_seq(dir: &Path) -> Result<u64> {
    let newest = segments(dir)?.last().copied().unwrap_or(0);
    let spares = spare::list(dir)?;
    Ok(spares.iter().map(|s| s.seq).fold(newest, u64::max) + 1)
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
/// each segment after its last intact record unless its records end with the end mark.
pub fn replay(dir: &Path, mut f: impl FnMut(u64, &str, RecordKind, &[u8])) -> Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    for seq in segments(dir)? {
        let path = segment_path(dir, seq);
        let mut data = Vec::new();
        File::open(&path)
            .and_then(|mut file| file.read_to_end(&mut data))
            .map_err(StoreError::io(&path))?;
        let end = replay_segment(&data, seq, |tenant, kind, body| {
            stats.records += 1;
            stats.bytes += body.len() as u64;
            f(seq, tenant, kind, body)
        });
        stats.segments += 1;
        if end.good < data.len() && !end.marked {
            stats.torn_tails += 1;
            tracing::warn!(segment = %path.display(), kept = end.good, dropped = data.len() - end.good,
                "wal segment ends in a torn or corrupt record; cutting it there");
            truncate(&path, end.good)?;
        }
    }
    Ok(stats)
}

/// Where the records of a segment image end.
#[derive(Debug, PartialEq, Eq)]
struct SegmentEnd {
    /// Length of the intact prefix.
    good: usize,
    /// Whether an end mark follows it: the segment was closed in order and what follows (the
    /// previous contents of a recycled file) is no damage.
    marked: bool,
}

/// Walks the records of segment `seq`'s image, calling `f` for each intact one.
fn replay_segment(data: &[u8], seq: u64, mut f: impl FnMut(&str, RecordKind, &[u8])) -> SegmentEnd {
    // The checksum seed of version 3 and whether payloads carry a kind byte.
    let (seed, kinds) = match data.get(..HEADER) {
        Some(m) if m == MAGIC => (Some(seq.to_le_bytes()), true),
        Some(m) if m == MAGIC_V2 => (None, true),
        Some(m) if m == MAGIC_V1 => (None, false),
        _ => {
            return SegmentEnd {
                good: 0,
                marked: false,
            };
        }
    };
    let mut pos = HEADER;
    while let Some(header) = data.get(pos..pos + 8) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let Some(payload) = data.get(pos + 8..pos + 8 + len) else {
            break;
        };
        let mut hasher = crc32fast::Hasher::new();
        if let Some(seed) = &seed {
            hasher.update(seed);
        }
        hasher.update(payload);
        if len == 0 || len > MAX_RECORD || hasher.finalize() != crc {
            break;
        }
        let Some((tenant, kind, body)) = parse_payload(payload, kinds) else {
            break;
        };
        f(tenant, kind, body);
        pos += 8 + len;
    }
    let marked = seed.is_some() && data.get(pos..pos + END.len()) == Some(&END[..]);
    SegmentEnd { good: pos, marked }
}

/// Splits a checksummed payload into tenant, kind and body.
fn parse_payload(payload: &[u8], kinds: bool) -> Option<(&str, RecordKind, &[u8])> {
    let tlen = *payload.first()? as usize;
    let tenant = std::str::from_utf8(payload.get(1..1 + tlen)?).ok()?;
    let rest = &payload[1 + tlen..];
    if !kinds {
        return Some((tenant, RecordKind::Otlp, rest));
    }
    let (k, body) = rest.split_first()?;
    Some((tenant, RecordKind::from_byte(*k)?, body))
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
        file.write_all_at(&MAGIC, 0).map_err(StoreError::io(path))?;
    }
    file.sync_all().map_err(StoreError::io(path))
}

/// Retires every segment numbered below `seq`: a few become spare files for new segments to
/// reuse, the others are deleted.
pub fn remove_below(dir: &Path, seq: u64) -> Result<usize> {
    let mut spares = spare::Budget::of(dir)?;
    let mut n = 0;
    for s in segments(dir)?.into_iter().filter(|s| *s < seq) {
        spare::retire(dir, s, &segment_path(dir, s), &mut spares)?;
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

    type Records = Vec<(String, Vec<u8>)>;

    fn write(dir: &Path, seq: u64, records: &[(String, Vec<u8>)]) -> PathBuf {
        let mut w = WalWriter::create(dir, seq).expect("create");
        for (t, b) in records {
            w.push(t, RecordKind::Otlp, b);
        }
        w.commit().expect("commit");
        segment_path(dir, seq)
    }

    fn read_all(dir: &Path) -> Records {
        let mut out = Vec::new();
        replay(dir, |_, t, _, b| out.push((t.to_owned(), b.to_vec()))).expect("replay");
        out
    }

    /// One record of segment `seq` as the writer frames it.
    fn record(seq: u64, tenant: &str, body: &[u8]) -> Vec<u8> {
        let payload = [&[tenant.len() as u8][..], tenant.as_bytes(), &[0], body].concat();
        let mut crc = crc32fast::Hasher::new();
        crc.update(&seq.to_le_bytes());
        crc.update(&payload);
        let len = (payload.len() as u32).to_le_bytes();
        [&len[..], &crc.finalize().to_le_bytes(), &payload].concat()
    }

    fn owned(records: &[(&str, &[u8])]) -> Records {
        records
            .iter()
            .map(|(t, b)| (t.to_string(), b.to_vec()))
            .collect()
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
        // Segment 1 is now a spare: no segment, but the next number stays above it.
        assert_eq!(segments(dir.path()).expect("segments"), vec![2]);
        assert_eq!(spare::list(dir.path()).expect("spares").len(), 1);
        assert_eq!(next_seq(dir.path()).expect("next"), 3);
    }

    #[test]
    fn kinds_survive_and_older_versions_still_replay() {
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
        // Versions 1 (no kind byte, every body is OTLP) and 2 (kind byte): the checksum covers
        // the payload only.
        for (seq, magic, payload) in [
            (2, MAGIC_V1, [&[1u8][..], b"t", b"old"].concat()),
            (3, MAGIC_V2, [&[1u8][..], b"t", &[1], b"arr"].concat()),
        ] {
            let mut image = magic.to_vec();
            image.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            image.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            image.extend_from_slice(&payload);
            fs::write(segment_path(dir.path(), seq), &image).expect("write old segment");
        }
        let mut all = Vec::new();
        replay(dir.path(), |s, t, k, b| {
            all.push((s, t.to_owned(), k, b.to_vec()))
        })
        .expect("replay");
        assert_eq!(all[2], (2, "t".into(), RecordKind::Otlp, b"old".to_vec()));
        assert_eq!(
            all[3],
            (3, "t".into(), RecordKind::ArrowIpc, b"arr".to_vec())
        );
    }

    #[test]
    fn unknown_kind_ends_the_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = segment_path(dir.path(), 1);
        let mut bad = record(1, "a", b"y");
        // The kind byte, after len, crc and the tenant; the checksum is made to match.
        bad[8 + 2] = 9;
        let crc = {
            let mut h = crc32fast::Hasher::new();
            h.update(&1u64.to_le_bytes());
            h.update(&bad[8..]);
            h.finalize()
        };
        bad[4..8].copy_from_slice(&crc.to_le_bytes());
        fs::write(&path, [&MAGIC[..], &record(1, "a", b"x"), &bad].concat()).expect("write");
        assert_eq!(read_all(dir.path()), owned(&[("a", b"x")]));
    }

    #[test]
    fn stale_records_of_a_recycled_file_are_never_replayed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old: Records = (0..50)
            .map(|i| ("old".into(), vec![i as u8; 300]))
            .collect();
        write(dir.path(), 1, &old);
        let old_len = fs::metadata(segment_path(dir.path(), 1))
            .expect("meta")
            .len();
        remove_below(dir.path(), 2).expect("retire");
        // Segment 2 takes segment 1's file and overwrites its start only.
        let path = write(dir.path(), 2, &owned(&[("new", b"n1"), ("new", b"n2")]));
        assert_eq!(fs::metadata(&path).expect("meta").len(), old_len);
        let mut stats = ReplayStats::default();
        let mut got = Vec::new();
        replay(dir.path(), |_, t, _, b| {
            got.push((t.to_owned(), b.to_vec()))
        })
        .map(|s| stats = s)
        .expect("replay");
        assert_eq!(got, owned(&[("new", b"n1"), ("new", b"n2")]));
        // The end mark says the stale rest is no damage: nothing is cut.
        assert_eq!(stats.torn_tails, 0);
        assert_eq!(fs::metadata(&path).expect("meta").len(), old_len);
    }

    #[test]
    fn stale_records_right_after_the_new_ones_fail_their_checksum() {
        // As if the end mark never reached the disk: a stale record of segment 1 starts exactly
        // where the records of segment 5 end, with a checksum that was valid for segment 1.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = segment_path(dir.path(), 5);
        let image = [
            &MAGIC[..],
            &record(5, "a", b"new"),
            &record(1, "a", b"old"),
            &record(1, "a", b"older"),
        ]
        .concat();
        fs::write(&path, &image).expect("write");
        assert_eq!(read_all(dir.path()), owned(&[("a", b"new")]));
        // Cut after the intact record, so a second replay agrees.
        let kept = HEADER + record(5, "a", b"new").len();
        assert_eq!(fs::metadata(&path).expect("meta").len(), kept as u64);
        assert_eq!(read_all(dir.path()), owned(&[("a", b"new")]));
    }

    #[test]
    fn torn_record_over_stale_data_ends_the_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = segment_path(dir.path(), 7);
        let stale = [
            &MAGIC[..],
            &record(3, "a", &[7; 100]),
            &record(3, "a", &[8; 100]),
        ]
        .concat();
        let torn = record(7, "b", &[9; 150]);
        let mut image = [&MAGIC[..], &record(7, "b", b"kept")].concat();
        image.extend_from_slice(&torn[..torn.len() / 2]);
        image.extend_from_slice(&stale[image.len()..]);
        fs::write(&path, &image).expect("write");
        assert_eq!(read_all(dir.path()), owned(&[("b", b"kept")]));
    }

    #[test]
    fn zeros_end_a_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = segment_path(dir.path(), 1);
        let image = [&MAGIC[..], &record(1, "a", b"x"), &[0; 64]].concat();
        fs::write(&path, &image).expect("write");
        assert_eq!(read_all(dir.path()), owned(&[("a", b"x")]));
    }

    #[test]
    fn crash_after_taking_a_spare_before_its_header_replays_nothing_from_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), 1, &owned(&[("a", b"flushed")]));
        remove_below(dir.path(), 2).expect("retire");
        let path = segment_path(dir.path(), 2);
        // Renamed into place, then killed before the header and end mark were written.
        spare::take(dir.path(), 2, &path)
            .expect("take")
            .expect("a spare");
        let stats =
            replay(dir.path(), |_, _, _, _| panic!("replayed a stale record")).expect("replay");
        assert_eq!((stats.segments, stats.records, stats.torn_tails), (1, 0, 1));
        assert_eq!(next_seq(dir.path()).expect("next"), 3);
    }

    #[test]
    fn spares_are_bounded_and_only_current_segments_become_spares() {
        let dir = tempfile::tempdir().expect("tempdir");
        for seq in 1..=7 {
            write(dir.path(), seq, &owned(&[("a", b"x")]));
        }
        // Segment 2: too big for the byte budget (sparse, so the test writes nothing).
        File::options()
            .write(true)
            .open(segment_path(dir.path(), 2))
            .and_then(|f| f.set_len(spare::MAX_SPARE_BYTES + 1))
            .expect("grow");
        // Segment 3: version 2, whose checksums would not reject its records.
        let v2 = segment_path(dir.path(), 3);
        let mut image = fs::read(&v2).expect("read");
        image[..HEADER].copy_from_slice(&MAGIC_V2);
        fs::write(&v2, &image).expect("write");
        write(dir.path(), 8, &[]);
        assert_eq!(remove_below(dir.path(), 8).expect("retire"), 7);
        // 1, 4, 5 and 6 fill the four places; 7 finds none.
        let mut spares: Vec<u64> = spare::list(dir.path())
            .expect("list")
            .iter()
            .map(|s| s.seq)
            .collect();
        spares.sort_unstable();
        assert_eq!(spares, vec![1, 4, 5, 6]);
        assert_eq!(segments(dir.path()).expect("segments"), vec![8]);
        assert_eq!(next_seq(dir.path()).expect("next"), 9);
    }

    #[test]
    fn spares_numbered_at_or_above_a_new_segment_are_deleted_not_taken() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), 9, &owned(&[("a", b"x")]));
        remove_below(dir.path(), 10).expect("retire");
        let path = segment_path(dir.path(), 9);
        assert!(spare::take(dir.path(), 9, &path).expect("take").is_none());
        assert!(spare::list(dir.path()).expect("list").is_empty());
    }

    /// The image segment `seq` holds after writing `records` over a spare that held `old`
    /// (segment 1), and the image of that spare.
    fn recycled(
        dir: &Path,
        old: &[(String, Vec<u8>)],
        records: &[(String, Vec<u8>)],
    ) -> (Vec<u8>, Vec<u8>) {
        write(dir, 1, old);
        let before = fs::read(segment_path(dir, 1)).expect("read");
        remove_below(dir, 2).expect("retire");
        let path = write(dir, 2, records);
        (fs::read(&path).expect("read"), before)
    }

    proptest! {
        /// Whatever byte a crash or bit flip leaves at whatever offset, replay keeps exactly the
        /// records before the damage and never fails. In a fresh file a crash leaves the file
        /// short; in a recycled one it leaves the file's previous contents after the damage.
        #[test]
        fn torn_tail_keeps_intact_prefix(
            records in prop::collection::vec(("[a-z]{1,8}", prop::collection::vec(any::<u8>(), 1..200)), 1..20),
            old in prop::collection::vec(("[a-z]{1,8}", prop::collection::vec(any::<u8>(), 1..400)), 0..30),
            recycle in any::<bool>(),
            cut in any::<prop::sample::Index>(),
            flip in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            let (full, stale) = if recycle {
                recycled(dir.path(), &old, &records)
            } else {
                (fs::read(write(dir.path(), 2, &records)).expect("read"), Vec::new())
            };
            let written: usize = HEADER + records.iter().map(|(t, b)| 10 + t.len() + b.len()).sum::<usize>();
            let at = HEADER + cut.index(written + END.len() + 1 - HEADER);
            let mut damaged = full[..at].to_vec();
            if flip && at < full.len() {
                damaged.push(full[at] ^ 0x55);
            }
            damaged.extend_from_slice(stale.get(damaged.len()..).unwrap_or_default());
            fs::write(segment_path(dir.path(), 2), &damaged).expect("write");
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
