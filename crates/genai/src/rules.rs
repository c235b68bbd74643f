//! The dialect table: attribute key → canonical field, with a value conversion and a rank.
//!
//! A dialect is data. Every key any supported library sends is one row here; `normalize` looks a
//! span's keys up in a hash map built once from this table, and for each canonical field keeps the
//! value of the best-ranked key present (rank 0 wins over rank 1, ...), so a span that speaks two
//! dialects at once (OpenInference with its GenAI dual emission, pydantic-ai's `gen_ai.system` next
//! to `gen_ai.provider.name`) still gets one answer. `MAPPING.md` renders this table for people; a
//! test checks that every key below appears there.

use crate::key_index::KeyIndex;
use std::sync::LazyLock;

/// A canonical field a rule writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `Canonical::operation`.
    Operation,
    /// `Canonical::provider`.
    Provider,
    /// `Canonical::request_model`.
    RequestModel,
    /// `Canonical::response_model`.
    ResponseModel,
    /// `Canonical::agent_name`.
    AgentName,
    /// `Canonical::agent_id`.
    AgentId,
    /// `Canonical::tool_name`.
    ToolName,
    /// `Canonical::tool_call_id`.
    ToolCallId,
    /// `Canonical::conversation_id`.
    ConversationId,
    /// `Canonical::user_id`.
    UserId,
    /// `Canonical::input_tokens`.
    InputTokens,
    /// `Canonical::output_tokens`.
    OutputTokens,
    /// `Canonical::cache_read_tokens`.
    CacheReadTokens,
    /// `Canonical::cache_write_tokens`.
    CacheWriteTokens,
    /// `Canonical::reasoning_tokens`.
    ReasoningTokens,
    /// `Canonical::time_to_first_chunk_ns`.
    TimeToFirstChunk,
    /// `Canonical::finish_reasons`.
    FinishReasons,
    /// `Canonical::error_type`.
    ErrorType,
    /// `Canonical::cost` (client-sent).
    Cost,
}

/// Number of `Field` variants (size of the per-field rank array).
pub const FIELD_COUNT: usize = 19;

impl Field {
    /// Index into per-field arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How a rule turns the attribute value into the field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// A non-empty string, as sent.
    Text,
    /// An operation name (`chat`, `execute_tool`, ...).
    OperationName,
    /// OpenInference span kind (`LLM`, `EMBEDDING`, `TOOL`, `AGENT`, `CHAIN`, ...).
    OpenInferenceKind,
    /// The presence of the key (with a non-empty value) implies this operation.
    Implies(ImpliedOp),
    /// A non-negative integer count.
    Count,
    /// Seconds (double) converted to nanoseconds.
    SecondsToNanos,
    /// A list of strings (array, or one string).
    TextList,
    /// An error class; `<class 'openai.RateLimitError'>` becomes `openai.RateLimitError`.
    ErrorClass,
    /// US dollars (double).
    Usd,
    /// A JSON object string; the value of its `"model"` member.
    JsonModel,
}

/// Operation implied by a key's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImpliedOp {
    /// The span is an agent run.
    InvokeAgent,
    /// The span is a tool execution.
    ExecuteTool,
}

/// One row of the dialect table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Attribute key, exactly as sent.
    pub key: &'static str,
    /// Canonical field it fills.
    pub field: Field,
    /// Value conversion.
    pub conv: Conv,
    /// Precedence among keys for the same field: lower wins.
    pub rank: u8,
    /// Which libraries send it (documentation).
    pub dialect: &'static str,
}

const fn r(key: &'static str, field: Field, conv: Conv, rank: u8, dialect: &'static str) -> Rule {
    Rule {
        key,
        field,
        conv,
        rank,
        dialect,
    }
}

use Conv::*;
use Field::*;

/// Every known key. Ranks: 0 current OTel GenAI, 1 older OTel GenAI / near-standard, 2 OpenInference,
/// 3 OpenLLMetry/Traceloop, 4 framework-specific, 5 hand-instrumented `llm.*` style, 6 implied.
pub static RULES: &[Rule] = &[
    // operation
    r(
        "gen_ai.operation.name",
        Operation,
        OperationName,
        0,
        "OTel GenAI, all corpus libraries",
    ),
    r(
        "openinference.span.kind",
        Operation,
        OpenInferenceKind,
        1,
        "OpenInference",
    ),
    r(
        "traceloop.span.kind",
        Operation,
        OperationName,
        3,
        "Traceloop SDK (workflow/task/agent/tool)",
    ),
    r(
        "llm.request.type",
        Operation,
        OperationName,
        3,
        "OpenLLMetry (older)",
    ),
    r(
        "ajolopy.agent.name",
        Operation,
        Implies(ImpliedOp::InvokeAgent),
        6,
        "ajolopy root span",
    ),
    r(
        "agent.name",
        Operation,
        Implies(ImpliedOp::InvokeAgent),
        6,
        "openlit agent_context",
    ),
    // provider
    r(
        "gen_ai.provider.name",
        Provider,
        Text,
        0,
        "OTel GenAI (current)",
    ),
    r(
        "gen_ai.system",
        Provider,
        Text,
        1,
        "OTel GenAI (older), ajolopy, pydantic-ai",
    ),
    r(
        "llm.provider",
        Provider,
        Text,
        2,
        "OpenInference, hand-instrumented",
    ),
    r("llm.system", Provider, Text, 2, "OpenInference"),
    r("llm.vendor", Provider, Text, 3, "OpenLLMetry (older)"),
    // models
    r("gen_ai.request.model", RequestModel, Text, 0, "OTel GenAI"),
    r(
        "llm.request.model",
        RequestModel,
        Text,
        3,
        "OpenLLMetry (older)",
    ),
    r(
        "llm.invocation_parameters",
        RequestModel,
        JsonModel,
        2,
        "OpenInference (JSON `model`)",
    ),
    r(
        "llm.model",
        RequestModel,
        Text,
        5,
        "hand-instrumented (seed 001)",
    ),
    r(
        "gen_ai.response.model",
        ResponseModel,
        Text,
        0,
        "OTel GenAI",
    ),
    r(
        "llm.response.model",
        ResponseModel,
        Text,
        3,
        "OpenLLMetry (older)",
    ),
    r(
        "llm.model_name",
        ResponseModel,
        Text,
        2,
        "OpenInference (the response model)",
    ),
    r(
        "embedding.model_name",
        ResponseModel,
        Text,
        2,
        "OpenInference embeddings",
    ),
    // agent and tool
    r(
        "gen_ai.agent.name",
        AgentName,
        Text,
        0,
        "OTel GenAI, pydantic-ai",
    ),
    r("ajolopy.agent.name", AgentName, Text, 4, "ajolopy"),
    r("agent.name", AgentName, Text, 4, "openlit"),
    r("agent_name", AgentName, Text, 4, "pydantic-ai (logfire)"),
    r("gen_ai.agent.id", AgentId, Text, 0, "OTel GenAI"),
    r("agent.id", AgentId, Text, 4, "frameworks"),
    r("gen_ai.tool.name", ToolName, Text, 0, "OTel GenAI"),
    r("tool.name", ToolName, Text, 2, "OpenInference"),
    r("gen_ai.tool.call.id", ToolCallId, Text, 0, "OTel GenAI"),
    r(
        "gen_ai.tool.call.id",
        Operation,
        Implies(ImpliedOp::ExecuteTool),
        6,
        "ajolopy tool span (no operation name)",
    ),
    r("tool_call.id", ToolCallId, Text, 2, "OpenInference"),
    // conversation and user
    r(
        "gen_ai.conversation.id",
        ConversationId,
        Text,
        0,
        "OTel GenAI, pydantic-ai",
    ),
    r("session.id", ConversationId, Text, 2, "OpenInference"),
    r(
        "traceloop.association.properties.session_id",
        ConversationId,
        Text,
        3,
        "Traceloop SDK",
    ),
    r("user.id", UserId, Text, 0, "OTel (user), OpenInference"),
    r("enduser.id", UserId, Text, 1, "OTel (older)"),
    r(
        "traceloop.association.properties.user_id",
        UserId,
        Text,
        3,
        "Traceloop SDK",
    ),
    // tokens
    r(
        "gen_ai.usage.input_tokens",
        InputTokens,
        Count,
        0,
        "OTel GenAI",
    ),
    r(
        "gen_ai.usage.prompt_tokens",
        InputTokens,
        Count,
        1,
        "OTel GenAI (older), OpenLLMetry",
    ),
    r(
        "llm.token_count.prompt",
        InputTokens,
        Count,
        2,
        "OpenInference",
    ),
    r(
        "llm.usage.prompt_tokens",
        InputTokens,
        Count,
        3,
        "OpenLLMetry (older)",
    ),
    r(
        "llm.tokens.input",
        InputTokens,
        Count,
        5,
        "hand-instrumented (seed 001)",
    ),
    r(
        "gen_ai.usage.output_tokens",
        OutputTokens,
        Count,
        0,
        "OTel GenAI",
    ),
    r(
        "gen_ai.usage.completion_tokens",
        OutputTokens,
        Count,
        1,
        "OTel GenAI (older), OpenLLMetry",
    ),
    r(
        "llm.token_count.completion",
        OutputTokens,
        Count,
        2,
        "OpenInference",
    ),
    r(
        "llm.usage.completion_tokens",
        OutputTokens,
        Count,
        3,
        "OpenLLMetry (older)",
    ),
    r(
        "llm.tokens.output",
        OutputTokens,
        Count,
        5,
        "hand-instrumented (seed 001)",
    ),
    r(
        "gen_ai.usage.cache_read.input_tokens",
        CacheReadTokens,
        Count,
        0,
        "OTel GenAI, openlit, pydantic-ai, traceloop",
    ),
    r(
        "gen_ai.usage.cache_read_input_tokens",
        CacheReadTokens,
        Count,
        1,
        "OpenLLMetry (older)",
    ),
    r(
        "llm.token_count.prompt_details.cache_read",
        CacheReadTokens,
        Count,
        2,
        "OpenInference",
    ),
    r(
        "gen_ai.usage.details.cache_read_tokens",
        CacheReadTokens,
        Count,
        4,
        "pydantic-ai",
    ),
    r(
        "gen_ai.usage.cache_creation.input_tokens",
        CacheWriteTokens,
        Count,
        0,
        "OTel GenAI, openlit",
    ),
    r(
        "gen_ai.usage.cache_creation_input_tokens",
        CacheWriteTokens,
        Count,
        1,
        "OpenLLMetry (older)",
    ),
    r(
        "llm.token_count.prompt_details.cache_write",
        CacheWriteTokens,
        Count,
        2,
        "OpenInference",
    ),
    r(
        "gen_ai.usage.details.cache_write_tokens",
        CacheWriteTokens,
        Count,
        4,
        "pydantic-ai",
    ),
    r(
        "gen_ai.usage.reasoning.output_tokens",
        ReasoningTokens,
        Count,
        0,
        "OTel GenAI",
    ),
    r(
        "gen_ai.usage.reasoning_tokens",
        ReasoningTokens,
        Count,
        1,
        "traceloop",
    ),
    r(
        "llm.token_count.completion_details.reasoning",
        ReasoningTokens,
        Count,
        2,
        "OpenInference",
    ),
    r(
        "gen_ai.usage.details.reasoning_tokens",
        ReasoningTokens,
        Count,
        4,
        "pydantic-ai",
    ),
    // streaming
    r(
        "gen_ai.client.operation.time_to_first_chunk",
        TimeToFirstChunk,
        SecondsToNanos,
        0,
        "pydantic-ai",
    ),
    r(
        "gen_ai.server.time_to_first_token",
        TimeToFirstChunk,
        SecondsToNanos,
        1,
        "openlit",
    ),
    r(
        "gen_ai.response.time_to_first_chunk",
        TimeToFirstChunk,
        SecondsToNanos,
        1,
        "OTel GenAI (proposed)",
    ),
    // outcome
    r(
        "gen_ai.response.finish_reasons",
        FinishReasons,
        TextList,
        0,
        "OTel GenAI",
    ),
    r(
        "llm.finish_reason",
        FinishReasons,
        TextList,
        2,
        "OpenInference",
    ),
    r(
        "llm.response.finish_reason",
        FinishReasons,
        TextList,
        3,
        "OpenLLMetry (older)",
    ),
    r(
        "error.type",
        ErrorType,
        ErrorClass,
        0,
        "OTel; openai_v2, traceloop, openlit",
    ),
    // client-sent cost
    r("gen_ai.cost_usd", Cost, Usd, 4, "ajolopy (per call)"),
    r("gen_ai.usage.cost", Cost, Usd, 4, "openlit"),
    r("operation.cost", Cost, Usd, 4, "pydantic-ai"),
    r(
        "ajolopy.cost_usd.total",
        Cost,
        Usd,
        4,
        "ajolopy (agent root: the run total)",
    ),
    r("cost.usd", Cost, Usd, 5, "hand-instrumented (seed 002)"),
    r("llm.cost.usd", Cost, Usd, 5, "hand-instrumented"),
];

/// When the span name carries a canonical field: some dialects name an agent or tool span after
/// the agent or the function and send no attribute with that name.
#[derive(Debug, Clone, Copy)]
pub struct NameRule {
    /// Instrumentation scope the span must come from (`None`: any).
    pub scope: Option<&'static str>,
    /// Attribute key the span must carry.
    pub key: &'static str,
    /// Value that key must have (case-insensitive); `None`: any non-empty value.
    pub value: Option<&'static str>,
    /// Operation the span gets when it has none yet.
    pub implies: Option<ImpliedOp>,
    /// Field filled from the span name when no attribute filled it.
    pub field: Field,
    /// Which libraries need it (documentation).
    pub dialect: &'static str,
}

/// Span-name rules, applied after every attribute rule (so any attribute wins over the name).
pub static NAME_RULES: &[NameRule] = &[
    NameRule {
        scope: None,
        key: "openinference.span.kind",
        value: Some("AGENT"),
        implies: None,
        field: AgentName,
        dialect: "OpenInference `@tracer.agent` (span named after the agent)",
    },
    NameRule {
        scope: None,
        key: "openinference.span.kind",
        value: Some("TOOL"),
        implies: None,
        field: ToolName,
        dialect: "OpenInference `@tracer.tool` (span named after the tool)",
    },
    NameRule {
        scope: Some("openlit"),
        key: "function.args",
        value: None,
        implies: Some(ImpliedOp::ExecuteTool),
        field: ToolName,
        dialect: "openlit `@openlit.trace` (span named after the decorated function)",
    },
];

/// Span events with a meaning for the canonical model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventMeaning {
    /// The first streamed chunk arrived at the event's time.
    FirstChunk,
    /// An exception; its `exception.type` is an error class.
    Exception,
}

/// Event name → meaning. Events whose attributes carry usage (a last streaming chunk) are read
/// with the attribute rules above, whatever their name.
pub static EVENT_RULES: &[(&str, EventMeaning)] = &[
    ("First Token Stream Event", EventMeaning::FirstChunk),
    ("gen_ai.content.completion.chunk", EventMeaning::FirstChunk),
    ("llm.content.completion.chunk", EventMeaning::FirstChunk),
    ("exception", EventMeaning::Exception),
];

/// Key → rules (a key may fill more than one field, e.g. `agent.name`).
pub static BY_KEY: LazyLock<KeyIndex<KeyRules>> = LazyLock::new(|| {
    let mut map: Vec<(&'static str, KeyRules)> = Vec::with_capacity(RULES.len());
    fn entry<'m>(
        map: &'m mut Vec<(&'static str, KeyRules)>,
        key: &'static str,
    ) -> &'m mut KeyRules {
        let i = match map.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                map.push((key, KeyRules::default()));
                map.len() - 1
            }
        };
        &mut map[i].1
    }
    for rule in RULES {
        entry(&mut map, rule.key).rules.push(rule);
    }
    for (i, rule) in NAME_RULES.iter().enumerate() {
        entry(&mut map, rule.key).name_rules |= 1 << i;
    }
    KeyIndex::new(map)
});

/// What one attribute key means: its rules, and the span-name rules that ask for it. The name
/// rules are found by the same lookup as the others, instead of a scan of the span's attributes
/// per name rule.
#[derive(Debug, Default)]
pub struct KeyRules {
    /// Rows of `RULES` with this key, in table order.
    pub rules: Vec<&'static Rule>,
    /// Bit `i`: `NAME_RULES[i]` asks for this key.
    pub name_rules: u8,
}

/// The meaning of an event name, if any.
pub fn event_meaning(name: &str) -> Option<EventMeaning> {
    EVENT_RULES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_rule_has_a_bit() {
        assert!(
            NAME_RULES.len() <= 8,
            "KeyRules::name_rules holds a rule per bit"
        );
        for (i, rule) in NAME_RULES.iter().enumerate() {
            let e = BY_KEY.get(rule.key.as_bytes()).expect("name-rule key");
            assert_ne!(e.name_rules & (1 << i), 0, "{}", rule.key);
        }
    }

    #[test]
    fn field_count_matches_the_enum() {
        assert_eq!(Field::Cost.index() + 1, FIELD_COUNT);
    }

    #[test]
    fn no_key_fills_the_same_field_twice() {
        let mut seen = std::collections::HashSet::new();
        for rule in RULES {
            assert!(
                seen.insert((rule.key, rule.field)),
                "duplicate rule {} → {:?}",
                rule.key,
                rule.field
            );
        }
    }

    #[test]
    fn every_rule_key_is_documented_in_mapping_md() {
        let doc = include_str!("../MAPPING.md");
        for rule in RULES {
            assert!(
                doc.contains(&format!("`{}`", rule.key)),
                "MAPPING.md lacks `{}`",
                rule.key
            );
        }
        for rule in NAME_RULES {
            assert!(
                doc.contains(&format!("`{}`", rule.key)),
                "MAPPING.md lacks name rule `{}`",
                rule.key
            );
        }
        for (name, _) in EVENT_RULES {
            assert!(
                doc.contains(&format!("`{name}`")),
                "MAPPING.md lacks event `{name}`"
            );
        }
    }
}
