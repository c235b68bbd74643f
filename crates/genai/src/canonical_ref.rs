//! The canonical GenAI fields of one span, borrowed from the span: what ingest computes for every
//! span, without copying a string. `Canonical` is its owned form (`into_owned`), for callers
//! that keep the fields beyond the span (the TraceQL fallback, trace totals, tests).

use std::borrow::Cow;
use std::sync::Arc;

use crate::canonical::{Canonical, Cost, Operation};
use crate::source::Source;

/// A cost figure and where it came from (an interned source, see `source.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostRef {
    /// US dollars.
    pub usd: f64,
    /// Client-sent or catalog-computed, with its stored label.
    pub source: &'static Source,
}

/// `Canonical` with strings borrowed from the span where they can be (see its field docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CanonicalRef<'a> {
    /// chat, embeddings, execute_tool, invoke_agent, ...
    pub operation: Option<Operation>,
    /// Provider as sent.
    pub provider: Option<Cow<'a, str>>,
    /// Model asked for.
    pub request_model: Option<Cow<'a, str>>,
    /// Model that answered.
    pub response_model: Option<Cow<'a, str>>,
    /// Agent name.
    pub agent_name: Option<Cow<'a, str>>,
    /// Agent id.
    pub agent_id: Option<Cow<'a, str>>,
    /// Tool name.
    pub tool_name: Option<Cow<'a, str>>,
    /// Tool call id.
    pub tool_call_id: Option<Cow<'a, str>>,
    /// Conversation / session id.
    pub conversation_id: Option<Cow<'a, str>>,
    /// End user id.
    pub user_id: Option<Cow<'a, str>>,
    /// Input tokens, including cache reads and writes.
    pub input_tokens: Option<u64>,
    /// Output tokens, including reasoning tokens.
    pub output_tokens: Option<u64>,
    /// Cache-read tokens (inside `input_tokens`).
    pub cache_read_tokens: Option<u64>,
    /// Cache-write tokens (inside `input_tokens`).
    pub cache_write_tokens: Option<u64>,
    /// Reasoning tokens (inside `output_tokens`).
    pub reasoning_tokens: Option<u64>,
    /// Time to the first streamed chunk, in nanoseconds.
    pub time_to_first_chunk_ns: Option<u64>,
    /// Finish reasons as sent.
    /// Inline for the usual one or two reasons: no allocation per span.
    pub finish_reasons: smallvec::SmallVec<[Cow<'a, str>; 2]>,
    /// Error class.
    pub error_type: Option<Cow<'a, str>>,
    /// Cost in USD, client-sent or computed.
    pub cost: Option<CostRef>,
    /// Why a model call with usage has no cost.
    pub unpriced_reason: Option<Arc<str>>,
}

impl CanonicalRef<'_> {
    /// True when no GenAI field was found (every field as in `default()`). Field by field
    /// rather than by comparing with a built default: ingest asks it of every span. The
    /// destructuring names every field, so a new one cannot be forgotten here.
    pub fn is_empty(&self) -> bool {
        let CanonicalRef {
            operation,
            provider,
            request_model,
            response_model,
            agent_name,
            agent_id,
            tool_name,
            tool_call_id,
            conversation_id,
            user_id,
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            reasoning_tokens,
            time_to_first_chunk_ns,
            finish_reasons,
            error_type,
            cost,
            unpriced_reason,
        } = self;
        let strings = [
            provider,
            request_model,
            response_model,
            agent_name,
            agent_id,
            tool_name,
            tool_call_id,
            conversation_id,
            user_id,
            error_type,
        ];
        let counts = [
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            reasoning_tokens,
            time_to_first_chunk_ns,
        ];
        operation.is_none()
            && strings.iter().all(|s| s.is_none())
            && counts.iter().all(|n| n.is_none())
            && finish_reasons.is_empty()
            && cost.is_none()
            && unpriced_reason.is_none()
    }

    /// True when the span reports any token count.
    pub fn has_usage(&self) -> bool {
        self.input_tokens.is_some()
            || self.output_tokens.is_some()
            || self.cache_read_tokens.is_some()
            || self.cache_write_tokens.is_some()
            || self.reasoning_tokens.is_some()
    }

    /// The model to price: the response model, else the request model.
    pub fn model(&self) -> Option<&str> {
        self.response_model
            .as_deref()
            .or(self.request_model.as_deref())
    }

    /// True when the span is one model call (see `classify::is_llm_call`).
    pub fn is_llm_call(&self) -> bool {
        crate::classify::is_model_call(
            self.operation.as_ref(),
            self.model().is_some(),
            self.has_usage(),
        )
    }

    /// The owned fields.
    pub fn into_owned(self) -> Canonical {
        let own = |s: Option<Cow<'_, str>>| s.map(Cow::into_owned);
        Canonical {
            operation: self.operation,
            provider: own(self.provider),
            request_model: own(self.request_model),
            response_model: own(self.response_model),
            agent_name: own(self.agent_name),
            agent_id: own(self.agent_id),
            tool_name: own(self.tool_name),
            tool_call_id: own(self.tool_call_id),
            conversation_id: own(self.conversation_id),
            user_id: own(self.user_id),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cache_read_tokens: self.cache_read_tokens,
            cache_write_tokens: self.cache_write_tokens,
            reasoning_tokens: self.reasoning_tokens,
            time_to_first_chunk_ns: self.time_to_first_chunk_ns,
            finish_reasons: self
                .finish_reasons
                .into_iter()
                .map(Cow::into_owned)
                .collect(),
            error_type: own(self.error_type),
            cost: self.cost.map(|c| Cost {
                usd: c.usd,
                source: c.source.source.clone(),
            }),
            unpriced_reason: self.unpriced_reason.map(|r| r.to_string()),
        }
    }
}

impl<'a> CanonicalRef<'a> {
    /// The fields pricing reads, borrowed from an owned `Canonical` (its cost only as a flag:
    /// pricing leaves a span with a cost alone).
    pub(crate) fn pricing_view(c: &'a Canonical) -> (CanonicalRef<'a>, bool) {
        let b = |s: &'a Option<String>| s.as_deref().map(Cow::Borrowed);
        let view = CanonicalRef {
            operation: c.operation.clone(),
            provider: b(&c.provider),
            request_model: b(&c.request_model),
            response_model: b(&c.response_model),
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            cache_read_tokens: c.cache_read_tokens,
            cache_write_tokens: c.cache_write_tokens,
            reasoning_tokens: c.reasoning_tokens,
            ..Default::default()
        };
        (view, c.cost.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_every_field_as_in_default() {
        assert!(CanonicalRef::default().is_empty());
        let one_field: [fn(&mut CanonicalRef<'static>); 20] = [
            |c| c.operation = Some(Operation::Chat),
            |c| c.provider = Some(Cow::Borrowed("x")),
            |c| c.request_model = Some(Cow::Borrowed("x")),
            |c| c.response_model = Some(Cow::Borrowed("x")),
            |c| c.agent_name = Some(Cow::Borrowed("x")),
            |c| c.agent_id = Some(Cow::Borrowed("x")),
            |c| c.tool_name = Some(Cow::Borrowed("x")),
            |c| c.tool_call_id = Some(Cow::Borrowed("x")),
            |c| c.conversation_id = Some(Cow::Borrowed("x")),
            |c| c.user_id = Some(Cow::Borrowed("x")),
            |c| c.input_tokens = Some(0),
            |c| c.output_tokens = Some(0),
            |c| c.cache_read_tokens = Some(0),
            |c| c.cache_write_tokens = Some(0),
            |c| c.reasoning_tokens = Some(0),
            |c| c.time_to_first_chunk_ns = Some(0),
            |c| c.finish_reasons.push(Cow::Borrowed("stop")),
            |c| c.error_type = Some(Cow::Borrowed("x")),
            |c| {
                c.cost = Some(CostRef {
                    usd: 0.0,
                    source: crate::source::client("k"),
                })
            },
            |c| c.unpriced_reason = Some("why".into()),
        ];
        for (i, set) in one_field.iter().enumerate() {
            let mut c = CanonicalRef::default();
            set(&mut c);
            assert_ne!(c, CanonicalRef::default(), "field {i}");
            assert!(!c.is_empty(), "field {i}");
        }
    }
}
