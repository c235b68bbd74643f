//! GenAI totals of a trace: tokens and cost of its model calls, tool calls, agents. Folded from
//! spans in any order and merged across heads and blocks, so every operation is order-free.

use std::collections::BTreeSet;

use arrow_array::RecordBatch;

use crate::genai::{GenAiColumns, off};

/// What a trace's model and tool calls add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenAiTotals {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    /// Cost of the priced model calls, USD.
    pub cost_usd: f64,
    /// Model calls without a cost (no price matched; the reason is on the span).
    pub unpriced_calls: u32,
    pub llm_calls: u32,
    pub tool_calls: u32,
    pub agents: BTreeSet<String>,
    pub models: BTreeSet<String>,
    pub conversation_id: Option<String>,
    pub user_id: Option<String>,
}

impl GenAiTotals {
    /// Folds row `row` of a span batch in. Only model calls add usage and cost: an agent span
    /// that repeats its children's usage keeps it as its own, but is not counted again.
    pub fn add_row(&mut self, cols: &GenAiColumns<'_>, row: usize) {
        if cols.llm_call(row) {
            self.llm_calls += 1;
            self.input_tokens += cols.u64(off::INPUT_TOKENS, row).unwrap_or(0);
            self.output_tokens += cols.u64(off::OUTPUT_TOKENS, row).unwrap_or(0);
            self.cache_read_tokens += cols.u64(off::CACHE_READ_TOKENS, row).unwrap_or(0);
            self.cache_write_tokens += cols.u64(off::CACHE_WRITE_TOKENS, row).unwrap_or(0);
            self.reasoning_tokens += cols.u64(off::REASONING_TOKENS, row).unwrap_or(0);
            self.cost_usd += cols.cost_usd(row).unwrap_or(0.0);
            // A failed call without usage has no cost and is not "unpriced": only calls whose
            // usage no price matched are.
            self.unpriced_calls += u32::from(cols.unpriced(row));
            let model = cols
                .str(off::RESPONSE_MODEL, row)
                .or_else(|| cols.str(off::REQUEST_MODEL, row));
            if let Some(m) = model {
                insert(&mut self.models, m);
            }
        }
        if cols.str(off::OPERATION, row) == Some("execute_tool") {
            self.tool_calls += 1;
        }
        if let Some(a) = cols.str(off::AGENT_NAME, row) {
            insert(&mut self.agents, a);
        }
        keep_least(
            &mut self.conversation_id,
            cols.str(off::CONVERSATION_ID, row),
        );
        keep_least(&mut self.user_id, cols.str(off::USER_ID, row));
    }

    /// Folds another part of the same trace in.
    pub fn merge(&mut self, o: &GenAiTotals) {
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
        self.cache_write_tokens += o.cache_write_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.cost_usd += o.cost_usd;
        self.unpriced_calls += o.unpriced_calls;
        self.llm_calls += o.llm_calls;
        self.tool_calls += o.tool_calls;
        self.agents.extend(o.agents.iter().cloned());
        self.models.extend(o.models.iter().cloned());
        keep_least(&mut self.conversation_id, o.conversation_id.as_deref());
        keep_least(&mut self.user_id, o.user_id.as_deref());
    }

    /// All tokens the trace's model calls used (cached and reasoning tokens are inside input
    /// and output, so they are not added again).
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

fn insert(set: &mut BTreeSet<String>, v: &str) {
    if !set.contains(v) {
        set.insert(v.to_owned());
    }
}

/// A trace has one conversation (and user) id; if spans disagree, the least one wins so the
/// answer does not depend on arrival order.
fn keep_least(slot: &mut Option<String>, v: Option<&str>) {
    if let Some(v) = v
        && slot.as_deref().is_none_or(|cur| v < cur)
    {
        *slot = Some(v.to_owned());
    }
}

/// Totals of every row of `batch` (empty for format-version-1 batches).
pub fn of_rows(batch: &RecordBatch, rows: impl Iterator<Item = usize>) -> GenAiTotals {
    let mut t = GenAiTotals::default();
    if let Some(cols) = GenAiColumns::of(batch) {
        rows.for_each(|r| t.add_row(&cols, r));
    }
    t
}
