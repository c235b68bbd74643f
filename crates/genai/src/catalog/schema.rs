//! The shape of the genai-prices v2 feed (`data.json`), as far as pricing needs it.
//!
//! Unknown members (descriptions, pricing URLs, usage extractors) are ignored on input and so not
//! repeated in the `/prices` output.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A match clause: `{"equals": "gpt-4o"}`, `{"or": [...]}`, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// Prefix.
    StartsWith(String),
    /// Suffix.
    EndsWith(String),
    /// Substring.
    Contains(String),
    /// Regular expression, searched anywhere (as Python's `re.search`).
    Regex(String),
    /// Whole string.
    Equals(String),
    /// Any clause.
    Or(Vec<MatchRule>),
    /// Every clause.
    And(Vec<MatchRule>),
}

/// One provider of the feed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderData {
    /// Provider id (`openai`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Matches a provider name as sent (`gen_ai.provider.name`, `gen_ai.system`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_match: Option<MatchRule>,
    /// Matches a model name when no provider is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_match: Option<MatchRule>,
    /// Providers whose models this one also serves (one step).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback_model_providers: Vec<String>,
    /// Models with prices.
    pub models: Vec<ModelData>,
}

/// One model of a provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelData {
    /// Model id (`gpt-4o-mini`).
    pub id: String,
    /// Matches model names as sent (aliases, dated snapshots).
    #[serde(rename = "match")]
    pub match_rule: MatchRule,
    /// Prices: one set, or time-conditional sets.
    pub prices: PricesData,
}

/// One price set, or a list of conditional ones (the last active wins, else the first).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PricesData {
    /// Always the same prices.
    Single(BTreeMap<String, PriceValue>),
    /// Prices that depend on the request time.
    Conditional(Vec<ConditionalPriceData>),
}

/// A price set with an optional time constraint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConditionalPriceData {
    /// When these prices apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<ConstraintData>,
    /// Price key (`input_mtok`) → price.
    pub prices: BTreeMap<String, PriceValue>,
}

/// Time constraint of a conditional price.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConstraintData {
    /// From this UTC date on (`2026-03-13`).
    StartDate {
        /// `YYYY-MM-DD`.
        start_date: String,
    },
    /// Daily UTC interval (`00:30:00Z` to `16:30:00Z`), end exclusive.
    TimeOfDay {
        /// `HH:MM:SS[Z]`.
        start_time: String,
        /// `HH:MM:SS[Z]`.
        end_time: String,
    },
}

/// A price per unit (per million tokens for `*_mtok`), flat or tiered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PriceValue {
    /// One price.
    Flat(f64),
    /// Threshold pricing: once the request's input tokens exceed a tier's start, that tier's
    /// price applies to **all** units of this kind.
    Tiered {
        /// Price below the first tier.
        base: f64,
        /// Tiers by ascending start.
        tiers: Vec<TierData>,
    },
}

/// One tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierData {
    /// Input-token threshold (exclusive).
    pub start: u64,
    /// Price per unit above it.
    pub price: f64,
}
