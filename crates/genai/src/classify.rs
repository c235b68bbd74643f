//! Which spans are one model call, so that trace totals count each call once.
//!
//! Agent and workflow spans often repeat their children's usage (openai_v2's `invoke_agent`,
//! ajolopy's `ajolopy.cost_usd.total` on the root): they keep those figures as their own, but the
//! totals add only model calls. A span is classified by its attributes, never by its name
//! (`chat X` can be a whole agent run) or kind (ajolopy's LLM calls are INTERNAL).

use crate::canonical::{Canonical, Operation};

/// True when the span is one call to a model: its operation is a model call (chat, completion,
/// generate_content, embeddings, rerank), or it names no operation but reports a model and usage
/// (the hand-instrumented `llm.model` + `llm.tokens.*` style).
pub fn is_llm_call(c: &Canonical) -> bool {
    is_model_call(c.operation.as_ref(), c.model().is_some(), c.has_usage())
}

/// The rule of `is_llm_call` on its inputs (shared by the owned and borrowed canonical types).
pub(crate) fn is_model_call(op: Option<&Operation>, has_model: bool, has_usage: bool) -> bool {
    match op {
        Some(op) => op.is_model_call(),
        None => has_model && has_usage,
    }
}

/// True when the span's tokens and cost add to the trace totals (the same as `is_llm_call`).
pub fn counts_toward_totals(c: &Canonical) -> bool {
    is_llm_call(c)
}

/// True when the span is a tool execution.
pub fn is_tool_call(c: &Canonical) -> bool {
    c.operation == Some(Operation::ExecuteTool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_span_with_usage_is_not_a_call() {
        let c = Canonical {
            operation: Some(Operation::InvokeAgent),
            request_model: Some("gpt-4o-mini".into()),
            input_tokens: Some(10),
            ..Default::default()
        };
        assert!(!is_llm_call(&c));
    }

    #[test]
    fn unnamed_operation_needs_model_and_usage() {
        let mut c = Canonical {
            request_model: Some("m".into()),
            ..Default::default()
        };
        assert!(!is_llm_call(&c));
        c.output_tokens = Some(1);
        assert!(is_llm_call(&c));
        c.request_model = None;
        assert!(!is_llm_call(&c));
    }

    #[test]
    fn failed_chat_without_usage_is_still_a_call() {
        let c = Canonical {
            operation: Some(Operation::Chat),
            ..Default::default()
        };
        assert!(is_llm_call(&c));
        assert!(!is_tool_call(&c));
    }
}
