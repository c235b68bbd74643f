//! Cost sources, interned: each catalog entry, override and client attribute gets one shared
//! `Source` with its stored label (`catalog:openai/gpt-4o-mini`), so pricing a span copies a
//! reference instead of cloning ids and formatting a label.
//!
//! Interned sources live for the rest of the process. Their number is bounded by the data, not
//! by the traffic: catalog entries (about 1,400 models), config overrides and the dialect
//! table's cost keys. Model names a client makes up never become sources (they are unpriced,
//! and the reason is not interned).

use std::sync::{LazyLock, RwLock};

use rustc_hash::FxHashMap;

use crate::canonical::{CostSource, PriceEntry};
use crate::rules::{Conv, RULES};

/// A cost source and its label as stored in the `gen_ai_cost_source` column.
#[derive(Debug, PartialEq)]
pub struct Source {
    /// The structured source.
    pub source: CostSource,
    /// `client:<attribute>`, `catalog:<provider>/<model>` or `catalog:override:<provider>/<model>`.
    pub label: String,
}

impl Source {
    /// The catalog entry or override that priced the span (`None` for a client-sent cost).
    pub fn entry(&self) -> Option<&PriceEntry> {
        match &self.source {
            CostSource::Catalog { entry } => Some(entry),
            CostSource::Client { .. } => None,
        }
    }

    fn new(source: CostSource) -> Source {
        let label = match &source {
            CostSource::Client { key } => format!("client:{key}"),
            CostSource::Catalog { entry } => format!("catalog:{entry}"),
        };
        Source { source, label }
    }
}

static INTERNED: LazyLock<RwLock<FxHashMap<String, &'static Source>>> =
    LazyLock::new(Default::default);

/// The shared source of a catalog entry or override (created on first use).
pub fn catalog(entry: PriceEntry) -> &'static Source {
    intern(Source::new(CostSource::Catalog { entry }))
}

fn intern(s: Source) -> &'static Source {
    if let Ok(map) = INTERNED.read()
        && let Some(found) = map.get(&s.label)
    {
        return found;
    }
    // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
    let mut map = INTERNED.write().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = map.get(&s.label) {
        return found;
    }
    let label = s.label.clone();
    let leaked: &'static Source = Box::leak(Box::new(s));
    map.insert(label, leaked);
    leaked
}

/// Client-cost attribute keys of the dialect table → their sources, built once.
static CLIENT: LazyLock<FxHashMap<&'static str, &'static Source>> = LazyLock::new(|| {
    RULES
        .iter()
        .filter(|r| r.conv == Conv::Usd)
        .map(|r| {
            let key = r.key.to_string();
            (r.key, intern(Source::new(CostSource::Client { key })))
        })
        .collect()
});

/// The source of a cost the client sent in `key`.
pub fn client(key: &'static str) -> &'static Source {
    match CLIENT.get(key) {
        Some(s) => s,
        // Not a cost key of the dialect table (only those call this): still correct, just slower.
        None => intern(Source::new(CostSource::Client {
            key: key.to_string(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_identity() {
        let e = PriceEntry {
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            from_override: false,
        };
        let a = catalog(e.clone());
        assert_eq!(a.label, "catalog:openai/gpt-4o-mini");
        assert!(std::ptr::eq(a, catalog(e)), "one source per entry");
        let o = catalog(PriceEntry {
            provider: String::new(),
            model: "my-model".into(),
            from_override: true,
        });
        assert_eq!(o.label, "catalog:override:/my-model");
        let c = client("gen_ai.cost_usd");
        assert_eq!(c.label, "client:gen_ai.cost_usd");
        assert!(std::ptr::eq(c, client("gen_ai.cost_usd")));
        assert_eq!(client("x.cost").label, "client:x.cost");
    }
}
