//! Little binary helpers shared by the WAL and block formats: varints and length-prefixed labels.

use sextant_promql::Labels;

/// Appends `v` as a LEB128 varint.
pub fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a zigzag-encoded signed varint.
pub fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

/// Appends a label set as a count and name/value pairs.
pub fn put_labels(buf: &mut Vec<u8>, labels: &Labels) {
    put_uvarint(buf, labels.len() as u64);
    for (n, v) in labels.iter() {
        put_bytes(buf, n.as_bytes());
        put_bytes(buf, v.as_bytes());
    }
}

/// A cursor over encoded bytes; every read returns `None` on truncated or invalid input.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// One unsigned varint.
    pub fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    /// One zigzag varint.
    pub fn varint(&mut self) -> Option<i64> {
        let u = self.uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// `n` raw bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> Option<u64> {
        let b: [u8; 8] = self.take(8)?.try_into().ok()?;
        Some(u64::from_le_bytes(b))
    }

    /// A little-endian i64.
    pub fn i64(&mut self) -> Option<i64> {
        self.u64().map(|v| v as i64)
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.uvarint()?).ok()?;
        self.take(n)
    }

    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    /// A label set written by [`put_labels`].
    pub fn labels(&mut self) -> Option<Labels> {
        let n = usize::try_from(self.uvarint()?).ok()?;
        // Each pair takes at least two bytes, which bounds the allocation.
        if n > self.buf.len() {
            return None;
        }
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.str()?.to_owned();
            let value = self.str()?.to_owned();
            pairs.push((name, value));
        }
        Some(Labels::new(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_roundtrip_and_truncation_is_detected() {
        let mut b = Vec::new();
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            put_varint(&mut b, v);
        }
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        put_labels(&mut b, &l);
        let mut r = Reader::new(&b);
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(r.varint(), Some(v));
        }
        assert_eq!(r.labels(), Some(l));
        assert_eq!(r.pos(), b.len());
        let mut short = Reader::new(&b[..b.len() - 1]);
        for _ in 0..7 {
            short.varint();
        }
        assert_eq!(short.labels(), None);
    }
}
