//! Label sets and label matchers.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// An immutable, sorted set of label name/value pairs (including `__name__`).
///
/// Cloning is a reference-count increment; ordering compares pair by pair, which is the order
/// Prometheus sorts series in. The hash is computed once when the set is built, so the series
/// lookups of every appended sample hash one word, and clones of one set compare equal by
/// pointer without touching the strings.
#[derive(Clone)]
pub struct Labels {
    /// Kept beside the pointer, so hash-table probes compare it without dereferencing.
    hash: u64,
    pairs: Arc<[(String, String)]>,
}

/// Seeded once per process: label values come from clients, so the hash must not be
/// predictable (a fixed seed would let crafted series collide in every map).
fn label_hasher() -> &'static std::collections::hash_map::RandomState {
    static SEED: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    SEED.get_or_init(std::collections::hash_map::RandomState::new)
}

impl PartialEq for Labels {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && (Arc::ptr_eq(&self.pairs, &other.pairs) || self.pairs == other.pairs)
    }
}

impl Eq for Labels {}

impl Hash for Labels {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Labels {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.pairs.cmp(&other.pairs)
    }
}

impl Default for Labels {
    fn default() -> Self {
        Labels::from_sorted(Vec::new())
    }
}

impl Labels {
    /// Builds a label set; pairs are sorted by name, empty values are dropped, and for a
    /// repeated name the last value wins.
    pub fn new(mut pairs: Vec<(String, String)>) -> Self {
        pairs.retain(|(_, v)| !v.is_empty());
        pairs.reverse();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Labels::from_sorted(pairs)
    }

    /// Wraps pairs that are already sorted by name, distinct and without empty values.
    fn from_sorted(pairs: Vec<(String, String)>) -> Self {
        let hash = label_hasher().hash_one(&pairs);
        Labels {
            hash,
            pairs: pairs.into(),
        }
    }

    /// Builds a label set from string pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::new(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The empty label set.
    pub fn empty() -> Self {
        Labels::default()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.pairs[i].1.as_str())
    }

    /// The metric name, if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// All pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the set has no labels.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// A copy with only the labels for which `keep` is true.
    pub fn filter(&self, keep: impl Fn(&str) -> bool) -> Self {
        let kept: Vec<_> = self
            .pairs
            .iter()
            .filter(|(n, _)| keep(n))
            .cloned()
            .collect();
        if kept.len() == self.pairs.len() {
            return self.clone();
        }
        Labels::from_sorted(kept)
    }

    /// A copy without `__name__`.
    pub fn without_name(&self) -> Self {
        self.filter(|n| n != METRIC_NAME)
    }

    /// A copy without the reserved metadata labels (`__name__`, `__type__`, `__unit__`).
    pub fn without_metadata(&self) -> Self {
        self.filter(|n| !matches!(n, "__name__" | "__type__" | "__unit__"))
    }

    /// A copy with `name` set to `value` (removed when `value` is empty).
    pub fn with(&self, name: &str, value: &str) -> Self {
        let mut pairs: Vec<_> = self
            .pairs
            .iter()
            .filter(|(n, _)| n != name)
            .cloned()
            .collect();
        if !value.is_empty() {
            pairs.push((name.to_string(), value.to_string()));
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Labels::from_sorted(pairs)
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (n, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How a [`Matcher`] compares a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (fully anchored regular expression)
    Regex,
    /// `!~`
    NotRegex,
}

/// One label matcher of a selector. A missing label matches as the empty string.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value or regular expression source.
    pub value: String,
    re: Option<regex::Regex>,
}

impl Matcher {
    /// Builds a matcher; regular expressions are anchored at both ends like Prometheus's.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self> {
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(regex::Regex::new(&format!("^(?s:{value})$")).map_err(|e| {
                    Error::BadData(format!("invalid regular expression {value:?}: {e}"))
                })?)
            }
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    /// Whether `value` (the empty string for a missing label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => self.value == value,
            (MatchOp::NotEqual, _) => self.value != value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            _ => false,
        }
    }

    /// Whether all `matchers` match `labels`.
    pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
        matchers
            .iter()
            .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_sort_and_drop_empty() {
        let l = Labels::from_pairs(&[("b", "2"), ("a", "1"), ("c", "")]);
        assert_eq!(l.to_string(), r#"{a="1", b="2"}"#);
        assert_eq!(l.get("b"), Some("2"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.with("c", "3").len(), 3);
        assert_eq!(l.with("a", "").len(), 1);
    }

    #[test]
    fn regex_is_anchored() -> Result<()> {
        let m = Matcher::new("job", MatchOp::Regex, "api|web")?;
        assert!(m.matches("api"));
        assert!(!m.matches("apix"));
        let n = Matcher::new("job", MatchOp::NotEqual, "")?;
        assert!(!n.matches(""));
        Ok(())
    }
}
