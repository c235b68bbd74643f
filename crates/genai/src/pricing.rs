//! Pricing one span: fills `Canonical::cost` from the catalog when the client sent none.

use crate::canonical::{Canonical, Cost, CostSource};
use crate::catalog::Catalog;
use crate::catalog::units::{Usage, idx};
use crate::classify::is_llm_call;

/// Fills `c.cost` (or `c.unpriced_reason`) for a model call with usage.
///
/// A client-sent cost is kept as sent. Spans that are not model calls (agents, tools) and calls
/// without usage (failed requests) are left alone. `start_unix_nano` selects time-conditional
/// prices; 0 means "now".
///
/// Token semantics follow the OTel GenAI conventions: cache reads and writes are inside
/// `input_tokens`, reasoning inside `output_tokens`. Some instrumentations of Anthropic-style APIs
/// report `input_tokens` *without* the cache figures; when cache reads + writes exceed the input,
/// the figures cannot be nested, so they are taken as separate and added to the input.
pub fn price(catalog: &Catalog, c: &mut Canonical, start_unix_nano: u64) {
    if c.cost.is_some() || !is_llm_call(c) || !c.has_usage() {
        return;
    }
    let Some(model) = c.model() else {
        c.unpriced_reason = Some("no model name on the span".to_string());
        return;
    };
    let usage = usage_of(c);
    let at = if start_unix_nano == 0 {
        now_unix_nano()
    } else {
        start_unix_nano
    };
    // The response model is more specific (dated snapshot); fall back to the request model.
    let mut result = catalog.quote(c.provider.as_deref(), model, &usage, at);
    if result.is_err()
        && let (Some(req), Some(_)) = (c.request_model.as_deref(), c.response_model.as_deref())
        && let Ok(q) = catalog.quote(c.provider.as_deref(), req, &usage, at)
    {
        result = Ok(q);
    }
    match result {
        Ok(q) => {
            c.cost = Some(Cost {
                usd: q.breakdown.total_usd,
                source: CostSource::Catalog { entry: q.entry },
            });
            c.unpriced_reason = None;
        }
        Err(reason) => c.unpriced_reason = Some(reason),
    }
}

/// The span's usage in catalog units (see `price` for the nesting rule).
pub fn usage_of(c: &Canonical) -> Usage {
    let cache_read = c.cache_read_tokens.unwrap_or(0);
    let cache_write = c.cache_write_tokens.unwrap_or(0);
    let mut input = c.input_tokens.unwrap_or(0);
    if cache_read.saturating_add(cache_write) > input {
        input = input.saturating_add(cache_read).saturating_add(cache_write);
    }
    let output = c.output_tokens.unwrap_or(0);
    let reasoning = c.reasoning_tokens.unwrap_or(0).min(output);
    let mut u = Usage::default();
    u.set(idx::INPUT, input);
    u.set(idx::OUTPUT, output);
    if cache_read > 0 {
        u.set(idx::CACHE_READ, cache_read);
    }
    if cache_write > 0 {
        u.set(idx::CACHE_WRITE, cache_write);
    }
    if reasoning > 0 {
        u.set(idx::REASONING, reasoning);
    }
    u
}

fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
