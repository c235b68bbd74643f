//! Gorilla compression of one series' samples (Pelkonen et al., VLDB 2015), written by hand:
//! timestamps as delta-of-delta in variable-width buckets, values as the XOR with the previous
//! value with a reused leading/trailing-zero window. Hand-written rather than `tsz` (unmaintained
//! since 2017, u64 seconds timestamps) or `pco` (batch codec, cannot append one sample at a
//! time to an open chunk): the codec is ~200 lines and appends in O(1) without allocation.
//!
//! Values are stored as raw bits, so staleness markers and other NaN payloads survive exactly.

/// Samples per chunk before a new one is cut (as Prometheus).
pub const CHUNK_SAMPLES: u16 = 120;

/// Appends bits most-significant first.
#[derive(Debug, Clone, Default)]
struct BitWriter {
    buf: Vec<u8>,
    /// Free bits in the last byte (0 = need a new byte).
    free: u32,
}

impl BitWriter {
    fn write(&mut self, value: u64, mut n: u32) {
        while n > 0 {
            if self.free == 0 {
                self.buf.push(0);
                self.free = 8;
            }
            let take = self.free.min(n);
            let bits = ((value >> (n - take)) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.buf.last_mut() {
                *last |= bits << (self.free - take);
            }
            self.free -= take;
            n -= take;
        }
    }

    fn bit(&mut self, b: bool) {
        self.write(u64::from(b), 1);
    }
}

/// Reads bits most-significant first from a 64-bit buffer refilled a word at a time, so a
/// read is a shift and a mask rather than a load per field. Reading past the end yields zeros;
/// [`BitReader::overrun`] tells whether it happened.
struct BitReader<'a> {
    buf: &'a [u8],
    /// Next byte to load into `acc`.
    pos: usize,
    /// Unread bits, left-aligned.
    acc: u64,
    /// How many bits of `acc` are valid.
    avail: u32,
}

impl<'a> BitReader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        BitReader {
            buf,
            pos: 0,
            acc: 0,
            avail: 0,
        }
    }

    /// Tops `acc` up to at least 56 valid bits (zeros past the end of the buffer). Bits of
    /// the loaded word beyond the counted bytes stay in `acc`; the next load ORs the same bits
    /// into the same places, so they need no masking.
    #[inline(always)]
    fn refill(&mut self) {
        let word = match self.buf.get(self.pos..self.pos + 8) {
            Some(b) => u64::from_be_bytes(b.try_into().unwrap_or([0; 8])),
            None => {
                let mut b = [0u8; 8];
                let tail = self.buf.get(self.pos..).unwrap_or_default();
                b[..tail.len()].copy_from_slice(tail);
                u64::from_be_bytes(b)
            }
        };
        // `avail < 64` here, so the shift is in range; whole bytes only.
        self.acc |= word >> self.avail;
        let bytes = (63 - self.avail) / 8;
        self.pos += bytes as usize;
        self.avail += bytes * 8;
    }

    /// Reads `n <= 64` bits. Nothing here is an out-of-line call taking `&mut self`, so the
    /// reader's fields stay in registers inside a decode loop.
    #[inline(always)]
    fn read(&mut self, n: u32) -> u64 {
        if n > 56 {
            let hi = self.read_small(n - 32);
            return (hi << 32) | self.read_small(32);
        }
        self.read_small(n)
    }

    /// Reads `n <= 56` bits.
    #[inline(always)]
    fn read_small(&mut self, n: u32) -> u64 {
        if n == 0 {
            return 0;
        }
        if self.avail < n {
            self.refill();
        }
        let v = self.acc >> (64 - n);
        self.acc <<= n;
        self.avail -= n;
        v
    }

    /// One bit (most reads are single control bits).
    #[inline(always)]
    fn bit(&mut self) -> bool {
        if self.avail == 0 {
            self.refill();
        }
        let v = self.acc >> 63;
        self.acc <<= 1;
        self.avail -= 1;
        v == 1
    }

    /// Whether more bits were read than the buffer holds.
    #[inline]
    fn overrun(&self) -> bool {
        self.pos * 8 - self.avail as usize > self.buf.len() * 8
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// An appendable compressed chunk of samples in strictly increasing timestamp order.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    bits: BitWriter,
    count: u16,
    min_t: i64,
    last_t: i64,
    last_delta: i64,
    last_v: u64,
    leading: u8,
    trailing: u8,
}

impl Chunk {
    /// Appends a sample; the caller guarantees `t` is greater than the last timestamp.
    pub fn push(&mut self, t: i64, v: f64) {
        let v = v.to_bits();
        match self.count {
            0 => {
                self.bits.write(t as u64, 64);
                self.bits.write(v, 64);
                self.min_t = t;
                self.leading = 0xff;
            }
            _ => {
                let delta = t.wrapping_sub(self.last_t);
                self.write_dod(delta.wrapping_sub(self.last_delta));
                self.write_value(v);
                self.last_delta = delta;
            }
        }
        self.last_t = t;
        self.last_v = v;
        self.count += 1;
    }

    fn write_dod(&mut self, dod: i64) {
        let fits = |bits: u32| {
            let lim = 1i64 << (bits - 1);
            (-lim..lim).contains(&dod)
        };
        let w = &mut self.bits;
        if dod == 0 {
            w.bit(false);
        } else if fits(14) {
            w.write(0b10, 2);
            w.write(dod as u64, 14);
        } else if fits(17) {
            w.write(0b110, 3);
            w.write(dod as u64, 17);
        } else if fits(20) {
            w.write(0b1110, 4);
            w.write(dod as u64, 20);
        } else {
            w.write(0b1111, 4);
            w.write(dod as u64, 64);
        }
    }

    fn write_value(&mut self, v: u64) {
        let xor = v ^ self.last_v;
        let w = &mut self.bits;
        if xor == 0 {
            w.bit(false);
            return;
        }
        w.bit(true);
        let leading = (xor.leading_zeros() as u8).min(31);
        let trailing = xor.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            w.bit(false);
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            w.write(xor >> self.trailing, sig);
        } else {
            w.bit(true);
            let sig = 64 - u32::from(leading) - u32::from(trailing);
            w.write(u64::from(leading), 5);
            // 64 significant bits do not fit in 6 bits; 0 stands for 64.
            w.write(u64::from(sig as u8 & 0x3f), 6);
            w.write(xor >> trailing, sig);
            self.leading = leading;
            self.trailing = trailing;
        }
    }

    /// Number of samples.
    pub fn len(&self) -> u16 {
        self.count
    }

    /// Whether the chunk holds no samples.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// First timestamp (meaningless when empty).
    pub fn min_t(&self) -> i64 {
        self.min_t
    }

    /// Last timestamp (meaningless when empty).
    pub fn max_t(&self) -> i64 {
        self.last_t
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bits.buf
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.bits.buf.capacity()
    }

    /// Releases spare capacity once the chunk is complete.
    pub fn shrink(&mut self) {
        self.bits.buf.shrink_to_fit();
    }

    /// Appends the samples within `[start, end]` to `out`.
    pub fn decode_range(&self, start: i64, end: i64, out: &mut Vec<(i64, f64)>) {
        let first = out.len();
        decode_into(&self.bits.buf, self.count, out);
        if self.min_t < start || self.last_t > end {
            keep_range(out, first, start, end);
        }
    }

    /// Decoded samples.
    pub fn iter(&self) -> ChunkIter<'_> {
        ChunkIter::new(&self.bits.buf, self.count)
    }
}

/// Decodes `count` samples from encoded chunk bytes; stops early on truncated input.
pub struct ChunkIter<'a> {
    r: BitReader<'a>,
    left: u16,
    first: bool,
    t: i64,
    delta: i64,
    v: u64,
    leading: u32,
    trailing: u32,
}

impl<'a> ChunkIter<'a> {
    /// An iterator over `count` samples encoded in `bytes`.
    pub fn new(bytes: &'a [u8], count: u16) -> Self {
        ChunkIter {
            r: BitReader::new(bytes),
            left: count,
            first: true,
            t: 0,
            delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
        }
    }

    fn read_dod(&mut self) -> i64 {
        let r = &mut self.r;
        if !r.bit() {
            return 0;
        }
        let bits = if !r.bit() {
            14
        } else if !r.bit() {
            17
        } else if !r.bit() {
            20
        } else {
            64
        };
        sign_extend(r.read(bits), bits)
    }

    fn read_value(&mut self) {
        let r = &mut self.r;
        if !r.bit() {
            return;
        }
        if r.bit() {
            self.leading = r.read(5) as u32;
            let sig = match r.read(6) as u32 {
                0 => 64,
                s => s,
            };
            self.trailing = 64u32.saturating_sub(self.leading + sig);
        }
        let sig = 64u32.saturating_sub(self.leading + self.trailing);
        if sig == 0 {
            return;
        }
        let xor = r.read(sig) << self.trailing;
        self.v ^= xor;
    }
}

/// Appends the `count` samples encoded in `bytes` to `out` (fewer if the bytes are truncated).
/// The same decoding as [`ChunkIter`], as one loop whose state stays in registers, writing
/// into slots sized up front and checking for truncation once at the end (then decoding again
/// with [`ChunkIter`]'s per-sample check): a range query decodes millions of samples, and the
/// iterator's per-call state round trip through memory was most of the cost.
pub fn decode_into(bytes: &[u8], count: u16, out: &mut Vec<(i64, f64)>) {
    if count == 0 {
        return;
    }
    let first = out.len();
    out.resize(first + usize::from(count), (0, 0.0));
    let mut r = BitReader::new(bytes);
    let mut t = r.read(64) as i64;
    let mut v = r.read(64);
    let (dst, rest) = out[first..].split_at_mut(1);
    dst[0] = (t, f64::from_bits(v));
    let (mut delta, mut leading, mut trailing) = (0i64, 0u32, 0u32);
    for slot in rest {
        if r.bit() {
            let bits = if !r.bit() {
                14
            } else if !r.bit() {
                17
            } else if !r.bit() {
                20
            } else {
                64
            };
            delta = delta.wrapping_add(sign_extend(r.read(bits), bits));
        }
        t = t.wrapping_add(delta);
        if r.bit() {
            if r.bit() {
                leading = r.read(5) as u32;
                let sig = match r.read(6) as u32 {
                    0 => 64,
                    s => s,
                };
                trailing = 64u32.saturating_sub(leading + sig);
            }
            let sig = 64u32.saturating_sub(leading + trailing);
            if sig > 0 {
                v ^= r.read(sig) << trailing;
            }
        }
        *slot = (t, f64::from_bits(v));
    }
    if r.overrun() {
        out.truncate(first);
        out.extend(ChunkIter::new(bytes, count));
    }
}

/// Keeps, of the ascending samples `out[first..]`, those within `[start, end]`.
pub fn keep_range(out: &mut Vec<(i64, f64)>, first: usize, start: i64, end: i64) {
    let got = &out[first..];
    let lo = got.partition_point(|s| s.0 < start);
    let hi = got.partition_point(|s| s.0 <= end);
    out.truncate(first + hi);
    out.drain(first..first + lo);
}

impl Iterator for ChunkIter<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.left == 0 {
            return None;
        }
        if self.first {
            self.first = false;
            self.t = self.r.read(64) as i64;
            self.v = self.r.read(64);
        } else {
            let dod = self.read_dod();
            self.delta = self.delta.wrapping_add(dod);
            self.t = self.t.wrapping_add(self.delta);
            self.read_value();
        }
        if self.r.overrun() {
            self.left = 0;
            return None;
        }
        self.left -= 1;
        Some((self.t, f64::from_bits(self.v)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.left)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        let mut c = Chunk::default();
        for &(t, v) in samples {
            c.push(t, v);
        }
        ChunkIter::new(c.bytes(), c.len())
            .map(|(t, v)| (t, v.to_bits()))
            .collect()
    }

    fn decoded(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        let mut c = Chunk::default();
        for &(t, v) in samples {
            c.push(t, v);
        }
        let mut out = vec![(-1, 0.5)];
        decode_into(c.bytes(), c.len(), &mut out);
        assert_eq!(out.remove(0), (-1, 0.5), "decode_into appends");
        out.into_iter().map(|(t, v)| (t, v.to_bits())).collect()
    }

    #[test]
    fn regular_scrapes_compress_to_about_two_bits_per_timestamp() {
        let samples: Vec<(i64, f64)> = (0..120).map(|i| (1_000 + i * 15_000, 42.0)).collect();
        let mut c = Chunk::default();
        for &(t, v) in &samples {
            c.push(t, v);
        }
        // 16 header bytes, 20 bits for the second timestamp's delta, then 1 bit per timestamp
        // and 1 per unchanged value: 16 + 3 + 30 bytes.
        assert!(c.bytes().len() <= 50, "{} bytes", c.bytes().len());
        let back: Vec<(i64, f64)> = c.iter().collect();
        assert_eq!(back, samples);
    }

    #[test]
    fn stale_markers_and_extremes_survive() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let s = [
            (i64::MIN / 2, f64::MAX),
            (0, stale),
            (1, -0.0),
            (i64::MAX / 2, f64::MIN_POSITIVE),
            (i64::MAX / 2 + 1, 1.0),
        ];
        let expect: Vec<(i64, u64)> = s.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        assert_eq!(roundtrip(&s), expect);
    }

    #[test]
    fn truncated_bytes_stop_the_iterator() {
        let mut c = Chunk::default();
        for i in 0..50 {
            c.push(i * 1000 + (i * i) % 7, i as f64 * 1.5);
        }
        let cut = &c.bytes()[..c.bytes().len() / 2];
        let n = ChunkIter::new(cut, c.len()).count();
        assert!(n < 50 && n > 0);
        let mut out = Vec::new();
        decode_into(cut, c.len(), &mut out);
        assert_eq!(out.len(), n);
        let mut mid = vec![(0, 0.0)];
        c.decode_range(3000, 7999, &mut mid);
        let want: Vec<(i64, f64)> = c.iter().filter(|s| (3000..=7999).contains(&s.0)).collect();
        assert_eq!(mid[1..], want[..]);
    }

    proptest! {
        #[test]
        fn any_increasing_series_roundtrips(
            start in -1_000_000_000_000i64..1_000_000_000_000,
            steps in proptest::collection::vec((1i64..10_000_000_000, any::<u64>()), 0..300),
        ) {
            let mut t = start;
            let mut s = Vec::new();
            for (d, bits) in steps {
                t += d;
                s.push((t, f64::from_bits(bits)));
            }
            let expect: Vec<(i64, u64)> = s.iter().map(|&(t, v)| (t, v.to_bits())).collect();
            prop_assert_eq!(roundtrip(&s), expect.clone());
            prop_assert_eq!(decoded(&s), expect);
        }
    }
}
