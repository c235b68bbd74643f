//! The content policy on an OTLP protobuf body, without decoding it: content attributes and
//! content events are cut out of the bytes, and the dropped-keys list is spliced in.
//!
//! The usual request needs nothing else from the policy (content is dropped, and no other value
//! may hold a secret), so the spliced body is what the WAL logs and what ingest decodes: prompt
//! and completion text is never decoded, never copied into strings, never re-encoded. Anything
//! the splice cannot settle alone (a value that may hold a secret, content captured and redacted,
//! a client-sent dropped-keys list, content keys inside a kept event, a malformed body) returns
//! `None`, and the caller decodes and applies the policy as before, which is then the one to
//! report a malformed body.
//!
//! The walk also reports where each span's attributes sit in the body that is decoded, so the
//! store keeps those bytes instead of encoding the decoded attributes again (a disabled policy
//! walks for that alone).
//!
//! Written by hand: prost only decodes into owned messages; no crate edits protobuf in place.
//! The walk knows the few OTLP fields the policy reads and copies every other field verbatim.

use super::{
    CONTENT_EVENTS, ContentPolicy, ContentStats, DROPPED_KEYS_ATTR, content_key_label_bytes,
};

/// A body after the policy.
#[derive(Debug)]
pub struct Spliced {
    /// The new body; `None` when the policy changed nothing (log the original).
    pub body: Option<Vec<u8>>,
    /// What the policy did, as `ContentPolicy::apply` reports it.
    pub stats: ContentStats,
    /// Per span, in request order: where its attribute fields (tag 9) sit in the body that is
    /// decoded (the new one, or the original when unchanged), as one run of bytes, so the store
    /// can keep them without encoding them again; `None` when a span's attributes are not one
    /// run or it sends a dropped-attributes count.
    pub attributes: Vec<Option<Extent>>,
}

/// A byte range of the body: `(from, to)`.
pub type Extent = (usize, usize);

/// Nesting the walk follows inside an attribute value before it gives up (prost allows 100).
const MAX_VALUE_DEPTH: u32 = 32;

impl ContentPolicy {
    /// Applies a content-dropping policy to an `ExportTraceServiceRequest` in protobuf (a
    /// disabled policy only finds the attribute runs); `None` when the body needs the decoding
    /// path (see the module doc).
    pub fn splice_otlp(&self, body: &[u8]) -> Option<Spliced> {
        if self.capture && self.active {
            return None;
        }
        let mut walk = Walk {
            policy: self,
            // A disabled policy changes nothing; the walk only finds the attribute runs.
            observe_only: !self.active,
            buf: body,
            edits: Vec::with_capacity(body.len() / 64),
            inserts: Vec::new(),
            dropped: Vec::new(),
            runs: 0,
            stats: ContentStats::default(),
        };
        walk.request()?;
        let mut marks = vec![usize::MAX; walk.runs * 2];
        let changed = walk
            .edits
            .iter()
            .any(|e| matches!(e, Edit::Cut { .. } | Edit::Insert { .. }));
        let body = if changed {
            Some(apply_edits(body, &walk.edits, &walk.inserts, &mut marks))
        } else {
            for e in &walk.edits {
                if let Edit::Mark { at, slot } = *e {
                    marks[slot] = at;
                }
            }
            None
        };
        let attributes = marks
            .chunks_exact(2)
            .map(|m| (m[0] != usize::MAX && m[1] != usize::MAX).then_some((m[0], m[1])))
            .collect();
        Some(Spliced {
            body,
            stats: walk.stats,
            attributes,
        })
    }
}

/// One change to the original bytes; edits are kept in position order.
#[derive(Debug)]
enum Edit {
    /// Replace the length varint at `at..end` with `len` (a no-op when the length is unchanged).
    Len { at: usize, end: usize, len: usize },
    /// Drop `from..to`.
    Cut { from: usize, to: usize },
    /// Insert `Walk::inserts[from..to]` at `at`.
    Insert { at: usize, from: usize, to: usize },
    /// Record in `marks[slot]` where `at` lands in the new body.
    Mark { at: usize, slot: usize },
}

struct Walk<'a> {
    policy: &'a ContentPolicy,
    /// Change nothing, check nothing: only find each span's attribute run.
    observe_only: bool,
    buf: &'a [u8],
    edits: Vec<Edit>,
    /// The bytes of every `Edit::Insert`.
    inserts: Vec<u8>,
    /// The labels of the span being walked (reused).
    dropped: Vec<&'static str>,
    /// Spans walked so far (each owns mark slots `2 * i` and `2 * i + 1`).
    runs: usize,
    stats: ContentStats,
}

/// Where a span's attributes are, as the walk goes.
#[derive(Default)]
struct AttributeRun {
    /// From the first kept attribute's start to the last one's end.
    kept: Option<Extent>,
    /// Where the first cut attribute started.
    first_cut: Option<usize>,
    /// A kept field other than an attribute came after the first kept attribute.
    closed: bool,
    /// A kept attribute came after such a field, or the span sends a dropped-attributes count.
    broken: bool,
}

impl AttributeRun {
    fn attribute(&mut self, f: &Field, cut: bool) {
        if cut {
            self.first_cut.get_or_insert(f.start);
            return;
        }
        self.broken |= self.closed;
        self.kept = Some((self.kept.map_or(f.start, |k| k.0), f.end));
    }

    fn other(&mut self, f: &Field, cut: bool) {
        self.broken |= f.number == 10;
        self.closed |= !cut && self.kept.is_some();
    }
}

/// A field: its number, wire type, where its tag starts and, for length-delimited ones, where
/// the length varint and the content are.
struct Field {
    number: u64,
    wire: u8,
    start: usize,
    len_at: usize,
    body: (usize, usize),
    end: usize,
}

impl<'a> Walk<'a> {
    /// The field at `pos` (below `end`, itself within the buffer).
    #[inline(always)]
    fn field(&self, pos: usize, end: usize) -> Option<Field> {
        let (key, p) = varint(self.buf, pos, end)?;
        let wire = (key & 7) as u8;
        let number = key >> 3;
        let (len_at, body, fend) = match wire {
            2 => {
                let (n, q) = varint(self.buf, p, end)?;
                let e = q.checked_add(usize::try_from(n).ok()?)?;
                (p, (q, e), e)
            }
            0 => {
                let (_, q) = varint(self.buf, p, end)?;
                (p, (p, q), q)
            }
            1 => (p, (p, p + 8), p + 8),
            5 => (p, (p, p + 4), p + 4),
            // Groups (3, 4) are not in OTLP; let prost judge the body.
            _ => return None,
        };
        (number != 0 && fend <= end).then_some(Field {
            number,
            wire,
            start: pos,
            len_at,
            body,
            end: fend,
        })
    }

    /// Walks an embedded message with `inner`, which returns its new length; records the new
    /// length and returns how much the field grew (negative: shrank).
    fn nested(
        &mut self,
        f: &Field,
        inner: fn(&mut Self, (usize, usize)) -> Option<usize>,
    ) -> Option<isize> {
        let slot = self.edits.len();
        self.edits.push(Edit::Len {
            at: f.len_at,
            end: f.body.0,
            len: 0,
        });
        let len = inner(self, f.body)?;
        self.edits[slot] = Edit::Len {
            at: f.len_at,
            end: f.body.0,
            len,
        };
        let old = f.end - f.start;
        let new = (f.len_at - f.start) + varint_len(len as u64) + len;
        Some(new as isize - old as isize)
    }

    fn request(&mut self) -> Option<()> {
        self.message((0, self.buf.len()), 1, Self::resource_spans)
            .map(drop)
    }

    fn resource_spans(&mut self, body: (usize, usize)) -> Option<usize> {
        self.message(body, 2, Self::scope_spans)
    }

    fn scope_spans(&mut self, body: (usize, usize)) -> Option<usize> {
        self.message(body, 2, Self::span)
    }

    /// A message whose field `child` (repeated, embedded) is walked by `inner`; its new length.
    fn message(
        &mut self,
        (mut pos, end): (usize, usize),
        child: u64,
        inner: fn(&mut Self, (usize, usize)) -> Option<usize>,
    ) -> Option<usize> {
        let mut len = (end - pos) as isize;
        while pos < end {
            let f = self.field(pos, end)?;
            if f.number == child && f.wire == 2 {
                len += self.nested(&f, inner)?;
            }
            pos = f.end;
        }
        usize::try_from(len).ok()
    }

    fn span(&mut self, (mut pos, end): (usize, usize)) -> Option<usize> {
        let mut len = (end - pos) as isize;
        let slot = self.runs * 2;
        self.runs += 1;
        let first_edit = self.edits.len();
        self.dropped.clear();
        let mut run = AttributeRun::default();
        while pos < end {
            let f = self.field(pos, end)?;
            let cut = match (f.number, f.wire) {
                (9, 2) => self.attribute(&f)?,
                (11, 2) => self.event(&f)?,
                (15, 2) => self.status(f.body).map(|()| 0)?,
                _ => 0,
            };
            if (f.number, f.wire) == (9, 2) {
                run.attribute(&f, cut > 0);
            } else {
                run.other(&f, cut > 0);
            }
            len -= cut;
            pos = f.end;
        }
        len += self.place_run(&run, slot, first_edit) as isize;
        usize::try_from(len).ok()
    }

    /// Adds `e` among the span's edits (from `first`), keeping them in position order.
    fn insert_edit(&mut self, first: usize, e: Edit) {
        let key = order(&e);
        let i = first + self.edits[first..].partition_point(|x| order(x) <= key);
        self.edits.insert(i, e);
    }

    /// Adds the dropped-keys list right after the span's last kept attribute (or where the
    /// first cut one was), so that it stays the last attribute and the attributes stay one
    /// run, and the marks of that run; returns the bytes inserted.
    fn place_run(&mut self, run: &AttributeRun, slot: usize, first: usize) -> usize {
        let Some(at) = run.kept.map(|k| k.1).or(run.first_cut) else {
            return 0;
        };
        let one_run = !run.broken;
        if one_run {
            let start = run.kept.map_or(at, |k| k.0);
            self.insert_edit(first, Edit::Mark { at: start, slot });
            self.insert_edit(first, Edit::Mark { at, slot: slot + 1 });
        }
        if self.dropped.is_empty() {
            return 0;
        }
        let from = self.inserts.len();
        put_dropped_keys_attribute(&mut self.inserts, &self.dropped);
        let to = self.inserts.len();
        self.insert_edit(first, Edit::Insert { at, from, to });
        to - from
    }

    /// A span attribute: cut when it is content (returns the bytes cut), else checked for
    /// secrets.
    fn attribute(&mut self, f: &Field) -> Option<isize> {
        if self.observe_only {
            return Some(0);
        }
        let (key, value) = self.key_value(f.body)?;
        if key == DROPPED_KEYS_ATTR.as_bytes() {
            return None;
        }
        if let Some(label) = content_key_label_bytes(key) {
            if !self.dropped.contains(&label) {
                self.dropped.push(label);
            }
            self.stats.attributes_dropped += 1;
            self.edits.push(Edit::Cut {
                from: f.start,
                to: f.end,
            });
            return Some((f.end - f.start) as isize);
        }
        match value {
            Some(v) => self.value(v, 0).map(|()| 0),
            None => Some(0),
        }
    }

    /// A span event: cut whole when it is a content event, else its attributes are checked.
    fn event(&mut self, f: &Field) -> Option<isize> {
        if self.observe_only {
            return Some(0);
        }
        let (mut pos, end) = f.body;
        let mut name: &[u8] = b"";
        let mut attrs = (end, end);
        while pos < end {
            let g = self.field(pos, end)?;
            match (g.number, g.wire) {
                (2, 2) => name = &self.buf[g.body.0..g.body.1],
                // Attributes are checked below, once the name is known.
                (3, 2) if attrs.0 == end => attrs.0 = g.start,
                _ => {}
            }
            pos = g.end;
        }
        if CONTENT_EVENTS.iter().any(|e| e.as_bytes() == name) {
            self.stats.events_dropped += 1;
            self.edits.push(Edit::Cut {
                from: f.start,
                to: f.end,
            });
            return Some((f.end - f.start) as isize);
        }
        let mut pos = attrs.0;
        while pos < end {
            let g = self.field(pos, end)?;
            if (g.number, g.wire) == (3, 2) {
                let (key, value) = self.key_value(g.body)?;
                // The policy would drop it and list it in the event: the decoding path does that.
                if content_key_label_bytes(key).is_some() {
                    return None;
                }
                if let Some(v) = value {
                    self.value(v, 0)?;
                }
            }
            pos = g.end;
        }
        Some(0)
    }

    fn status(&self, (mut pos, end): (usize, usize)) -> Option<()> {
        if self.observe_only {
            return Some(());
        }
        while pos < end {
            let g = self.field(pos, end)?;
            if (g.number, g.wire) == (2, 2) {
                self.string(g.body)?;
            }
            pos = g.end;
        }
        Some(())
    }

    /// The key (bytes: prost checks UTF-8 when it decodes) and value of a `KeyValue`.
    #[inline(always)]
    fn key_value(&self, (mut pos, end): (usize, usize)) -> Option<(&'a [u8], Option<Extent>)> {
        let buf = self.buf;
        // The usual shape first: key (field 1) then value (field 2), each under 128 bytes.
        if let [0x0a, kl, ..] = buf[pos..end] {
            let v = pos + 2 + usize::from(kl);
            if kl < 0x80 && v + 2 <= end && buf[v] == 0x12 && buf[v + 1] < 0x80 {
                let value = (v + 2, v + 2 + usize::from(buf[v + 1]));
                if value.1 == end {
                    return Some((&buf[pos + 2..v], Some(value)));
                }
            }
        }
        let (mut key, mut value): (&[u8], _) = (b"", None);
        while pos < end {
            let g = self.field(pos, end)?;
            match (g.number, g.wire) {
                (1, 2) => key = &buf[g.body.0..g.body.1],
                (2, 2) => value = Some(g.body),
                _ => {}
            }
            pos = g.end;
        }
        Some((key, value))
    }

    /// An `AnyValue`: `None` when a string in it may hold a secret. Inlined for the usual
    /// shapes (one string under 128 bytes, one number or boolean): every attribute value of
    /// every span comes here.
    #[inline(always)]
    fn value(&self, (pos, end): (usize, usize), depth: u32) -> Option<()> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        match self.buf[pos..end] {
            [0x0a, n, ..] if n < 0x80 && pos + 2 + usize::from(n) == end => {
                return self.string((pos + 2, end));
            }
            // A bool or int alone (a malformed varint is `None`, as field by field).
            [0x10 | 0x18, ..] if varint(self.buf, pos + 1, end)?.1 == end => return Some(()),
            [0x21, ..] if end - pos == 9 => return Some(()),
            _ => {}
        }
        self.value_fields((pos, end), depth)
    }

    /// `value`, field by field.
    fn value_fields(&self, (mut pos, end): (usize, usize), depth: u32) -> Option<()> {
        while pos < end {
            let g = self.field(pos, end)?;
            match (g.number, g.wire) {
                (1, 2) => self.string(g.body)?,
                // ArrayValue { repeated AnyValue values = 1 }
                (5, 2) => self.repeated(g.body, |w, v| w.value(v, depth + 1))?,
                // KeyValueList { repeated KeyValue values = 1 }
                (6, 2) => self.repeated(g.body, |w, kv| match w.key_value(kv)? {
                    (_, Some(v)) => w.value(v, depth + 1),
                    (_, None) => Some(()),
                })?,
                _ => {}
            }
            pos = g.end;
        }
        Some(())
    }

    /// Calls `each` on the body of every field 1 (embedded) of `pos..end`.
    fn repeated(
        &self,
        (mut pos, end): (usize, usize),
        each: impl Fn(&Self, (usize, usize)) -> Option<()>,
    ) -> Option<()> {
        while pos < end {
            let g = self.field(pos, end)?;
            if (g.number, g.wire) == (1, 2) {
                each(self, g.body)?;
            }
            pos = g.end;
        }
        Some(())
    }

    /// A string value outside content: `None` when it may hold a secret (or is not UTF-8).
    #[inline(always)]
    fn string(&self, (from, to): (usize, usize)) -> Option<()> {
        let b = &self.buf[from..to];
        if b.len() < crate::redact::MIN_SECRET_LEN
            || (b.len() <= crate::redact::prefilter::MAX_LEN
                && !crate::redact::prefilter::may_contain_secret_bytes(b))
        {
            return Some(());
        }
        let s = std::str::from_utf8(b).ok()?;
        (!self.policy.may_hold_secret(s)).then_some(())
    }
}

/// Where an edit goes: by position; at one position a run's start mark, the dropped-keys list
/// and the run's end mark come before a cut that starts there.
fn order(e: &Edit) -> (usize, u8) {
    match *e {
        Edit::Mark { at, slot } => (at, if slot % 2 == 0 { 0 } else { 2 }),
        Edit::Insert { at, .. } => (at, 1),
        Edit::Cut { from, .. } => (from, 3),
        Edit::Len { at, .. } => (at, 3),
    }
}

/// `varint` at `pos` (below `end`): its value and the position after it.
#[inline(always)]
fn varint(buf: &[u8], pos: usize, end: usize) -> Option<(u64, usize)> {
    let first = *buf.get(pos).filter(|_| pos < end)?;
    if first < 0x80 {
        return Some((u64::from(first), pos + 1));
    }
    varint_slow(buf, pos, end)
}

fn varint_slow(buf: &[u8], pos: usize, end: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = *buf.get(pos + i).filter(|_| pos + i < end)?;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((v, pos + i + 1));
        }
    }
    None
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len(out: &mut Vec<u8>, field: u64, len: usize) {
    put_varint(out, field << 3 | 2);
    put_varint(out, len as u64);
}

/// The size of a length-delimited field (one-byte tag) whose content is `len` bytes.
fn field_size(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// Appends span field 9: `KeyValue { key: DROPPED_KEYS_ATTR, value: { array_value: [labels] } }`,
/// as `drop_content` adds it; sizes are computed up front so it is written in one pass.
fn put_dropped_keys_attribute(out: &mut Vec<u8>, labels: &[&str]) {
    let array: usize = labels.iter().map(|l| field_size(field_size(l.len()))).sum();
    let any = field_size(array);
    let kv = field_size(DROPPED_KEYS_ATTR.len()) + field_size(any);
    put_len(out, 9, kv);
    put_len(out, 1, DROPPED_KEYS_ATTR.len());
    out.extend_from_slice(DROPPED_KEYS_ATTR.as_bytes());
    put_len(out, 2, any);
    put_len(out, 5, array);
    for l in labels {
        put_len(out, 1, field_size(l.len()));
        put_len(out, 1, l.len());
        out.extend_from_slice(l.as_bytes());
    }
}

/// The original bytes with the edits applied, and where each mark landed (edits are in position
/// order and do not overlap: length edits belong to the messages above spans, the others to the
/// inside of spans).
fn apply_edits(buf: &[u8], edits: &[Edit], inserts: &[u8], marks: &mut [usize]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len());
    let mut pos = 0;
    for e in edits {
        match *e {
            Edit::Len { at, end, len } => {
                out.extend_from_slice(&buf[pos..at]);
                put_varint(&mut out, len as u64);
                pos = end;
            }
            Edit::Cut { from, to } => {
                out.extend_from_slice(&buf[pos..from]);
                pos = to;
            }
            Edit::Insert { at, from, to } => {
                out.extend_from_slice(&buf[pos..at]);
                out.extend_from_slice(&inserts[from..to]);
                pos = at;
            }
            Edit::Mark { at, slot } => {
                debug_assert!(at >= pos, "edits out of order");
                marks[slot] = out.len() + at.saturating_sub(pos);
            }
        }
    }
    out.extend_from_slice(&buf[pos..]);
    out
}

#[cfg(test)]
#[path = "splice_tests.rs"]
mod tests;
