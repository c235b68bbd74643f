//! The canonical GenAI fields of one span, whatever dialect the client spoke.

use serde::{Deserialize, Serialize};

/// What a span does, from `gen_ai.operation.name` or a dialect's equivalent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Operation {
    /// A chat completion call to a model.
    Chat,
    /// A legacy text completion call.
    TextCompletion,
    /// A multimodal `generate_content` call (Gemini and others).
    GenerateContent,
    /// An embeddings call.
    Embeddings,
    /// A tool execution.
    ExecuteTool,
    /// An agent run (it usually repeats its children's usage).
    InvokeAgent,
    /// Agent creation.
    CreateAgent,
    /// A workflow, chain or task wrapper.
    Workflow,
    /// A retrieval step.
    Retrieval,
    /// A rerank call.
    Rerank,
    /// Anything else, as sent.
    Other(String),
}

impl Operation {
    /// Parses a dialect's operation name (case-insensitive for the known names).
    pub fn parse(s: &str) -> Operation {
        // Senders nearly always spell a known name as listed: a plain comparison finds it
        // before any case folding (the names are distinct in lowercase, so it is the same one).
        OPERATION_NAMES
            .iter()
            .find(|(name, _)| *name == s)
            .or_else(|| {
                OPERATION_NAMES
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(s))
            })
            .map_or_else(|| Operation::Other(s.to_string()), |(_, op)| op.clone())
    }

    /// The canonical spelling (OTel GenAI names where they exist).
    pub fn as_str(&self) -> &str {
        match self {
            Operation::Other(s) => s,
            known => known.static_str(),
        }
    }

    /// The canonical spelling of a known operation (`Other` gives `""`; use `as_str` for it).
    pub fn static_str(&self) -> &'static str {
        match self {
            Operation::Other(_) => "",
            Operation::Chat => "chat",
            Operation::TextCompletion => "text_completion",
            Operation::GenerateContent => "generate_content",
            Operation::Embeddings => "embeddings",
            Operation::ExecuteTool => "execute_tool",
            Operation::InvokeAgent => "invoke_agent",
            Operation::CreateAgent => "create_agent",
            Operation::Workflow => "workflow",
            Operation::Retrieval => "retrieval",
            Operation::Rerank => "rerank",
        }
    }

    /// True for operations that are one call to a model (and so carry billable usage).
    pub fn is_model_call(&self) -> bool {
        matches!(
            self,
            Operation::Chat
                | Operation::TextCompletion
                | Operation::GenerateContent
                | Operation::Embeddings
                | Operation::Rerank
        )
    }
}

impl From<String> for Operation {
    fn from(s: String) -> Self {
        Operation::parse(&s)
    }
}

impl From<Operation> for String {
    fn from(op: Operation) -> Self {
        op.as_str().to_string()
    }
}

/// Operation names as dialects send them (compared case-insensitively, without allocating).
static OPERATION_NAMES: &[(&str, Operation)] = &[
    ("chat", Operation::Chat),
    ("text_completion", Operation::TextCompletion),
    ("completion", Operation::TextCompletion),
    ("generate_content", Operation::GenerateContent),
    ("embeddings", Operation::Embeddings),
    ("embedding", Operation::Embeddings),
    ("execute_tool", Operation::ExecuteTool),
    ("tool", Operation::ExecuteTool),
    ("invoke_agent", Operation::InvokeAgent),
    ("agent", Operation::InvokeAgent),
    ("create_agent", Operation::CreateAgent),
    ("workflow", Operation::Workflow),
    ("chain", Operation::Workflow),
    ("task", Operation::Workflow),
    ("retrieval", Operation::Retrieval),
    ("retriever", Operation::Retrieval),
    ("rerank", Operation::Rerank),
    ("reranker", Operation::Rerank),
];

/// The catalog entry that priced a span: provider id and model id, or a user override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceEntry {
    /// Catalog provider id (`openai`), or the override's provider (may be empty).
    pub provider: String,
    /// Catalog model id (`gpt-4o-mini`), or the override's model pattern.
    pub model: String,
    /// True when a user override from the config priced the span.
    #[serde(default)]
    pub from_override: bool,
}

impl std::fmt::Display for PriceEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = if self.from_override { "override:" } else { "" };
        write!(f, "{origin}{}/{}", self.provider, self.model)
    }
}

/// Where a cost figure came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CostSource {
    /// Sent by the client in attribute `key`; kept as sent.
    Client {
        /// The attribute that carried it (`gen_ai.cost_usd`, `gen_ai.usage.cost`, ...).
        key: String,
    },
    /// Computed by Sextant from the price catalog.
    Catalog {
        /// The entry that priced it.
        entry: PriceEntry,
    },
}

/// A span's cost in USD and its origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// US dollars.
    pub usd: f64,
    /// Client-sent or catalog-computed.
    pub source: CostSource,
}

/// The canonical GenAI fields of one span. Every field is optional: a span carries what it carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Canonical {
    /// chat, embeddings, execute_tool, invoke_agent, ...
    pub operation: Option<Operation>,
    /// Provider as sent (`openai`, `aws.bedrock`, ...).
    pub provider: Option<String>,
    /// Model asked for.
    pub request_model: Option<String>,
    /// Model that answered (often a dated snapshot).
    pub response_model: Option<String>,
    /// Agent name.
    pub agent_name: Option<String>,
    /// Agent id.
    pub agent_id: Option<String>,
    /// Tool name (of an executed tool, or of the tool a model asked for).
    pub tool_name: Option<String>,
    /// Tool call id.
    pub tool_call_id: Option<String>,
    /// Conversation / session id.
    pub conversation_id: Option<String>,
    /// End user id.
    pub user_id: Option<String>,
    /// Input tokens, **including** cache reads and cache writes (OTel GenAI convention).
    pub input_tokens: Option<u64>,
    /// Output tokens, **including** reasoning tokens.
    pub output_tokens: Option<u64>,
    /// Input tokens served from the provider's cache (inside `input_tokens`).
    pub cache_read_tokens: Option<u64>,
    /// Input tokens written to the provider's cache (inside `input_tokens`).
    pub cache_write_tokens: Option<u64>,
    /// Reasoning tokens (inside `output_tokens`).
    pub reasoning_tokens: Option<u64>,
    /// Time from the span start to the first streamed chunk, in nanoseconds.
    pub time_to_first_chunk_ns: Option<u64>,
    /// Finish reasons as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_reasons: Vec<String>,
    /// Error class (`error.type`, else the exception type, else `_OTHER` for an ERROR span).
    pub error_type: Option<String>,
    /// Cost in USD, client-sent or computed.
    pub cost: Option<Cost>,
    /// Why the span has no cost although it is a model call with usage.
    pub unpriced_reason: Option<String>,
}

impl Canonical {
    /// True when no GenAI field was found (the span is plain application tracing).
    pub fn is_empty(&self) -> bool {
        *self == Canonical::default()
    }

    /// True when the span reports any token count.
    pub fn has_usage(&self) -> bool {
        self.input_tokens.is_some()
            || self.output_tokens.is_some()
            || self.cache_read_tokens.is_some()
            || self.cache_write_tokens.is_some()
            || self.reasoning_tokens.is_some()
    }

    /// The model to price: the response model (more specific), else the request model.
    pub fn model(&self) -> Option<&str> {
        self.response_model
            .as_deref()
            .or(self.request_model.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_lowercase_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for (name, op) in OPERATION_NAMES {
            assert_eq!(name.to_ascii_lowercase(), *name);
            assert!(seen.insert(*name), "{name} twice");
            assert_eq!(Operation::parse(name), *op);
            assert_eq!(Operation::parse(&name.to_ascii_uppercase()), *op);
        }
    }
}
