//! The GenAI span-metric families (operation duration, time to first token, cost, calls, token
//! usage) share six labels: their series live together, so a span finds its six-label series
//! once instead of once per family. Calls add an `error` label and token usage a
//! `gen_ai_token_type` label, each from a fixed set of values.
//!
//! The cardinality guard counts six-label sets: beyond `max_series` of them, or beyond a
//! label's value limit, observations go to one `{otel_metric_overflow="true"}` series per
//! family (as in [`crate::family`]) and are counted per family.

use std::collections::HashMap;

use sextant_promql::Labels;

use crate::family::{Guard, LabelHash, Limits, Shape, apply, emit};
use crate::spanmetrics::{DURATION_BUCKETS, TOKEN_BUCKETS, TTFT_BUCKETS};

/// The six shared labels.
pub(crate) const GENAI_LABELS: [&str; 6] = [
    "service",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_operation_name",
    "gen_ai_agent_name",
    "gen_ai_tool_name",
];

/// `gen_ai_token_type` values, in `Metric::Tokens` index order.
pub(crate) const TOKEN_TYPES: [&str; 5] =
    ["input", "output", "cache_read", "cache_write", "reasoning"];

/// One observation's family (and the value of its seventh label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    Duration,
    Ttft,
    Cost,
    /// `error="true"` when set.
    Calls(bool),
    /// `gen_ai_token_type` = `TOKEN_TYPES[i]`.
    Tokens(usize),
}

/// A seventh label: its name and values.
type Extra = Option<(&'static str, &'static [&'static str])>;

/// Families in snapshot order: name, shape, the seventh label.
const FAMILIES: [(&str, Shape, Extra); 5] = [
    (
        "gen_ai_client_token_usage",
        Shape::Histogram(&TOKEN_BUCKETS),
        Some(("gen_ai_token_type", &TOKEN_TYPES)),
    ),
    (
        "gen_ai_client_operation_duration_seconds",
        Shape::Histogram(&DURATION_BUCKETS),
        None,
    ),
    (
        "gen_ai_server_time_to_first_token_seconds",
        Shape::Histogram(&TTFT_BUCKETS),
        None,
    ),
    ("sextant_gen_ai_cost_usd_total", Shape::Counter, None),
    (
        "sextant_gen_ai_calls_total",
        Shape::Counter,
        Some(("error", &["false", "true"])),
    ),
];

impl Metric {
    /// Index in `FAMILIES` and in the seventh label's values.
    fn slot(self) -> (usize, usize) {
        match self {
            Metric::Tokens(i) => (0, i),
            Metric::Duration => (1, 0),
            Metric::Ttft => (2, 0),
            Metric::Cost => (3, 0),
            Metric::Calls(error) => (4, usize::from(error)),
        }
    }
}

/// The names of the GenAI families.
#[cfg(test)]
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().map(|(name, _, _)| *name)
}

/// Accumulators of one six-label series (or of the overflow series): per family, per value of
/// the seventh label; `None` until observed, so only observed series are exported.
#[derive(Debug, Default)]
struct Accs([Vec<Option<Vec<f64>>>; FAMILIES.len()]);

impl Accs {
    #[inline]
    fn add(&mut self, (family, value): (usize, usize), v: f64) {
        let shape = FAMILIES[family].1;
        let slots = &mut self.0[family];
        if slots.len() <= value {
            slots.resize(value + 1, None);
        }
        let acc = slots[value].get_or_insert_with(|| shape.empty_acc());
        apply(shape, acc, v);
    }
}

#[derive(Debug)]
struct Series {
    values: Box<[String]>,
    accs: Accs,
}

/// The GenAI families of one tenant.
#[derive(Debug)]
pub(crate) struct GenAiFamilies {
    /// Keyed by the label hash, which is already a keyed hash: the map only spreads it.
    series: HashMap<u64, Vec<Series>, rustc_hash::FxBuildHasher>,
    guard: Guard,
    overflow: Accs,
    overflowed: [u64; FAMILIES.len()],
}

/// Where one span's observations go: its series, or the overflow series.
pub(crate) struct Target<'f> {
    accs: &'f mut Accs,
    overflowed: Option<&'f mut [u64; FAMILIES.len()]>,
}

impl Target<'_> {
    /// Inlined: a span makes three to eight observations, each a few additions.
    #[inline]
    pub(crate) fn observe(&mut self, metric: Metric, v: f64) {
        let (family, value) = metric.slot();
        match &mut self.overflowed {
            // The overflow series has no seventh label.
            Some(counts) => {
                counts[family] += 1;
                self.accs.add((family, 0), v);
            }
            None => self.accs.add((family, value), v),
        }
    }
}

impl GenAiFamilies {
    pub(crate) fn new() -> Self {
        GenAiFamilies {
            series: HashMap::default(),
            guard: Guard::new(GENAI_LABELS.len()),
            overflow: Accs::default(),
            overflowed: [0; FAMILIES.len()],
        }
    }

    /// The series of `values` (hashed as `hash`, by `LabelHash::of_fixed`), created if the
    /// guard allows, else overflow.
    pub(crate) fn target(
        &mut self,
        hash: LabelHash,
        values: &[&str; 6],
        limits: Limits,
    ) -> Target<'_> {
        let key = hash.value();
        let found = self.series.get(&key).and_then(|list| {
            list.iter().position(|s| {
                s.values
                    .iter()
                    .map(String::as_str)
                    .eq(values.iter().copied())
            })
        });
        if found.is_none() && !self.guard.admit(values, limits) {
            return Target {
                accs: &mut self.overflow,
                overflowed: Some(&mut self.overflowed),
            };
        }
        let list = self.series.entry(key).or_default();
        let index = found.unwrap_or_else(|| {
            list.push(Series {
                values: values.iter().map(|s| (*s).to_owned()).collect(),
                accs: Accs::default(),
            });
            list.len() - 1
        });
        Target {
            accs: &mut list[index].accs,
            overflowed: None,
        }
    }

    /// Appends the current cumulative samples at `t` to `out`, family by family, with
    /// `sextant_spanmetrics_overflow_total{metric}` after each family that overflowed.
    pub(crate) fn snapshot(&self, t: i64, out: &mut Vec<(Labels, i64, f64)>) {
        for (family, (name, shape, extra)) in FAMILIES.iter().enumerate() {
            for s in self.series.values().flatten() {
                for (value, acc) in s.accs.0[family].iter().enumerate() {
                    let Some(acc) = acc else { continue };
                    let mut pairs: Vec<(String, String)> = GENAI_LABELS
                        .iter()
                        .zip(s.values.iter())
                        .map(|(n, v)| ((*n).to_owned(), v.clone()))
                        .collect();
                    if let Some((label, values)) = extra {
                        pairs.push(((*label).to_owned(), values[value].to_owned()));
                    }
                    emit(name, *shape, pairs, acc, t, out);
                }
            }
            if let Some(Some(acc)) = self.overflow.0[family].first() {
                let pairs = vec![("otel_metric_overflow".to_owned(), "true".to_owned())];
                emit(name, *shape, pairs, acc, t, out);
            }
            if self.overflowed[family] > 0 {
                let l = Labels::from_pairs(&[
                    ("__name__", "sextant_spanmetrics_overflow_total"),
                    ("metric", name),
                ]);
                out.push((l, t, self.overflowed[family] as f64));
            }
        }
    }
}
