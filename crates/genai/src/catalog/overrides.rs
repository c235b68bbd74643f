//! User price overrides from the config: custom, fine-tuned and self-hosted models.

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::matching::Matcher;
use super::schema::PriceValue;
use super::units::{UnitPrices, idx};
use crate::error::CatalogError;

/// One user price entry (TOML `[[prices]]`). Exactly one of `model`, `model_prefix`,
/// `model_regex` must be set. Prices are USD per million tokens; cache and reasoning prices are
/// optional (without them those tokens are billed as plain input / output tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    /// Provider as sent (`openai`, `vllm`) or a catalog provider id; empty = any provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Exact model name (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Model name prefix (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_prefix: Option<String>,
    /// Regex searched in the lowercased model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_regex: Option<String>,
    /// USD per million input tokens.
    pub input_per_mtok: f64,
    /// USD per million output tokens.
    pub output_per_mtok: f64,
    /// USD per million cache-read tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_per_mtok: Option<f64>,
    /// USD per million cache-write tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_per_mtok: Option<f64>,
    /// USD per million reasoning tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_per_mtok: Option<f64>,
}

/// A validated override.
#[derive(Debug, Clone)]
pub(crate) struct CompiledOverride {
    pub spec: PriceOverride,
    pub provider: Option<String>,
    pub matcher: Matcher,
    pub prices: UnitPrices,
}

impl CompiledOverride {
    pub fn compile(index: usize, spec: PriceOverride) -> Result<Self, CatalogError> {
        let bad = |reason: String| CatalogError::Override { index, reason };
        let matcher = match (&spec.model, &spec.model_prefix, &spec.model_regex) {
            (Some(m), None, None) => Matcher::Equals(m.trim().to_lowercase()),
            (None, Some(p), None) => Matcher::StartsWith(p.trim().to_lowercase()),
            (None, None, Some(r)) => {
                Matcher::Regex(Regex::new(r).map_err(|e| bad(format!("invalid model_regex: {e}")))?)
            }
            _ => {
                return Err(bad(
                    "set exactly one of model, model_prefix, model_regex".into()
                ));
            }
        };
        let mut prices: UnitPrices = Vec::with_capacity(5);
        for (unit, value, name) in [
            (idx::INPUT, Some(spec.input_per_mtok), "input_per_mtok"),
            (idx::OUTPUT, Some(spec.output_per_mtok), "output_per_mtok"),
            (
                idx::CACHE_READ,
                spec.cache_read_per_mtok,
                "cache_read_per_mtok",
            ),
            (
                idx::CACHE_WRITE,
                spec.cache_write_per_mtok,
                "cache_write_per_mtok",
            ),
            (
                idx::REASONING,
                spec.reasoning_per_mtok,
                "reasoning_per_mtok",
            ),
        ] {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 {
                    return Err(bad(format!("{name} must be a finite non-negative number")));
                }
                prices.push((unit, PriceValue::Flat(v)));
            }
        }
        super::units::sort_units(&mut prices);
        let provider = spec
            .provider
            .as_ref()
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty());
        Ok(CompiledOverride {
            spec,
            provider,
            matcher,
            prices,
        })
    }

    /// The pattern shown as the price entry's model.
    pub fn pattern(&self) -> &str {
        self.spec
            .model
            .as_deref()
            .or(self.spec.model_prefix.as_deref())
            .or(self.spec.model_regex.as_deref())
            .unwrap_or("")
    }
}
