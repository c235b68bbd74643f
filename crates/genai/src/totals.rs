//! Per-trace totals, built from spans that arrive in any order, in any number of requests.
//!
//! `add` and `merge` are commutative and associative, exactly: cost is summed in integer
//! femto-dollars (1e-15 USD, far below the 1e-9 USD the API reports) rather than as floats, whose
//! sums depend on order; the conversation and user ids keep the smallest value seen.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::canonical::Canonical;
use crate::classify::{counts_toward_totals, is_tool_call};

const FEMTO_PER_USD: f64 = 1e15;

/// Token, cost and call totals of one trace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceTotals {
    /// Sum of input tokens of model calls (cache reads and writes included).
    pub input_tokens: u64,
    /// Sum of output tokens of model calls (reasoning included).
    pub output_tokens: u64,
    /// Sum of cache-read tokens of model calls.
    pub cache_read_tokens: u64,
    /// Sum of cache-write tokens of model calls.
    pub cache_write_tokens: u64,
    /// Sum of reasoning tokens of model calls.
    pub reasoning_tokens: u64,
    /// Sum of model-call costs in femto-USD (see `cost_usd`).
    pub cost_femto_usd: u128,
    /// Model calls with usage but no cost (unknown model, no catalog entry).
    pub unpriced_calls: u64,
    /// Model calls.
    pub llm_calls: u64,
    /// Tool executions.
    pub tool_calls: u64,
    /// Distinct agent names.
    pub agents: BTreeSet<String>,
    /// Conversation id (the smallest seen, should a trace carry several).
    pub conversation_id: Option<String>,
    /// User id (the smallest seen).
    pub user_id: Option<String>,
}

impl TraceTotals {
    /// Adds one span.
    pub fn add(&mut self, c: &Canonical) {
        if counts_toward_totals(c) {
            self.llm_calls += 1;
            self.input_tokens = self
                .input_tokens
                .saturating_add(c.input_tokens.unwrap_or(0));
            self.output_tokens = self
                .output_tokens
                .saturating_add(c.output_tokens.unwrap_or(0));
            self.cache_read_tokens = self
                .cache_read_tokens
                .saturating_add(c.cache_read_tokens.unwrap_or(0));
            self.cache_write_tokens = self
                .cache_write_tokens
                .saturating_add(c.cache_write_tokens.unwrap_or(0));
            self.reasoning_tokens = self
                .reasoning_tokens
                .saturating_add(c.reasoning_tokens.unwrap_or(0));
            match &c.cost {
                Some(cost) => {
                    self.cost_femto_usd = self.cost_femto_usd.saturating_add(to_femto(cost.usd))
                }
                None if c.has_usage() => self.unpriced_calls += 1,
                None => {}
            }
        }
        if is_tool_call(c) {
            self.tool_calls += 1;
        }
        if let Some(a) = &c.agent_name
            && !self.agents.contains(a)
        {
            self.agents.insert(a.clone());
        }
        keep_min(&mut self.conversation_id, c.conversation_id.as_deref());
        keep_min(&mut self.user_id, c.user_id.as_deref());
    }

    /// Merges another partial total of the same trace.
    pub fn merge(&mut self, o: &TraceTotals) {
        self.input_tokens = self.input_tokens.saturating_add(o.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(o.output_tokens);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(o.cache_read_tokens);
        self.cache_write_tokens = self.cache_write_tokens.saturating_add(o.cache_write_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(o.reasoning_tokens);
        self.cost_femto_usd = self.cost_femto_usd.saturating_add(o.cost_femto_usd);
        self.unpriced_calls += o.unpriced_calls;
        self.llm_calls += o.llm_calls;
        self.tool_calls += o.tool_calls;
        self.agents.extend(o.agents.iter().cloned());
        keep_min(&mut self.conversation_id, o.conversation_id.as_deref());
        keep_min(&mut self.user_id, o.user_id.as_deref());
    }

    /// Total cost in USD.
    pub fn cost_usd(&self) -> f64 {
        self.cost_femto_usd as f64 / FEMTO_PER_USD
    }
}

/// USD → femto-USD, rounded; negative and non-finite amounts count as zero.
fn to_femto(usd: f64) -> u128 {
    if usd.is_finite() && usd > 0.0 {
        // Saturating float→int cast: amounts above u128::MAX femto-USD cannot occur in practice.
        (usd * FEMTO_PER_USD).round() as u128
    } else {
        0
    }
}

fn keep_min(slot: &mut Option<String>, candidate: Option<&str>) {
    if let Some(c) = candidate
        && slot.as_deref().is_none_or(|cur| c < cur)
    {
        *slot = Some(c.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Cost, CostSource, Operation};
    use proptest::prelude::*;

    fn span(op: u8, tokens: (u32, u32, u32), cost: Option<u32>, agent: u8, conv: u8) -> Canonical {
        let operation = match op % 4 {
            0 => Some(Operation::Chat),
            1 => Some(Operation::InvokeAgent),
            2 => Some(Operation::ExecuteTool),
            _ => None,
        };
        Canonical {
            operation,
            request_model: op.is_multiple_of(2).then(|| "m".to_string()),
            input_tokens: Some(u64::from(tokens.0)),
            output_tokens: Some(u64::from(tokens.1)),
            cache_read_tokens: Some(u64::from(tokens.2.min(tokens.0))),
            cost: cost.map(|c| Cost {
                usd: f64::from(c) * 1e-7,
                source: CostSource::Client { key: "k".into() },
            }),
            agent_name: (!agent.is_multiple_of(3)).then(|| format!("agent-{}", agent % 3)),
            conversation_id: conv.is_multiple_of(2).then(|| format!("conv-{conv}")),
            ..Default::default()
        }
    }

    fn arb_span() -> impl Strategy<Value = Canonical> {
        (
            any::<u8>(),
            any::<(u32, u32, u32)>(),
            proptest::option::of(any::<u32>()),
            any::<u8>(),
            any::<u8>(),
        )
            .prop_map(|(op, t, c, a, conv)| span(op, t, c, a, conv))
    }

    fn total(spans: &[Canonical]) -> TraceTotals {
        let mut t = TraceTotals::default();
        spans.iter().for_each(|s| t.add(s));
        t
    }

    proptest! {
        #[test]
        fn merge_is_order_independent(mut spans in proptest::collection::vec(arb_span(), 0..24), split in 0usize..24, seed in any::<u64>()) {
            let whole = total(&spans);
            let k = split.min(spans.len());
            let (a, b) = spans.split_at(k);
            let (ta, tb) = (total(a), total(b));
            let mut ab = ta.clone();
            ab.merge(&tb);
            let mut ba = tb.clone();
            ba.merge(&ta);
            prop_assert_eq!(&ab, &whole);
            prop_assert_eq!(&ba, &whole);
            // Any permutation of the spans gives the same totals.
            let n = spans.len();
            if n > 1 {
                for i in 0..n {
                    let j = (seed as usize).wrapping_add(i * 7) % n;
                    spans.swap(i, j);
                }
            }
            prop_assert_eq!(total(&spans), whole);
        }

        #[test]
        fn merge_is_associative(a in proptest::collection::vec(arb_span(), 0..8), b in proptest::collection::vec(arb_span(), 0..8), c in proptest::collection::vec(arb_span(), 0..8)) {
            let (ta, tb, tc) = (total(&a), total(&b), total(&c));
            let mut left = ta.clone();
            left.merge(&tb);
            left.merge(&tc);
            let mut bc = tb.clone();
            bc.merge(&tc);
            let mut right = ta.clone();
            right.merge(&bc);
            prop_assert_eq!(left, right);
        }
    }

    #[test]
    fn agent_usage_is_not_added_again() {
        let chat = Canonical {
            operation: Some(Operation::Chat),
            input_tokens: Some(10),
            output_tokens: Some(2),
            agent_name: Some("a".into()),
            ..Default::default()
        };
        let agent = Canonical {
            operation: Some(Operation::InvokeAgent),
            input_tokens: Some(10),
            output_tokens: Some(2),
            agent_name: Some("a".into()),
            ..Default::default()
        };
        let t = total(&[chat, agent]);
        assert_eq!(
            (
                t.input_tokens,
                t.output_tokens,
                t.llm_calls,
                t.unpriced_calls
            ),
            (10, 2, 1, 1)
        );
        assert_eq!(t.agents.len(), 1);
    }
}
