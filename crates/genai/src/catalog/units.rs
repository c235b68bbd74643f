//! Billable units and the arithmetic that turns usage into a price.
//!
//! Units nest: a cache read is an input token with `token_type=cache_read`, a reasoning token is an
//! output token with `token_type=reasoning`. Each usage figure is the total of its unit *including*
//! the more specific ones (cached tokens are inside `input_tokens`). To bill each token once, a
//! priced unit is charged only for its tokens not covered by a more specific priced unit. When a
//! model has no separate price for, say, reasoning, those tokens simply stay in `output_tokens`.
//! The unit names and dimensions are the genai-prices unit facts (MIT, see `catalog_notice`).

use super::schema::PriceValue;

/// A billable unit.
#[derive(Debug)]
pub struct Unit {
    /// Usage key (`cache_read_tokens`).
    pub usage_key: &'static str,
    /// Price key in the feed (`cache_read_mtok`).
    pub price_key: &'static str,
    /// Units per price (1e6 for `*_mtok`).
    pub per: f64,
    /// Dimensions; a unit is more specific than another when its dimensions include the other's.
    pub dims: &'static [(&'static str, &'static str)],
}

const M: f64 = 1_000_000.0;
const K: f64 = 1_000.0;

macro_rules! unit {
    ($u:literal, $p:literal, $per:expr, [$($k:literal = $v:literal),*]) => {
        Unit { usage_key: $u, price_key: $p, per: $per, dims: &[$(($k, $v)),*] }
    };
}

/// All units the feed prices.
pub static UNITS: &[Unit] = &[
    unit!(
        "input_tokens",
        "input_mtok",
        M,
        ["family" = "tokens", "direction" = "input"]
    ),
    unit!(
        "output_tokens",
        "output_mtok",
        M,
        ["family" = "tokens", "direction" = "output"]
    ),
    unit!(
        "cache_read_tokens",
        "cache_read_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "token_type" = "cache_read"
        ]
    ),
    unit!(
        "cache_write_tokens",
        "cache_write_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "token_type" = "cache_write"
        ]
    ),
    unit!(
        "cache_write_5m_tokens",
        "cache_write_5m_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "token_type" = "cache_write",
            "cache_ttl" = "5m"
        ]
    ),
    unit!(
        "cache_write_1h_tokens",
        "cache_write_1h_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "token_type" = "cache_write",
            "cache_ttl" = "1h"
        ]
    ),
    unit!(
        "input_text_tokens",
        "input_text_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "text"
        ]
    ),
    unit!(
        "output_text_tokens",
        "output_text_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "output",
            "modality" = "text"
        ]
    ),
    unit!(
        "cache_text_read_tokens",
        "cache_text_read_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "text",
            "token_type" = "cache_read"
        ]
    ),
    unit!(
        "cache_text_write_tokens",
        "cache_text_write_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "text",
            "token_type" = "cache_write"
        ]
    ),
    unit!(
        "input_audio_tokens",
        "input_audio_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "audio"
        ]
    ),
    unit!(
        "output_audio_tokens",
        "output_audio_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "output",
            "modality" = "audio"
        ]
    ),
    unit!(
        "cache_audio_read_tokens",
        "cache_audio_read_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "audio",
            "token_type" = "cache_read"
        ]
    ),
    unit!(
        "cache_audio_write_tokens",
        "cache_audio_write_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "audio",
            "token_type" = "cache_write"
        ]
    ),
    unit!(
        "input_image_tokens",
        "input_image_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "image"
        ]
    ),
    unit!(
        "output_image_tokens",
        "output_image_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "output",
            "modality" = "image"
        ]
    ),
    unit!(
        "cache_image_read_tokens",
        "cache_image_read_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "image",
            "token_type" = "cache_read"
        ]
    ),
    unit!(
        "input_video_tokens",
        "input_video_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "video"
        ]
    ),
    unit!(
        "output_video_tokens",
        "output_video_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "output",
            "modality" = "video"
        ]
    ),
    unit!(
        "cache_video_read_tokens",
        "cache_video_read_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "video",
            "token_type" = "cache_read"
        ]
    ),
    unit!(
        "input_tool_tokens",
        "input_tool_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "token_type" = "tool"
        ]
    ),
    unit!(
        "input_text_tool_tokens",
        "input_text_tool_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "input",
            "modality" = "text",
            "token_type" = "tool"
        ]
    ),
    unit!(
        "output_reasoning_tokens",
        "output_reasoning_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "output",
            "token_type" = "reasoning"
        ]
    ),
    unit!(
        "output_citation_tokens",
        "output_citation_mtok",
        M,
        [
            "family" = "tokens",
            "direction" = "output",
            "token_type" = "citation"
        ]
    ),
    unit!(
        "web_searches",
        "web_searches_kcount",
        K,
        ["family" = "tool_calls", "tool_type" = "web_search"]
    ),
    unit!("requests", "requests_kcount", K, ["family" = "requests"]),
];

/// Index of the unit with this usage key.
pub fn unit_by_usage_key(key: &str) -> Option<usize> {
    UNITS.iter().position(|u| u.usage_key == key)
}

/// Index of the unit with this price key.
pub fn unit_by_price_key(key: &str) -> Option<usize> {
    UNITS.iter().position(|u| u.price_key == key)
}

/// Number of units (the size of per-unit arrays).
pub const UNIT_COUNT: usize = 26;

/// Well-known unit indexes used by span pricing.
pub mod idx {
    /// `input_tokens`.
    pub const INPUT: usize = 0;
    /// `output_tokens`.
    pub const OUTPUT: usize = 1;
    /// `cache_read_tokens`.
    pub const CACHE_READ: usize = 2;
    /// `cache_write_tokens`.
    pub const CACHE_WRITE: usize = 3;
    /// `output_reasoning_tokens`.
    pub const REASONING: usize = 22;
    /// `requests` (one per call when not reported).
    pub const REQUESTS: usize = 25;
}

/// Usage figures by unit (each including its more specific units). A fixed array: building and
/// reading one allocates nothing, which matters because every priced span makes one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    values: [Option<u64>; UNIT_COUNT],
}

impl Usage {
    /// Sets a figure (an unknown unit index is ignored).
    pub fn set(&mut self, unit: usize, value: u64) {
        if let Some(slot) = self.values.get_mut(unit) {
            *slot = Some(value);
        }
    }

    /// Sets a figure by usage key; false when the key is unknown.
    pub fn set_key(&mut self, key: &str, value: u64) -> bool {
        match unit_by_usage_key(key) {
            Some(u) => {
                self.set(u, value);
                true
            }
            None => false,
        }
    }

    /// The reported figure.
    pub fn get(&self, unit: usize) -> Option<u64> {
        self.values.get(unit).copied().flatten()
    }
}

/// A model's resolved price list: unit index → price.
pub type UnitPrices = Vec<(usize, PriceValue)>;

/// Price of a usage, split by direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breakdown {
    /// Input-side USD.
    pub input_usd: f64,
    /// Output-side USD.
    pub output_usd: f64,
    /// Everything, including units with no direction (requests, searches).
    pub total_usd: f64,
}

/// Why a usage cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// A more specific figure exceeds its total (cached > input, ...).
    #[error("invalid usage: more specific figures exceed {0}")]
    Exceeds(&'static str),
    /// A priced total is missing although a more specific figure is reported.
    #[error("missing usage for {0}")]
    Missing(&'static str),
}

/// The order `calc` bills units in: most specific first (more dimensions), then by name.
fn billing_key(u: usize) -> (std::cmp::Reverse<usize>, &'static str) {
    (std::cmp::Reverse(UNITS[u].dims.len()), UNITS[u].usage_key)
}

/// Puts a price list in billing order; the catalog does it once when it is built, so that
/// `calc` need not sort on every call.
pub fn sort_units(prices: &mut UnitPrices) {
    prices.sort_by_key(|(u, _)| billing_key(*u));
}

// Relations between units, computed from `UNITS` at compile time: every priced span asks them
// several times, and comparing dimension strings cost more than the rest of the arithmetic.

/// Bit `d` of `DESCENDANTS[a]`: every dimension of unit `a` is one of unit `d` (`d` is `a` or
/// more specific than it).
static DESCENDANTS: [u32; UNIT_COUNT] = {
    let mut t = [0u32; UNIT_COUNT];
    let mut a = 0;
    while a < UNIT_COUNT {
        let mut d = 0;
        while d < UNIT_COUNT {
            if dims_within(UNITS[a].dims, UNITS[d].dims) {
                t[a] |= 1 << d;
            }
            d += 1;
        }
        a += 1;
    }
    t
};

/// `RANK[u]`: the unit's place in billing order (`billing_key`), so a list is checked for
/// order without comparing names.
static RANK: [u8; UNIT_COUNT] = {
    let mut t = [0u8; UNIT_COUNT];
    let mut u = 0;
    while u < UNIT_COUNT {
        let mut v = 0;
        while v < UNIT_COUNT {
            let (du, dv) = (UNITS[u].dims.len(), UNITS[v].dims.len());
            if dv > du || (dv == du && str_less(UNITS[v].usage_key, UNITS[u].usage_key)) {
                t[u] += 1;
            }
            v += 1;
        }
        u += 1;
    }
    t
};

/// Which side of a breakdown a unit's cost goes to: its `direction` dimension.
#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Input,
    Output,
    Neither,
}

static DIRECTION: [Direction; UNIT_COUNT] = {
    let mut t = [Direction::Neither; UNIT_COUNT];
    let mut u = 0;
    while u < UNIT_COUNT {
        if dims_within(&[("direction", "input")], UNITS[u].dims) {
            t[u] = Direction::Input;
        } else if dims_within(&[("direction", "output")], UNITS[u].dims) {
            t[u] = Direction::Output;
        }
        u += 1;
    }
    t
};

/// Unit `d` is more specific than unit `a` (or is `a`).
fn is_descendant(a: usize, d: usize) -> bool {
    DESCENDANTS[a] & (1 << d) != 0
}

/// Every `(key, value)` of `dims` is in `of`.
const fn dims_within(dims: &[(&str, &str)], of: &[(&str, &str)]) -> bool {
    let mut i = 0;
    while i < dims.len() {
        let mut j = 0;
        while j < of.len() && !(str_eq(dims[i].0, of[j].0) && str_eq(dims[i].1, of[j].1)) {
            j += 1;
        }
        if j == of.len() {
            return false;
        }
        i += 1;
    }
    true
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() && a[i] == b[i] {
        i += 1;
    }
    i == a.len()
}

/// `a < b` as `str` orders them (bytewise).
const fn str_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// Prices a usage (see the module doc for how nested units are billed once).
pub fn calc(prices: &UnitPrices, usage: &Usage) -> Result<Breakdown, UsageError> {
    // Catalog lists come sorted (`sort_units`); a list built elsewhere is sorted here.
    if !prices.is_sorted_by_key(|(u, _)| RANK[*u]) {
        let mut sorted = prices.clone();
        sort_units(&mut sorted);
        return calc(&sorted, usage);
    }
    // The tokens each priced unit bills itself (its total less what more specific priced units
    // bill), in billing order; a unit appears at most once in a list, so this fits.
    let mut leaves = [(usize::MAX, 0u64); UNIT_COUNT];
    for (n, (u, _)) in prices.iter().enumerate().take(UNIT_COUNT) {
        let unit = &UNITS[*u];
        let total = match usage.get(*u) {
            Some(v) => v,
            None if *u == idx::REQUESTS => 1,
            None => infer_missing(*u, usage)?,
        };
        let covered: u64 = leaves[..n]
            .iter()
            .filter(|(d, _)| d != u && is_descendant(*u, *d))
            .map(|(_, v)| *v)
            .sum();
        let leaf = total
            .checked_sub(covered)
            .ok_or(UsageError::Exceeds(unit.usage_key))?;
        leaves[n] = (*u, leaf);
    }
    let tiered = prices
        .iter()
        .any(|(_, p)| matches!(p, PriceValue::Tiered { .. }));
    let threshold = if tiered {
        usage.get(idx::INPUT).unwrap_or(0)
    } else {
        0
    };
    let mut b = Breakdown {
        input_usd: 0.0,
        output_usd: 0.0,
        total_usd: 0.0,
    };
    for ((u, price), (_, leaf)) in prices.iter().zip(&leaves) {
        let unit = &UNITS[*u];
        let usd = unit_price(price, threshold) * (*leaf as f64) / unit.per;
        b.total_usd += usd;
        match DIRECTION[*u] {
            Direction::Input => b.input_usd += usd,
            Direction::Output => b.output_usd += usd,
            Direction::Neither => {}
        }
    }
    Ok(b)
}

/// A missing figure counts as 0 unless a more specific figure is reported (then it is ambiguous).
fn infer_missing(u: usize, usage: &Usage) -> Result<u64, UsageError> {
    let unit = &UNITS[u];
    // The more specific units only, not every reported figure.
    let mut more_specific = DESCENDANTS[u] & !(1 << u);
    let mut has_descendant = false;
    while more_specific != 0 && !has_descendant {
        let r = more_specific.trailing_zeros() as usize;
        has_descendant = usage.get(r).is_some_and(|v| v > 0);
        more_specific &= more_specific - 1;
    }
    if has_descendant {
        Err(UsageError::Missing(unit.usage_key))
    } else {
        Ok(0)
    }
}

/// The applicable price: a tier's price once the input tokens exceed its start.
fn unit_price(p: &PriceValue, input_tokens: u64) -> f64 {
    match p {
        PriceValue::Flat(f) => *f,
        PriceValue::Tiered { base, tiers } => tiers
            .iter()
            .rev()
            .find(|t| input_tokens > t.start)
            .map_or(*base, |t| t.price),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::schema::TierData;

    fn prices(list: &[(&str, PriceValue)]) -> UnitPrices {
        list.iter()
            .map(|(k, p)| (unit_by_price_key(k).expect("known key"), p.clone()))
            .collect()
    }

    #[test]
    fn well_known_indexes() {
        assert_eq!(UNITS[idx::INPUT].usage_key, "input_tokens");
        assert_eq!(UNITS[idx::OUTPUT].usage_key, "output_tokens");
        assert_eq!(UNITS[idx::CACHE_READ].usage_key, "cache_read_tokens");
        assert_eq!(UNITS[idx::CACHE_WRITE].usage_key, "cache_write_tokens");
        assert_eq!(UNITS[idx::REASONING].usage_key, "output_reasoning_tokens");
        assert_eq!(UNITS[idx::REQUESTS].usage_key, "requests");
        assert_eq!(UNITS.len(), UNIT_COUNT);
    }

    #[test]
    fn unit_relations_follow_the_dimensions() {
        const _: () = assert!(UNIT_COUNT <= 32, "DESCENDANTS holds a unit per bit");
        for (a, ua) in UNITS.iter().enumerate() {
            for (d, ud) in UNITS.iter().enumerate() {
                let want = ua.dims.iter().all(|x| ud.dims.contains(x));
                assert_eq!(
                    is_descendant(a, d),
                    want,
                    "{} / {}",
                    ua.usage_key,
                    ud.usage_key
                );
            }
            let direction = match ua.dims.iter().find(|(k, _)| *k == "direction") {
                Some((_, "input")) => Direction::Input,
                Some((_, "output")) => Direction::Output,
                _ => Direction::Neither,
            };
            assert!(DIRECTION[a] == direction, "{}", ua.usage_key);
        }
        let mut by_key: Vec<usize> = (0..UNIT_COUNT).collect();
        by_key.sort_by_key(|u| billing_key(*u));
        let mut by_rank: Vec<usize> = (0..UNIT_COUNT).collect();
        by_rank.sort_by_key(|u| RANK[*u]);
        assert_eq!(by_rank, by_key);
    }

    #[test]
    fn unsorted_lists_price_like_sorted_ones() {
        let list = [
            ("input_mtok", PriceValue::Flat(0.15)),
            ("output_mtok", PriceValue::Flat(0.6)),
            ("cache_read_mtok", PriceValue::Flat(0.075)),
            ("requests_kcount", PriceValue::Flat(2.0)),
        ];
        let unsorted = prices(&list);
        let mut sorted = unsorted.clone();
        sort_units(&mut sorted);
        assert_ne!(sorted, unsorted, "the test needs an unsorted list");
        let mut u = Usage::default();
        u.set(idx::INPUT, 103);
        u.set(idx::CACHE_READ, 48);
        u.set(idx::OUTPUT, 14);
        let want = (55.0 * 0.15 + 48.0 * 0.075 + 14.0 * 0.6) / 1e6 + 2.0 / 1e3;
        for p in [&unsorted, &sorted] {
            let b = calc(p, &u).expect("priceable");
            assert!((b.total_usd - want).abs() < 1e-15, "{b:?}");
        }
    }

    #[test]
    fn cached_tokens_are_billed_once() {
        // gpt-4o-mini: 0.15 in, 0.075 cached, 0.6 out; 103 in (48 cached), 14 out.
        let p = prices(&[
            ("input_mtok", PriceValue::Flat(0.15)),
            ("cache_read_mtok", PriceValue::Flat(0.075)),
            ("output_mtok", PriceValue::Flat(0.6)),
        ]);
        let mut u = Usage::default();
        u.set(idx::INPUT, 103);
        u.set(idx::CACHE_READ, 48);
        u.set(idx::OUTPUT, 14);
        let b = calc(&p, &u).expect("priceable");
        let want = (55.0 * 0.15 + 48.0 * 0.075 + 14.0 * 0.6) / 1e6;
        assert!((b.total_usd - want).abs() < 1e-15, "{b:?}");
        assert!((b.total_usd - 2.025e-05).abs() < 1e-12);
    }

    #[test]
    fn unpriced_cache_stays_in_input_and_reasoning_in_output() {
        let p = prices(&[
            ("input_mtok", PriceValue::Flat(1.0)),
            ("output_mtok", PriceValue::Flat(2.0)),
        ]);
        let mut u = Usage::default();
        u.set(idx::INPUT, 100);
        u.set(idx::CACHE_READ, 40);
        u.set(idx::OUTPUT, 10);
        u.set(idx::REASONING, 6);
        let b = calc(&p, &u).expect("priceable");
        assert!((b.total_usd - (100.0 + 20.0) / 1e6).abs() < 1e-15);
    }

    #[test]
    fn separate_reasoning_price() {
        let p = prices(&[
            ("input_mtok", PriceValue::Flat(1.0)),
            ("output_mtok", PriceValue::Flat(2.0)),
            ("output_reasoning_mtok", PriceValue::Flat(5.0)),
        ]);
        let mut u = Usage::default();
        u.set(idx::OUTPUT, 10);
        u.set(idx::REASONING, 6);
        let b = calc(&p, &u).expect("priceable");
        assert!((b.output_usd - (4.0 * 2.0 + 6.0 * 5.0) / 1e6).abs() < 1e-15);
    }

    #[test]
    fn tier_applies_to_all_tokens_past_the_threshold() {
        let tiered = PriceValue::Tiered {
            base: 5.0,
            tiers: vec![TierData {
                start: 200_000,
                price: 10.0,
            }],
        };
        let p = prices(&[("input_mtok", tiered)]);
        let mut u = Usage::default();
        u.set(idx::INPUT, 200_000);
        assert!((calc(&p, &u).expect("ok").total_usd - 1.0).abs() < 1e-12);
        u.set(idx::INPUT, 200_001);
        assert!((calc(&p, &u).expect("ok").total_usd - 2.00001).abs() < 1e-12);
    }

    #[test]
    fn a_missing_total_is_zero_unless_a_more_specific_figure_is_reported() {
        let p = prices(&[
            ("input_mtok", PriceValue::Flat(1.0)),
            ("output_mtok", PriceValue::Flat(2.0)),
        ]);
        let mut u = Usage::default();
        u.set(idx::OUTPUT, 10);
        u.set(idx::CACHE_READ, 0);
        assert!((calc(&p, &u).expect("ok").total_usd - 20.0 / 1e6).abs() < 1e-15);
        u.set(idx::CACHE_READ, 4);
        assert_eq!(calc(&p, &u), Err(UsageError::Missing("input_tokens")));
        // A figure of another branch says nothing about this total.
        let mut u = Usage::default();
        u.set(idx::INPUT, 10);
        u.set(idx::REASONING, 3);
        let p = prices(&[("output_mtok", PriceValue::Flat(2.0))]);
        assert_eq!(calc(&p, &u), Err(UsageError::Missing("output_tokens")));
        u.set(idx::REASONING, 0);
        assert_eq!(calc(&p, &u).expect("ok").total_usd, 0.0);
    }

    #[test]
    fn more_cached_than_input_is_invalid() {
        let p = prices(&[
            ("input_mtok", PriceValue::Flat(1.0)),
            ("cache_read_mtok", PriceValue::Flat(0.5)),
        ]);
        let mut u = Usage::default();
        u.set(idx::INPUT, 10);
        u.set(idx::CACHE_READ, 11);
        assert_eq!(calc(&p, &u), Err(UsageError::Exceeds("input_tokens")));
    }
}
