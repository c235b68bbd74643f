//! The price catalog: the genai-prices feed embedded at build time, plus user overrides.
//!
//! Why parse JSON at first use rather than generate Rust at build time: the feed is ~380 KB and
//! parses in a few milliseconds once per process, while generated code for ~1,400 models would
//! cost compile time on every build of this crate (and a serde build-dependency). The embedded
//! text is parsed lazily by `Catalog::embedded()`.

pub mod matching;
pub mod overrides;
mod recent;
pub mod schema;
pub mod time;
pub mod units;

use std::sync::{Arc, LazyLock};

use serde::Serialize;

use crate::canonical::PriceEntry;
use crate::error::CatalogError;
use crate::source::{self, Source};
use matching::Matcher;
use overrides::{CompiledOverride, PriceOverride};
use schema::{ConstraintData, PriceValue, PricesData, ProviderData};
use units::{Breakdown, UnitPrices, Usage};

const EMBEDDED_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/prices.json"));
const EMBEDDED_NOTICE: &str = include_str!(concat!(env!("OUT_DIR"), "/prices_license.txt"));
const EMBEDDED_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/prices_source.txt"));

/// Reason given for every model when the build embedded no price data.
pub const NO_CATALOG: &str = "no price catalog embedded in this build";

/// Provider names as instrumentations send them → catalog provider ids, where the catalog's own
/// provider match rules do not already recognise them (OTel GenAI `gen_ai.provider.name` values).
static PROVIDER_ALIASES: &[(&str, &str)] = &[
    ("azure.ai.openai", "azure"),
    ("azure.ai.inference", "azure"),
    ("az.ai.openai", "azure"),
    ("aws.bedrock", "aws"),
    ("gcp.vertex_ai", "google"),
    ("gcp.gemini", "google"),
    ("gcp.gen_ai", "google"),
    ("x_ai", "x-ai"),
    ("mistral_ai", "mistral"),
];

/// The MIT notice of the embedded price data (empty when no data was embedded).
pub fn catalog_notice() -> &'static str {
    EMBEDDED_NOTICE
}

/// Where the catalog's data came from.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogSource {
    /// `embedded`, `empty` or `custom`.
    pub kind: &'static str,
    /// Data file the build read (folder and name only).
    pub file: String,
    /// Upstream project of the data.
    pub upstream: &'static str,
    /// Regexes of the feed the Rust engine cannot compile (those clauses match nothing).
    pub unsupported_regexes: Vec<String>,
}

struct PriceSet {
    constraint: Option<Constraint>,
    prices: UnitPrices,
}

#[derive(Clone, Copy)]
enum Constraint {
    StartDate(i64),
    TimeOfDay(u32, u32),
    /// A constraint this build cannot read: never active.
    Unreadable,
}

struct Model {
    id: String,
    matcher: Matcher,
    prices: Vec<PriceSet>,
}

struct Provider {
    data: ProviderData,
    provider_match: Option<Matcher>,
    model_match: Option<Matcher>,
    models: Vec<Model>,
}

/// A price list: catalog providers and user overrides (overrides win).
pub struct Catalog {
    providers: Vec<Provider>,
    overrides: Vec<CompiledOverride>,
    source: CatalogSource,
    /// Model resolutions already made: (provider as sent, model) → (provider, model) indices or
    /// the reason it is unpriced. Matching walks regex rules, and ingest asks for the same few
    /// models over and over.
    resolved: ModelCache,
}

/// A bounded cache of model resolutions (cleared when full, so hostile model names cannot grow it).
/// Keyed by the hash of (provider, model) so that a hit, the usual case at ingest, allocates
/// nothing; each bucket keeps the full keys to tell collisions apart.
struct ModelCache {
    map: std::sync::RwLock<rustc_hash::FxHashMap<u64, Vec<(ModelKey, Resolution)>>>,
    /// Unique per catalog, so the per-thread memo (`recent`) tells catalogs apart.
    id: u64,
}

impl Default for ModelCache {
    fn default() -> Self {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        ModelCache {
            map: Default::default(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// What a (provider, model) pair resolves to: its price list and cost source, or why it is
/// unpriced. Everything but the time-conditional price set is decided once per pair.
type Resolution = Result<Resolved, Arc<str>>;

/// (provider as sent, model as sent), lowercased.
type ModelKey = (Option<String>, String);

#[derive(Debug, Clone, Copy)]
struct Resolved {
    list: PriceList,
    source: &'static Source,
}

/// Where the price list of a resolution is.
#[derive(Debug, Clone, Copy)]
enum PriceList {
    /// The user override at this index.
    Override(usize),
    /// The model at (provider index, model index) of the catalog; the provider holding the list
    /// may differ from the billing one (Azure bills from OpenAI's list).
    Model(usize, usize),
}

const MODEL_CACHE_MAX: usize = 4096;

/// A computed price with the entry that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Catalog entry or override.
    pub entry: PriceEntry,
    /// Input-side, output-side and total USD.
    pub breakdown: Breakdown,
}

static EMBEDDED: LazyLock<Catalog> = LazyLock::new(|| {
    let kind = if EMBEDDED_SOURCE.is_empty() {
        "empty"
    } else {
        "embedded"
    };
    // The build copied a file that upstream validates against its schema; should it still not
    // parse, the process keeps running with an empty catalog that says why for every model.
    Catalog::from_json(EMBEDDED_JSON, kind, EMBEDDED_SOURCE).unwrap_or_else(|e| Catalog {
        providers: Vec::new(),
        overrides: Vec::new(),
        source: CatalogSource {
            kind: "empty",
            file: format!("{EMBEDDED_SOURCE} ({e})"),
            upstream: "pydantic/genai-prices",
            unsupported_regexes: Vec::new(),
        },
        resolved: ModelCache::default(),
    })
});

impl Catalog {
    /// The catalog embedded in this build (parsed on first use).
    pub fn embedded() -> &'static Catalog {
        &EMBEDDED
    }

    /// Builds a catalog from genai-prices v2 JSON.
    pub fn from_json(json: &str, kind: &'static str, file: &str) -> Result<Catalog, CatalogError> {
        let data: Vec<ProviderData> = serde_json::from_str(json)?;
        let mut bad = Vec::new();
        let providers = data
            .into_iter()
            .map(|p| compile_provider(p, &mut bad))
            .collect();
        let source = CatalogSource {
            kind,
            file: file.to_string(),
            upstream: "pydantic/genai-prices",
            unsupported_regexes: bad,
        };
        Ok(Catalog {
            providers,
            overrides: Vec::new(),
            source,
            resolved: ModelCache::default(),
        })
    }

    /// A copy of this catalog with user overrides, which take precedence over catalog entries.
    pub fn with_overrides(&self, overrides: Vec<PriceOverride>) -> Result<Catalog, CatalogError> {
        let compiled = overrides
            .into_iter()
            .enumerate()
            .map(|(i, o)| CompiledOverride::compile(i, o))
            .collect::<Result<Vec<_>, _>>()?;
        let mut bad = Vec::new();
        let providers = self
            .providers
            .iter()
            .map(|p| compile_provider(p.data.clone(), &mut bad))
            .collect();
        Ok(Catalog {
            providers,
            overrides: compiled,
            source: self.source.clone(),
            resolved: ModelCache::default(),
        })
    }

    /// Number of catalog models (overrides not counted).
    pub fn model_count(&self) -> usize {
        self.providers.iter().map(|p| p.models.len()).sum()
    }

    /// Where the data came from.
    pub fn source(&self) -> &CatalogSource {
        &self.source
    }

    /// Prices a usage of `model` (as sent) from `provider` (as sent, optional) at a Unix time in
    /// nanoseconds (for time-conditional prices). `Err` carries the reason it is unpriced.
    pub fn quote(
        &self,
        provider: Option<&str>,
        model: &str,
        usage: &Usage,
        at_unix_nano: u64,
    ) -> Result<Quote, String> {
        let (breakdown, source) = self
            .quote_source(provider, model, usage, at_unix_nano)
            .map_err(|r| r.to_string())?;
        let entry = source.entry().ok_or("a catalog price without an entry")?;
        Ok(Quote {
            entry: entry.clone(),
            breakdown,
        })
    }

    /// `quote` for ingest: the entry as its interned source, the reason as a shared string. A
    /// (provider, model) pair seen before costs a cache lookup and the arithmetic, nothing more.
    pub(crate) fn quote_source(
        &self,
        provider: Option<&str>,
        model: &str,
        usage: &Usage,
        at_unix_nano: u64,
    ) -> Result<(Breakdown, &'static Source), Arc<str>> {
        let r = recent::resolution(self.resolved.id, provider, model, || {
            self.resolve_sent(provider, model)
        })?;
        let prices = match r.list {
            PriceList::Override(i) => &self.overrides.get(i).ok_or("catalog changed")?.prices,
            PriceList::Model(li, mi) => {
                let (p, m) = self
                    .providers
                    .get(li)
                    .and_then(|p| Some((p, p.models.get(mi)?)))
                    .ok_or("catalog changed")?;
                m.prices_at(at_unix_nano)
                    .ok_or_else(|| format!("{}/{} has no prices", p.data.id, m.id))?
            }
        };
        let breakdown = units::calc(prices, usage).map_err(|e| e.to_string())?;
        Ok((breakdown, r.source))
    }

    /// Resolves a provider and model as sent (trimmed and lowercased first).
    fn resolve_sent(&self, provider: Option<&str>, model: &str) -> Resolution {
        let model_lc = lowercase(model.trim());
        if model_lc.is_empty() {
            return Err("no model name".into());
        }
        let provider_lc = provider
            .map(|p| lowercase(p.trim()))
            .filter(|p| !p.is_empty());
        self.resolve_cached(provider_lc.as_deref(), &model_lc)
    }

    /// Resolves a (lowercased) provider and model: a user override first, then the catalog.
    fn resolve(&self, sent: Option<&str>, model: &str) -> Resolution {
        let resolved = sent.and_then(|p| self.provider_by_name(p));
        if let Some((i, o)) = self.find_override(sent, resolved, model) {
            let source = source::catalog(PriceEntry {
                provider: o.spec.provider.clone().unwrap_or_default(),
                model: o.pattern().to_string(),
                from_override: true,
            });
            let list = PriceList::Override(i);
            return Ok(Resolved { list, source });
        }
        if self.providers.is_empty() {
            return Err(NO_CATALOG.into());
        }
        let (p, m) = self.find_model(sent, resolved, model)?;
        let (li, mi) = self
            .providers
            .iter()
            .enumerate()
            .find_map(|(i, x)| Some((i, x.models.iter().position(|y| std::ptr::eq(y, m))?)))
            .ok_or("catalog changed")?;
        let source = source::catalog(PriceEntry {
            provider: p.data.id.clone(),
            model: m.id.clone(),
            from_override: false,
        });
        let list = PriceList::Model(li, mi);
        Ok(Resolved { list, source })
    }

    fn resolve_cached(&self, sent: Option<&str>, model: &str) -> Resolution {
        let hash = {
            use std::hash::BuildHasher;
            rustc_hash::FxBuildHasher.hash_one((sent, model))
        };
        let hit = self.resolved.map.read().ok().and_then(|c| {
            c.get(&hash)?
                .iter()
                .find(|((p, m), _)| p.as_deref() == sent && m == model)
                .map(|(_, r)| r.clone())
        });
        if let Some(r) = hit {
            return r;
        }
        let r = self.resolve(sent, model);
        if let Ok(mut c) = self.resolved.map.write() {
            if c.len() >= MODEL_CACHE_MAX {
                c.clear();
            }
            let key = (sent.map(str::to_owned), model.to_owned());
            c.entry(hash).or_default().push((key, r.clone()));
        }
        r
    }

    fn find_override(
        &self,
        sent: Option<&str>,
        resolved: Option<&Provider>,
        model: &str,
    ) -> Option<(usize, &CompiledOverride)> {
        self.overrides.iter().enumerate().find(|(_, o)| {
            let provider_ok = match o.provider.as_deref() {
                None => true,
                Some(want) => sent == Some(want) || resolved.is_some_and(|p| p.data.id == want),
            };
            provider_ok && o.matcher.is_match(model)
        })
    }

    fn provider_by_name(&self, name: &str) -> Option<&Provider> {
        let name = PROVIDER_ALIASES
            .iter()
            .find(|(a, _)| *a == name)
            .map_or(name, |(_, id)| *id);
        self.providers
            .iter()
            .find(|p| p.data.id == name)
            .or_else(|| {
                self.providers
                    .iter()
                    .find(|p| p.provider_match.as_ref().is_some_and(|m| m.is_match(name)))
            })
    }

    fn find_model<'a>(
        &'a self,
        sent: Option<&str>,
        resolved: Option<&'a Provider>,
        model: &str,
    ) -> Result<(&'a Provider, &'a Model), String> {
        let candidates = model_candidates(model);
        if let Some(p) = resolved {
            return self.find_in_provider(p, &candidates).ok_or_else(|| {
                format!(
                    "model {model:?} not in the price list of provider {:?}",
                    p.data.id
                )
            });
        }
        // A fine-tune's catalog entry (`ft:id:BASE`) belongs to the provider that lists BASE.
        let by_model = self.providers.iter().filter(|p| {
            p.model_match.as_ref().is_some_and(|m| {
                candidates
                    .iter()
                    .any(|c| m.is_match(c.strip_prefix("ft:id:").unwrap_or(c)))
            })
        });
        for p in by_model {
            if let Some(found) = self.find_in_provider(p, &candidates) {
                return Ok(found);
            }
        }
        Err(match sent {
            Some(s) => format!(
                "provider {s:?} not in the price catalog and no provider lists model {model:?}"
            ),
            None => format!("no provider given and no provider lists model {model:?}"),
        })
    }

    /// Tries the candidates in the provider, then (one step) in its fallback providers.
    fn find_in_provider<'a>(
        &'a self,
        p: &'a Provider,
        candidates: &[String],
    ) -> Option<(&'a Provider, &'a Model)> {
        for c in candidates {
            if let Some(m) = p.find(c) {
                return Some((p, m));
            }
            for fid in &p.data.fallback_model_providers {
                if let Some(m) = self
                    .providers
                    .iter()
                    .find(|f| &f.data.id == fid)
                    .and_then(|f| f.find(c))
                {
                    return Some((p, m));
                }
            }
        }
        None
    }
}

impl Provider {
    fn find(&self, candidate: &str) -> Option<&Model> {
        if let Some(base) = candidate.strip_prefix("ft:id:") {
            return self.models.iter().find(|m| m.id == format!("ft:{base}"));
        }
        self.models.iter().find(|m| m.matcher.is_match(candidate))
    }
}

impl Model {
    /// The last price set whose constraint holds at that time, else the first (as upstream).
    fn prices_at(&self, at_unix_nano: u64) -> Option<&UnitPrices> {
        let (day, sod) = time::split_unix_nanos(at_unix_nano);
        let active = |c: &Option<Constraint>| match c {
            None => true,
            Some(Constraint::StartDate(d)) => day >= *d,
            Some(Constraint::TimeOfDay(a, b)) => *a <= sod && sod < *b,
            Some(Constraint::Unreadable) => false,
        };
        self.prices
            .iter()
            .rev()
            .find(|s| active(&s.constraint))
            .or_else(|| self.prices.first())
            .map(|s| &s.prices)
    }
}

/// `s` in lower case, borrowed when it already is (model and provider names usually are).
fn lowercase(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.is_ascii() {
        s.to_lowercase().into()
    } else if s.bytes().any(|b| b.is_ascii_uppercase()) {
        s.to_ascii_lowercase().into()
    } else {
        s.into()
    }
}

/// Model names to try, in order: as sent; after the last `/` (`openai/gpt-4o`, `models/...`);
/// without a dated-snapshot suffix (`-2024-07-18`, `-20241022`, `@20240620`); and for an OpenAI
/// fine-tune `ft:BASE:org::id`, the catalog's `ft:BASE` entry (marked `ft:id:` internally). A
/// fine-tune is never priced as its base model: it costs more.
fn model_candidates(model: &str) -> Vec<String> {
    let mut out = vec![model.to_string()];
    if let Some(rest) = model.strip_prefix("ft:") {
        let base = rest.split(':').next().unwrap_or(rest);
        out.push(format!("ft:id:{base}"));
        return out;
    }
    if let Some((_, tail)) = model.rsplit_once('/')
        && !tail.is_empty()
    {
        out.push(tail.to_string());
    }
    let last = out.last().cloned().unwrap_or_default();
    if let Some(stripped) = strip_snapshot(&last) {
        out.push(stripped);
    }
    out
}

fn strip_snapshot(model: &str) -> Option<String> {
    static SNAPSHOT: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"(?:[-@]\d{4}-\d{2}-\d{2}|[-@]\d{8})$")
            .unwrap_or_else(|_| unreachable!("literal regex"))
    });
    let m = SNAPSHOT.find(model)?;
    (m.start() > 0).then(|| model[..m.start()].to_string())
}

fn compile_provider(data: ProviderData, bad: &mut Vec<String>) -> Provider {
    let provider_match = data
        .provider_match
        .as_ref()
        .map(|m| Matcher::compile(m, bad));
    let model_match = data.model_match.as_ref().map(|m| Matcher::compile(m, bad));
    let models = data
        .models
        .iter()
        .map(|m| Model {
            id: m.id.clone(),
            matcher: Matcher::compile(&m.match_rule, bad),
            prices: compile_prices(&m.prices),
        })
        .collect();
    Provider {
        data,
        provider_match,
        model_match,
        models,
    }
}

fn compile_prices(p: &PricesData) -> Vec<PriceSet> {
    match p {
        PricesData::Single(map) => vec![PriceSet {
            constraint: None,
            prices: unit_prices(map),
        }],
        PricesData::Conditional(list) => list
            .iter()
            .map(|c| PriceSet {
                constraint: c.constraint.as_ref().map(compile_constraint),
                prices: unit_prices(&c.prices),
            })
            .collect(),
    }
}

fn compile_constraint(c: &ConstraintData) -> Constraint {
    match c {
        ConstraintData::StartDate { start_date } => {
            time::parse_date(start_date).map_or(Constraint::Unreadable, Constraint::StartDate)
        }
        ConstraintData::TimeOfDay {
            start_time,
            end_time,
        } => {
            match (
                time::parse_time_of_day(start_time),
                time::parse_time_of_day(end_time),
            ) {
                (Some(a), Some(b)) => Constraint::TimeOfDay(a, b),
                _ => Constraint::Unreadable,
            }
        }
    }
}

/// Price keys this build does not know are left out (their units are then not billed).
fn unit_prices(map: &std::collections::BTreeMap<String, PriceValue>) -> UnitPrices {
    let mut prices: UnitPrices = map
        .iter()
        .filter_map(|(k, v)| units::unit_by_price_key(k).map(|u| (u, v.clone())))
        .collect();
    units::sort_units(&mut prices);
    prices
}

#[derive(Serialize)]
struct CatalogView<'a> {
    source: &'a CatalogSource,
    notice: &'static str,
    overrides: Vec<&'a PriceOverride>,
    providers: Vec<&'a ProviderData>,
}

impl Serialize for Catalog {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CatalogView {
            source: &self.source,
            notice: catalog_notice(),
            overrides: self.overrides.iter().map(|o| &o.spec).collect(),
            providers: self.providers.iter().map(|p| &p.data).collect(),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests;
