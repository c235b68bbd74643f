//! Pricing one span: fills the cost from the catalog when the client sent none.

use std::sync::Arc;

use crate::canonical::{Canonical, Cost};
use crate::canonical_ref::{CanonicalRef, CostRef};
use crate::catalog::Catalog;
use crate::catalog::units::{Usage, idx};

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
    let decision = {
        let (view, has_cost) = CanonicalRef::pricing_view(c);
        decide(catalog, &view, has_cost, start_unix_nano)
    };
    match decision {
        Priced::Skip => {}
        Priced::Cost(k) => {
            c.cost = Some(Cost {
                usd: k.usd,
                source: k.source.source.clone(),
            });
            c.unpriced_reason = None;
        }
        Priced::Unpriced(reason) => c.unpriced_reason = Some(reason.to_string()),
    }
}

/// `price` on borrowed fields (ingest): a catalog price is a shared source, nothing is copied.
pub fn price_ref(catalog: &Catalog, c: &mut CanonicalRef<'_>, start_unix_nano: u64) {
    match decide(catalog, c, c.cost.is_some(), start_unix_nano) {
        Priced::Skip => {}
        Priced::Cost(k) => {
            c.cost = Some(k);
            c.unpriced_reason = None;
        }
        Priced::Unpriced(reason) => c.unpriced_reason = Some(reason),
    }
}

/// What pricing decided for one span.
enum Priced {
    /// Not a model call with usage, or the client sent a cost: nothing to do.
    Skip,
    /// Priced from the catalog.
    Cost(CostRef),
    /// A model call with usage that no price covers, and why.
    Unpriced(Arc<str>),
}

fn decide(catalog: &Catalog, c: &CanonicalRef<'_>, has_cost: bool, start: u64) -> Priced {
    if has_cost || !c.is_llm_call() || !c.has_usage() {
        return Priced::Skip;
    }
    let Some(model) = c.model() else {
        return Priced::Unpriced("no model name on the span".into());
    };
    let usage = usage_of(c);
    let at = if start == 0 { now_unix_nano() } else { start };
    let provider = c.provider.as_deref();
    // The response model is more specific (dated snapshot); fall back to the request model.
    let mut result = catalog.quote_source(provider, model, &usage, at);
    if result.is_err()
        && let (Some(req), Some(_)) = (c.request_model.as_deref(), c.response_model.as_deref())
        && let Ok(q) = catalog.quote_source(provider, req, &usage, at)
    {
        result = Ok(q);
    }
    match result {
        Ok((b, source)) => Priced::Cost(CostRef {
            usd: b.total_usd,
            source,
        }),
        Err(reason) => Priced::Unpriced(reason),
    }
}

/// The span's usage in catalog units (see `price` for the nesting rule).
pub fn usage_of(c: &CanonicalRef<'_>) -> Usage {
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
