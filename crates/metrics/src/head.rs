//! The in-memory part of a tenant's series store: the series table (interned label sets with an
//! inverted index) and the recent samples of each series as compressed chunks.

use std::collections::HashMap;

use sextant_promql::{Labels, MatchOp, Matcher};

use crate::gorilla::{CHUNK_SAMPLES, Chunk};

/// Why a sample was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// Older than the series' newest sample by more than the out-of-order window, inside the
    /// range the series already has samples for.
    OutOfOrder,
    /// Older than the retention period.
    TooOld,
    /// Same timestamp as a stored sample, different value.
    Duplicate,
    /// A new series beyond the tenant's active-series limit.
    SeriesLimit,
}

impl Rejection {
    /// The reason as Prometheus-style snake case (`out_of_order`, `too_old`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::OutOfOrder => "out_of_order",
            Rejection::TooOld => "too_old",
            Rejection::Duplicate => "duplicate",
            Rejection::SeriesLimit => "series_limit",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`Head::add`] did with an accepted sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Stored (must go to the WAL).
    Stored,
    /// Identical to a stored sample; nothing to do.
    Unchanged,
}

/// One series: labels, time bounds over head and blocks, and head samples.
#[derive(Debug)]
pub struct SeriesEntry {
    /// The label set.
    pub labels: Labels,
    /// Smallest timestamp anywhere (head or blocks); `i64::MAX` when none.
    pub min_t: i64,
    /// Largest timestamp anywhere; `i64::MIN` when none.
    pub max_t: i64,
    /// First timestamp appended in order; backfill is accepted before it.
    live_min: i64,
    chunks: Vec<Chunk>,
    /// Out-of-order and backfilled samples, sorted by timestamp.
    ooo: Vec<(i64, f64)>,
    /// Declared in the current WAL segment.
    pub wal_known: bool,
    /// Has samples in the head (counts toward the active-series limit).
    pub active: bool,
}

impl SeriesEntry {
    fn new(labels: Labels) -> Self {
        SeriesEntry {
            labels,
            min_t: i64::MAX,
            max_t: i64::MIN,
            live_min: i64::MAX,
            chunks: Vec::new(),
            ooo: Vec::new(),
            wal_known: false,
            active: false,
        }
    }

    fn head_max(&self) -> Option<i64> {
        self.chunks
            .last()
            .filter(|c| !c.is_empty())
            .map(Chunk::max_t)
    }

    /// The head value stored at `t`, if any.
    fn head_value(&self, t: i64) -> Option<f64> {
        if let Ok(i) = self.ooo.binary_search_by_key(&t, |s| s.0) {
            return Some(self.ooo[i].1);
        }
        self.chunks
            .iter()
            .filter(|c| c.min_t() <= t && c.max_t() >= t)
            .flat_map(Chunk::iter)
            .find(|s| s.0 == t)
            .map(|s| s.1)
    }

    fn push_in_order(&mut self, t: i64, v: f64) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK_SAMPLES => c.push(t, v),
            _ => {
                if let Some(c) = self.chunks.last_mut() {
                    c.shrink();
                }
                let mut c = Chunk::default();
                c.push(t, v);
                self.chunks.push(c);
            }
        }
    }

    /// Head samples within `[start, end]`, sorted and distinct (out-of-order ones win).
    pub fn head_samples(&self, start: i64, end: i64, out: &mut Vec<(i64, f64)>) {
        for c in &self.chunks {
            if c.max_t() >= start && c.min_t() <= end {
                c.decode_range(start, end, out);
            }
        }
        out.extend(self.ooo.iter().filter(|s| s.0 >= start && s.0 <= end));
    }

    /// Whether the head holds samples.
    pub fn has_head_samples(&self) -> bool {
        !self.chunks.is_empty() || !self.ooo.is_empty()
    }

    /// Heap bytes of the head samples.
    fn sample_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.chunks.iter().map(Chunk::heap_bytes).sum::<usize>()
            + self.ooo.capacity() * 16
    }

    /// Empties the head samples after they were written to a block.
    fn clear_head(&mut self) {
        self.chunks = Vec::new();
        self.ooo = Vec::new();
        self.active = false;
    }
}

/// One series' samples ready for a block: id, labels, sorted distinct samples.
pub type SeriesSamples = (u32, Labels, Vec<(i64, f64)>);

/// Sorts samples by timestamp and keeps the last one written for each timestamp.
pub fn sort_dedup(samples: &mut Vec<(i64, f64)>) {
    // The common case (one block or the head alone) is already strictly increasing.
    if samples.windows(2).all(|w| w[0].0 < w[1].0) {
        return;
    }
    samples.sort_by_key(|s| s.0);
    let mut w = 0;
    for r in 0..samples.len() {
        if w > 0 && samples[w - 1].0 == samples[r].0 {
            samples[w - 1] = samples[r];
        } else {
            samples[w] = samples[r];
            w += 1;
        }
    }
    samples.truncate(w);
}

/// Limits that decide what [`Head::add`] accepts.
#[derive(Debug, Clone, Copy)]
pub struct AddRules {
    /// How far behind a series' newest sample a sample may be (ms).
    pub ooo_window_ms: i64,
}

/// The series table and head samples of one tenant.
#[derive(Debug, Default)]
pub struct Head {
    series: Vec<SeriesEntry>,
    ids: HashMap<Labels, u32, ahash::RandomState>,
    postings: HashMap<String, HashMap<String, Vec<u32>>>,
    active: usize,
    /// Time range of the head samples.
    pub min_t: i64,
    /// Time range of the head samples.
    pub max_t: i64,
    samples: usize,
}

impl Head {
    /// An empty head.
    pub fn new() -> Self {
        Head {
            min_t: i64::MAX,
            max_t: i64::MIN,
            ..Head::default()
        }
    }

    /// The id of `labels`, if known.
    pub fn id(&self, labels: &Labels) -> Option<u32> {
        self.ids.get(labels).copied()
    }

    /// The id of `labels`, creating the series when new.
    pub fn intern(&mut self, labels: &Labels) -> u32 {
        if let Some(id) = self.ids.get(labels) {
            return *id;
        }
        let id = self.series.len() as u32;
        for (n, v) in labels.iter() {
            self.postings
                .entry(n.to_owned())
                .or_default()
                .entry(v.to_owned())
                .or_default()
                .push(id);
        }
        self.ids.insert(labels.clone(), id);
        self.series.push(SeriesEntry::new(labels.clone()));
        id
    }

    /// The series `id`.
    pub fn series(&self, id: u32) -> &SeriesEntry {
        &self.series[id as usize]
    }

    /// Reads the bytes [`Head::add`] will next write for series `id` (its entry and the tail
    /// of its open chunk) and returns one of them. Called for a whole batch before storing it,
    /// so the cache misses of many series overlap instead of stalling each sample in turn.
    pub fn warm(&self, id: u32) -> u8 {
        self.series
            .get(id as usize)
            .and_then(|s| s.chunks.last())
            .and_then(|c| c.bytes().last().copied())
            .unwrap_or(0)
    }

    /// The series `id`, mutably.
    pub fn series_mut(&mut self, id: u32) -> &mut SeriesEntry {
        &mut self.series[id as usize]
    }

    /// Widens the time bounds of `id` with data found in a block.
    pub fn note_block(&mut self, id: u32, min_t: i64, max_t: i64) {
        let s = &mut self.series[id as usize];
        s.min_t = s.min_t.min(min_t);
        s.max_t = s.max_t.max(max_t);
        s.live_min = s.live_min.min(min_t);
    }

    /// Series with samples in the head.
    pub fn active_series(&self) -> usize {
        self.active
    }

    /// Marks `id` active; `false` if that would exceed `limit`.
    pub fn activate(&mut self, id: u32, limit: usize) -> bool {
        let s = &mut self.series[id as usize];
        if s.active {
            return true;
        }
        if self.active >= limit {
            return false;
        }
        s.active = true;
        self.active += 1;
        true
    }

    /// Samples stored in the head.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Validates and stores one sample of series `id`.
    pub fn add(&mut self, id: u32, t: i64, v: f64, rules: AddRules) -> Result<Added, Rejection> {
        let s = &mut self.series[id as usize];
        if s.max_t == i64::MIN || t > s.max_t {
            if s.head_max().is_none_or(|m| t > m) {
                s.push_in_order(t, v);
            } else {
                insert_ooo(&mut s.ooo, t, v);
            }
            if s.live_min == i64::MAX {
                s.live_min = t;
            }
        } else {
            if let Some(old) = s.head_value(t) {
                return if old.to_bits() == v.to_bits() {
                    Ok(Added::Unchanged)
                } else {
                    Err(Rejection::Duplicate)
                };
            }
            let in_window = t >= s.max_t.saturating_sub(rules.ooo_window_ms);
            if !in_window && t >= s.live_min {
                return Err(Rejection::OutOfOrder);
            }
            insert_ooo(&mut s.ooo, t, v);
        }
        s.min_t = s.min_t.min(t);
        s.max_t = s.max_t.max(t);
        self.min_t = self.min_t.min(t);
        self.max_t = self.max_t.max(t);
        self.samples += 1;
        Ok(Added::Stored)
    }

    /// Every head series' samples (sorted, distinct) for a block; the head is unchanged.
    pub fn block_contents(&self) -> Vec<SeriesSamples> {
        let mut out = Vec::with_capacity(self.active);
        for (id, s) in self.series.iter().enumerate() {
            if !s.has_head_samples() {
                continue;
            }
            let mut samples = Vec::new();
            s.head_samples(i64::MIN, i64::MAX, &mut samples);
            sort_dedup(&mut samples);
            out.push((id as u32, s.labels.clone(), samples));
        }
        out
    }

    /// Empties the head once its contents are in a block.
    pub fn clear(&mut self) {
        for s in &mut self.series {
            s.clear_head();
        }
        self.active = 0;
        self.samples = 0;
        self.min_t = i64::MAX;
        self.max_t = i64::MIN;
    }

    /// Forgets which series the WAL declared (after a rotation or at startup).
    pub fn forget_wal(&mut self) {
        for s in &mut self.series {
            s.wal_known = false;
        }
    }

    /// Candidate series ids for `matchers` from the inverted index, then checked in full.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<u32> {
        let mut best: Option<Vec<u32>> = None;
        for m in matchers {
            if m.op != MatchOp::Equal || m.value.is_empty() {
                continue;
            }
            let list = self
                .postings
                .get(&m.name)
                .and_then(|vals| vals.get(&m.value))
                .cloned()
                .unwrap_or_default();
            best = Some(match best {
                None => list,
                Some(prev) => intersect(&prev, &list),
            });
        }
        let candidates = best.unwrap_or_else(|| (0..self.series.len() as u32).collect());
        candidates
            .into_iter()
            .filter(|&id| Matcher::all_match(matchers, &self.series[id as usize].labels))
            .collect()
    }

    /// Approximate heap bytes of the head: series table, index and samples.
    pub fn memory_bytes(&self) -> usize {
        let mut total = self.series.capacity() * std::mem::size_of::<SeriesEntry>();
        // Each id-map entry: the label set handle, the id and a control byte.
        total += self.ids.capacity() * (std::mem::size_of::<(Labels, u32)>() + 1);
        for s in &self.series {
            // The label set: refcount header plus pairs and their string bytes (its handle,
            // with the cached hash, is counted in the entry and id-map sizes).
            total += 16
                + s.labels
                    .iter()
                    .map(|(n, v)| 48 + n.len() + v.len())
                    .sum::<usize>();
            total += s.sample_bytes();
        }
        for (name, vals) in &self.postings {
            total += name.len() + 48;
            for (v, ids) in vals {
                total += v.len() + 48 + ids.capacity() * 4;
            }
        }
        total
    }
}

fn insert_ooo(ooo: &mut Vec<(i64, f64)>, t: i64, v: f64) {
    match ooo.binary_search_by_key(&t, |s| s.0) {
        Ok(i) => ooo[i].1 = v,
        Err(i) => ooo.insert(i, (t, v)),
    }
}

fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: AddRules = AddRules {
        ooo_window_ms: 600_000,
    };

    fn head_with(labels: &Labels) -> (Head, u32) {
        let mut h = Head::new();
        let id = h.intern(labels);
        (h, id)
    }

    #[test]
    fn out_of_order_window_duplicates_and_backfill() {
        let l = Labels::from_pairs(&[("__name__", "m")]);
        let (mut h, id) = head_with(&l);
        let min = 60_000;
        for m in 100..=130 {
            assert_eq!(h.add(id, m * min, m as f64, RULES), Ok(Added::Stored));
        }
        // 5 minutes late: inside the 10-minute window.
        assert_eq!(h.add(id, 125 * min + 1, 0.5, RULES), Ok(Added::Stored));
        // Same timestamp, same value: accepted without change; other value: duplicate.
        assert_eq!(h.add(id, 130 * min, 130.0, RULES), Ok(Added::Unchanged));
        assert_eq!(
            h.add(id, 125 * min + 1, 9.0, RULES),
            Err(Rejection::Duplicate)
        );
        assert_eq!(h.add(id, 105 * min, 9.0, RULES), Err(Rejection::Duplicate));
        // Late by more than the window but inside the series' range: out of order.
        assert_eq!(
            h.add(id, 110 * min + 1, 1.0, RULES),
            Err(Rejection::OutOfOrder)
        );
        // Before the first in-order sample: backfill, in any order.
        assert_eq!(h.add(id, 10 * min, 1.0, RULES), Ok(Added::Stored));
        assert_eq!(h.add(id, 11 * min, 1.0, RULES), Ok(Added::Stored));
        assert_eq!(h.add(id, 5 * min, 1.0, RULES), Ok(Added::Stored));
        let mut got = Vec::new();
        h.series(id).head_samples(i64::MIN, i64::MAX, &mut got);
        sort_dedup(&mut got);
        let mut want: Vec<i64> = vec![5 * min, 10 * min, 11 * min, 125 * min + 1];
        want.extend((100..=130).map(|m| m * min));
        want.sort();
        let ts: Vec<i64> = got.iter().map(|s| s.0).collect();
        assert_eq!(ts, want);
    }

    #[test]
    fn index_selects_by_equality_and_regex() -> sextant_promql::Result<()> {
        let mut h = Head::new();
        let a = h.intern(&Labels::from_pairs(&[("__name__", "up"), ("job", "a")]));
        let b = h.intern(&Labels::from_pairs(&[("__name__", "up"), ("job", "b")]));
        let c = h.intern(&Labels::from_pairs(&[("__name__", "down"), ("job", "a")]));
        let up = Matcher::new("__name__", MatchOp::Equal, "up")?;
        assert_eq!(h.select(std::slice::from_ref(&up)), vec![a, b]);
        let ja = Matcher::new("job", MatchOp::Equal, "a")?;
        assert_eq!(h.select(&[up.clone(), ja.clone()]), vec![a]);
        let re = Matcher::new("__name__", MatchOp::Regex, "d.*")?;
        assert_eq!(h.select(&[re]), vec![c]);
        let nojob = Matcher::new("job", MatchOp::Equal, "")?;
        assert!(h.select(&[nojob]).is_empty());
        Ok(())
    }

    #[test]
    fn active_limit_counts_series_with_head_samples() {
        let mut h = Head::new();
        let a = h.intern(&Labels::from_pairs(&[("a", "1")]));
        let b = h.intern(&Labels::from_pairs(&[("a", "2")]));
        assert!(h.activate(a, 1));
        assert!(h.activate(a, 1));
        assert!(!h.activate(b, 1));
        assert_eq!(h.add(a, 1, 1.0, RULES), Ok(Added::Stored));
        assert_eq!(h.block_contents().len(), 1);
        h.clear();
        assert!(h.activate(b, 1));
    }
}
