//! Long-distance deduplication of a block's long attribute values.
//!
//! Parquet compresses each page (about 1 MiB) on its own, so a value that repeats text seen
//! further back in the block (the history an agent re-sends on every chat call, a system
//! prompt, a tool schema, a document quoted by several spans) is stored again at the text's
//! own compression ratio. The encoder keeps one content store per block: every run of bytes it
//! has not seen is appended to the store, and each value becomes a *recipe*, the list of store
//! ranges that concatenate to it. Matching is the long-distance matcher of zstd's `--long` mode
//! in small (content-defined anchors of a rolling gear hash, a table from window hash to store
//! position, verify, extend both ways), written here because zstd offers it only inside one
//! stream, where every value would depend on all the values before it; a recipe is read with
//! its row and a few frames of the store, so a trace lookup stays cheap.

/// The window the rolling hash covers, and the shortest run worth a reference (a reference
/// costs a few bytes of recipe).
const MIN_MATCH: usize = 16;
/// The shortest match used: shorter ones cost nearly as much recipe as the bytes they save,
/// and would cut the store into pieces later matches cannot run across.
const MIN_REF: usize = 40;
/// A window is an anchor when these bits of its hash are zero: one anchor every 8 bytes on
/// average, placed by content, so the same text gets the same anchors wherever it appears.
const ANCHOR_MASK: u32 = 0xE000_0000;
const TABLE_BITS: u32 = 21;
/// Store bytes kept in memory for matching; older bytes are only on disk and no longer
/// matched, which bounds the memory of a compaction however large the block. Two generator
/// processes' 16 MiB text pools grow a 1.7 M-span block's store past 48 MiB (67.9 B/span
/// then, 61.0 with this window).
const WINDOW: usize = 128 << 20;
const GEAR: [u64; 256] = gear_table();

/// SplitMix64 values: a fixed pseudo-random table, the same in every build.
const fn gear_table() -> [u64; 256] {
    let mut t = [0u64; 256];
    let mut s: u64 = 0x5EC7_A47D_ED0F_F5E7;
    let mut i = 0;
    while i < 256 {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        t[i] = z ^ (z >> 31);
        i += 1;
    }
    t
}

/// Gear hash shifting two bits a byte: its low 32 bits depend on exactly the last 16 bytes.
#[inline]
fn roll(h: u64, b: u8) -> u64 {
    (h << 2).wrapping_add(GEAR[b as usize])
}

#[inline]
fn is_anchor(h: u64) -> bool {
    (h as u32) & ANCHOR_MASK == 0
}

#[inline]
fn slot(h: u64) -> usize {
    ((h as u32).wrapping_mul(0x9E37_79B1) >> (32 - TABLE_BITS)) as usize
}

/// Builds a block's content store and the recipe of each value.
pub struct Encoder {
    /// The store from `base` on; bytes before `base` were handed out by `take_flushed`.
    window: Vec<u8>,
    base: u64,
    /// Bytes of `window` already handed out (they stay for matching).
    flushed: usize,
    /// Window-hash slot -> store position just past an anchored window (0: empty); allocated
    /// by the first value, so blocks without long values pay nothing.
    table: Vec<u64>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    pub fn new() -> Self {
        Self {
            window: Vec::new(),
            base: 0,
            flushed: 0,
            table: Vec::new(),
        }
    }

    /// Store bytes appended since the last call, to be written out in order.
    pub fn take_unflushed(&mut self) -> &[u8] {
        let start = self.flushed;
        self.flushed = self.window.len();
        &self.window[start..]
    }

    /// Appends the recipe of `value` to `recipe`; returns how many ranges it has.
    pub fn encode(&mut self, value: &[u8], recipe: &mut Vec<u8>) -> u64 {
        if self.table.is_empty() {
            self.table = vec![0; 1 << TABLE_BITS];
            // Reserved once (pages are only touched as they fill), so growing never copies.
            self.window.reserve(WINDOW);
        }
        let mut w = RecipeWriter::new(recipe);
        let mut lit = 0;
        let mut i = 0;
        let mut h = 0u64;
        let mut rolled = 0;
        while i < value.len() {
            h = roll(h, value[i]);
            i += 1;
            rolled += 1;
            if rolled < MIN_MATCH || !is_anchor(h) {
                continue;
            }
            let Some((s_start, x_start, len)) = self.find(value, lit, i, h) else {
                continue;
            };
            self.literal(&value[lit..x_start], &mut w);
            w.push(s_start, len as u64);
            i = x_start + len;
            lit = i;
            h = 0;
            rolled = 0;
        }
        self.literal(&value[lit..], &mut w);
        w.finish();
        w.ranges
    }

    /// The store match of the anchored window ending at `value[..end]`, extended back to
    /// `lit` at most and forward as far as it goes: (store start, value start, length).
    fn find(&self, value: &[u8], lit: usize, end: usize, h: u64) -> Option<(u64, usize, usize)> {
        let p = self.table[slot(h)].checked_sub(self.base)? as usize;
        let s = p.checked_sub(MIN_MATCH)?;
        let x = end - MIN_MATCH;
        if self.window.get(s..p)? != &value[x..end] {
            return None;
        }
        let mut back = 0;
        while back < x - lit && back < s && self.window[s - back - 1] == value[x - back - 1] {
            back += 1;
        }
        let rest = &value[end..];
        let fwd = self.window[p..]
            .iter()
            .zip(rest)
            .take_while(|(a, b)| a == b)
            .count();
        let len = MIN_MATCH + back + fwd;
        (len >= MIN_REF).then_some((self.base + (s - back) as u64, x - back, len))
    }

    /// Appends `bytes` to the store, references it and indexes its anchors.
    fn literal(&mut self, bytes: &[u8], w: &mut RecipeWriter<'_>) {
        if bytes.is_empty() {
            return;
        }
        self.slide();
        let start = self.window.len();
        w.push(self.base + start as u64, bytes.len() as u64);
        self.window.extend_from_slice(bytes);
        let mut h = 0u64;
        for (i, &b) in bytes.iter().enumerate() {
            h = roll(h, b);
            if i + 1 >= MIN_MATCH && is_anchor(h) {
                self.table[slot(h)] = self.base + (start + i + 1) as u64;
            }
        }
    }

    /// Forgets the older half of a full window once it has been handed out.
    fn slide(&mut self) {
        if self.window.len() < WINDOW || self.flushed < WINDOW / 2 {
            return;
        }
        let drop = WINDOW / 2;
        self.window.drain(..drop);
        self.flushed -= drop;
        self.base += drop as u64;
    }
}

/// Writes a recipe: per range, the zigzag varint of its start minus the previous range's end
/// (the first counts from 0), then the varint of its length. Adjacent ranges are merged.
struct RecipeWriter<'a> {
    out: &'a mut Vec<u8>,
    prev_end: u64,
    pending: Option<(u64, u64)>,
    /// Ranges written so far.
    ranges: u64,
}

impl<'a> RecipeWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            prev_end: 0,
            pending: None,
            ranges: 0,
        }
    }

    fn push(&mut self, off: u64, len: u64) {
        match &mut self.pending {
            Some((p_off, p_len)) if *p_off + *p_len == off => *p_len += len,
            _ => {
                self.finish();
                self.pending = Some((off, len));
            }
        }
    }

    fn finish(&mut self) {
        let Some((off, len)) = self.pending.take() else {
            return;
        };
        let delta = off.wrapping_sub(self.prev_end) as i64;
        put_varint(self.out, ((delta << 1) ^ (delta >> 63)) as u64);
        put_varint(self.out, len);
        self.prev_end = off + len;
        self.ranges += 1;
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn get_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        v |= ((b & 0x7F) as u64) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Reads `n` ranges of a recipe from the front of `buf`: (store offset, length) pairs, or
/// `None` when the recipe is malformed.
pub fn read_ranges(buf: &mut &[u8], n: u64) -> Option<Vec<(u64, u64)>> {
    let mut prev_end = 0u64;
    let mut out = Vec::with_capacity(n.min(64) as usize);
    for _ in 0..n {
        let z = get_varint(buf)?;
        let len = get_varint(buf)?;
        let delta = ((z >> 1) as i64) ^ -((z & 1) as i64);
        let off = prev_end.checked_add_signed(delta)?;
        prev_end = off.checked_add(len)?;
        out.push((off, len));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Counts the ranges of a whole recipe (what `encode` appended for one value).
    fn count_ranges(mut buf: &[u8]) -> Option<u64> {
        let mut n = 0;
        while !buf.is_empty() {
            get_varint(&mut buf)?;
            get_varint(&mut buf)?;
            n += 1;
        }
        Some(n)
    }

    /// Rebuilds each value from the store the encoder produced.
    fn roundtrip(values: &[Vec<u8>]) -> (Vec<u8>, usize) {
        let mut enc = Encoder::new();
        let mut recipes = Vec::new();
        for v in values {
            let mut r = Vec::new();
            let n = enc.encode(v, &mut r);
            recipes.push((r, n));
        }
        let store = enc.take_unflushed().to_vec();
        for (v, (r, returned)) in values.iter().zip(&recipes) {
            let n = count_ranges(r).expect("well-formed");
            assert_eq!(n, *returned, "encode counts the ranges it wrote");
            let ranges = read_ranges(&mut r.as_slice(), n).expect("well-formed");
            let mut out = Vec::new();
            for (off, len) in ranges {
                out.extend_from_slice(&store[off as usize..(off + len) as usize]);
            }
            assert_eq!(&out, v);
        }
        (store, recipes.iter().map(|(r, _)| r.len()).sum())
    }

    #[test]
    fn repeated_text_is_stored_once() {
        let text: Vec<u8> = (0..4000u32)
            .flat_map(|i| format!("w{} ", i * 7919 % 1000).into_bytes())
            .collect();
        let values: Vec<Vec<u8>> = (0..50)
            .map(|i| text[i * 40..i * 40 + 600].to_vec())
            .collect();
        let (store, recipes) = roundtrip(&values);
        // 50 overlapping windows of 600 bytes span 2,560 bytes of text.
        assert!(store.len() < 3000, "store {} bytes", store.len());
        assert!(recipes < 50 * 12, "recipes {recipes} bytes");
    }

    #[test]
    fn a_conversation_stores_each_turn_once() {
        let mut history = b"system: you are a helpful agent that answers briefly.\n".to_vec();
        let mut values = Vec::new();
        for turn in 0..20 {
            history.extend_from_slice(format!("user: question number {turn} about the weather in city {turn}?\nassistant: it is sunny in city {turn}, {} degrees.\n", turn * 3).as_bytes());
            values.push(history.clone());
        }
        let (store, _) = roundtrip(&values);
        assert!(
            store.len() < history.len() + 400,
            "store {} vs history {}",
            store.len(),
            history.len()
        );
    }

    #[test]
    fn malformed_recipes_are_refused() {
        assert_eq!(read_ranges(&mut &[0x80u8][..], 1), None);
        assert_eq!(
            read_ranges(&mut &[0x01u8, 0x05][..], 1),
            None,
            "start before 0"
        );
        assert_eq!(count_ranges(&[0x02]), None);
    }

    proptest! {
        #[test]
        fn any_values_roundtrip(values in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..300), 0..40)) {
            roundtrip(&values);
        }
    }
}
