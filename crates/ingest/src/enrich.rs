//! The `normalize` stage at ingest: maps each span's GenAI attributes (any dialect) to the
//! store's canonical columns and prices model calls from the catalog when the client sent no
//! cost.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use sextant_genai::{Canonical, Catalog, CostSource};
use sextant_store::{GenAiRow, SpanEnricher};

/// Normalizes and prices spans with a price catalog.
pub struct GenAiEnricher {
    catalog: Arc<Catalog>,
}

impl GenAiEnricher {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self { catalog }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }
}

impl SpanEnricher for GenAiEnricher {
    fn enrich<'a>(
        &self,
        resource: Option<&'a Resource>,
        scope: Option<&'a InstrumentationScope>,
        span: &'a Span,
    ) -> GenAiRow<'a> {
        let mut c = sextant_genai::normalize(resource, scope, span);
        if c.is_empty() {
            return GenAiRow::default();
        }
        sextant_genai::price(&self.catalog, &mut c, span.start_time_unix_nano);
        to_row(c)
    }
}

/// The store's columns of a canonical span (`cost_source` says where the cost came from).
pub fn to_row(c: Canonical) -> GenAiRow<'static> {
    let llm_call = sextant_genai::counts_toward_totals(&c);
    let (cost_usd, cost_source) = match (&c.cost, &c.unpriced_reason) {
        (Some(cost), _) => (Some(cost.usd), Some(source_label(&cost.source))),
        (None, Some(reason)) => (None, Some(format!("unpriced:{reason}"))),
        (None, None) => (None, None),
    };
    let own = |s: Option<String>| s.map(Cow::Owned);
    GenAiRow {
        operation: c.operation.map(|o| Cow::Owned(String::from(o))),
        provider: own(c.provider),
        request_model: own(c.request_model),
        response_model: own(c.response_model),
        agent_name: own(c.agent_name),
        agent_id: own(c.agent_id),
        tool_name: own(c.tool_name),
        tool_call_id: own(c.tool_call_id),
        conversation_id: own(c.conversation_id),
        user_id: own(c.user_id),
        input_tokens: c.input_tokens,
        output_tokens: c.output_tokens,
        cache_read_tokens: c.cache_read_tokens,
        cache_write_tokens: c.cache_write_tokens,
        reasoning_tokens: c.reasoning_tokens,
        time_to_first_chunk_nano: c.time_to_first_chunk_ns,
        finish_reasons: c.finish_reasons.into_iter().map(Cow::Owned).collect(),
        error_type: own(c.error_type),
        cost_usd,
        cost_source: cost_source.map(Cow::Owned),
        llm_call,
    }
}

/// `client:<attribute>` or `catalog:<provider>/<model>` (`catalog:override:...` for config
/// overrides).
pub fn source_label(s: &CostSource) -> String {
    match s {
        CostSource::Client { key } => format!("client:{key}"),
        CostSource::Catalog { entry } => format!("catalog:{entry}"),
    }
}
