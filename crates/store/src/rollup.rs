//! Cost and token rollups over the model calls of a time range, grouped by model, provider,
//! agent, service or user, with totals and a time series. Read from the canonical columns only.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch};
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::genai::{GenAiColumns, off};
use crate::read::Projection;
use crate::schema::col;
use crate::store::Store;

/// What model calls are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Model,
    Provider,
    Agent,
    Service,
    User,
}

impl std::str::FromStr for GroupBy {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "model" => GroupBy::Model,
            "provider" => GroupBy::Provider,
            "agent" => GroupBy::Agent,
            "service" => GroupBy::Service,
            "user" => GroupBy::User,
            other => {
                return Err(StoreError::BadQuery(format!(
                    "group_by must be model, provider, agent, service or user, not {other:?}"
                )));
            }
        })
    }
}

/// A cost rollup request; times in Unix nanoseconds.
#[derive(Debug, Clone)]
pub struct CostQuery {
    pub start: u64,
    pub end: u64,
    /// Width of a time-series bucket; `None` for totals only.
    pub step: Option<u64>,
    pub group_by: GroupBy,
}

/// Usage and cost of a set of model calls.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Usage {
    pub calls: u64,
    pub unpriced_calls: u64,
    pub cost_usd: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
}

impl Usage {
    fn add(&mut self, c: &GenAiColumns<'_>, row: usize) {
        self.calls += 1;
        self.cost_usd += c.cost_usd(row).unwrap_or(0.0);
        self.unpriced_calls += u64::from(c.unpriced(row));
        let t = |o| c.u64(o, row).unwrap_or(0);
        self.input_tokens += t(off::INPUT_TOKENS);
        self.output_tokens += t(off::OUTPUT_TOKENS);
        self.cache_read_tokens += t(off::CACHE_READ_TOKENS);
        self.cache_write_tokens += t(off::CACHE_WRITE_TOKENS);
        self.reasoning_tokens += t(off::REASONING_TOKENS);
    }
}

/// One group's totals and, when a step was asked for, its buckets (start time, usage).
#[derive(Debug, Clone, Serialize)]
pub struct CostGroup {
    /// The group's value; `None` for calls that do not say (e.g. no agent).
    pub key: Option<String>,
    pub total: Usage,
    pub series: Vec<(u64, Usage)>,
}

/// A whole rollup: every group, largest cost first, and the grand total.
#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    pub groups: Vec<CostGroup>,
    pub total: Usage,
}

const COLUMNS: [usize; 5] = [
    col::TRACE_ID,
    col::SPAN_ID,
    col::PARENT_SPAN_ID,
    col::START,
    col::SERVICE,
];

impl Store {
    /// Rolls up the model calls that started in `[q.start, q.end]`.
    pub fn cost_report(&self, tenant: &str, q: &CostQuery) -> Result<CostReport> {
        if q.step == Some(0) || q.end < q.start {
            return Err(StoreError::BadQuery(
                "need start <= end and a step > 0".into(),
            ));
        }
        if let Some(step) = q.step
            && (q.end - q.start) / step > 11_000
        {
            return Err(StoreError::BadQuery(
                "more than 11,000 points per series; use a larger step".into(),
            ));
        }
        let mut columns: Vec<usize> = COLUMNS.to_vec();
        columns.extend(col::GENAI..col::GENAI + off::COUNT);
        let mut calls: Vec<Call> = Vec::new();
        let mut agents = AgentIndex::default();
        self.scan_spans(tenant, q.start, q.end, &columns, |batch, p| {
            collect(batch, p, q, &mut calls, &mut agents);
        })?;
        Ok(build_report(q, calls, &agents))
    }
}

/// One model call: its group key (agent resolved later), start and usage.
struct Call {
    key: Option<String>,
    /// (trace, parent span) to look the agent up by, when the call does not name one.
    parent: Option<([u8; 16], [u8; 8])>,
    start: u64,
    usage: Usage,
}

/// Parent links and agent names of every span seen, to attribute a model call to the agent
/// it ran under.
#[derive(Default)]
struct AgentIndex {
    spans: HashMap<SpanKey, (Option<[u8; 8]>, Option<String>)>,
}

/// (trace id, span id).
type SpanKey = ([u8; 16], [u8; 8]);

impl AgentIndex {
    fn resolve(&self, trace: [u8; 16], mut span: [u8; 8]) -> Option<String> {
        for _ in 0..256 {
            let (parent, agent) = self.spans.get(&(trace, span))?;
            if agent.is_some() {
                return agent.clone();
            }
            span = (*parent)?;
        }
        None
    }
}

fn fixed<const N: usize>(a: &FixedSizeBinaryArray, row: usize) -> Option<[u8; N]> {
    (!a.is_null(row)).then(|| a.value(row).try_into().ok())?
}

fn collect(
    batch: &RecordBatch,
    p: &Projection,
    q: &CostQuery,
    calls: &mut Vec<Call>,
    agents: &mut AgentIndex,
) {
    let Some(c) = GenAiColumns::projected(batch, p) else {
        return;
    };
    let column = |i: usize| p.index(i).map(|i| batch.column(i));
    let (Some(tr), Some(sp), Some(pa), Some(st), Some(sv)) = (
        column(col::TRACE_ID),
        column(col::SPAN_ID),
        column(col::PARENT_SPAN_ID),
        column(col::START),
        column(col::SERVICE),
    ) else {
        return;
    };
    let (tr, sp, pa) = (
        tr.as_fixed_size_binary(),
        sp.as_fixed_size_binary(),
        pa.as_fixed_size_binary(),
    );
    let (st, sv) = (st.as_primitive::<UInt64Type>(), sv.as_string::<i32>());
    for row in 0..batch.num_rows() {
        let (trace, span) = (fixed::<16>(tr, row), fixed::<8>(sp, row));
        if q.group_by == GroupBy::Agent
            && let (Some(t), Some(s)) = (trace, span)
        {
            let agent = c.str(off::AGENT_NAME, row).map(str::to_owned);
            agents.spans.insert((t, s), (fixed::<8>(pa, row), agent));
        }
        let start = st.value(row);
        if !c.llm_call(row) || start < q.start || start > q.end {
            continue;
        }
        let key = match q.group_by {
            GroupBy::Model => c
                .str(off::RESPONSE_MODEL, row)
                .or_else(|| c.str(off::REQUEST_MODEL, row)),
            GroupBy::Provider => c.str(off::PROVIDER, row),
            GroupBy::Agent => c.str(off::AGENT_NAME, row),
            GroupBy::Service => Some(sv.value(row)),
            GroupBy::User => c.str(off::USER_ID, row),
        };
        let parent = match (key, trace, fixed::<8>(pa, row)) {
            (None, Some(t), Some(p)) if q.group_by == GroupBy::Agent => Some((t, p)),
            _ => None,
        };
        let mut usage = Usage::default();
        usage.add(&c, row);
        calls.push(Call {
            key: key.map(str::to_owned),
            parent,
            start,
            usage,
        });
    }
}

fn merge(into: &mut Usage, u: &Usage) {
    into.calls += u.calls;
    into.unpriced_calls += u.unpriced_calls;
    into.cost_usd += u.cost_usd;
    into.input_tokens += u.input_tokens;
    into.output_tokens += u.output_tokens;
    into.cache_read_tokens += u.cache_read_tokens;
    into.cache_write_tokens += u.cache_write_tokens;
    into.reasoning_tokens += u.reasoning_tokens;
}

fn build_report(q: &CostQuery, calls: Vec<Call>, agents: &AgentIndex) -> CostReport {
    let buckets = q.step.map_or(0, |s| ((q.end - q.start) / s + 1) as usize);
    let mut groups: HashMap<Option<String>, CostGroup> = HashMap::new();
    let mut total = Usage::default();
    for call in calls {
        let key = match (call.key, call.parent) {
            (None, Some((t, p))) => agents.resolve(t, p),
            (k, _) => k,
        };
        let g = groups.entry(key.clone()).or_insert_with(|| CostGroup {
            key,
            total: Usage::default(),
            series: (0..buckets)
                .map(|i| (q.start + i as u64 * q.step.unwrap_or(0), Usage::default()))
                .collect(),
        });
        merge(&mut g.total, &call.usage);
        merge(&mut total, &call.usage);
        if let Some(step) = q.step {
            let i = ((call.start - q.start) / step) as usize;
            if let Some((_, u)) = g.series.get_mut(i) {
                merge(u, &call.usage);
            }
        }
    }
    let mut groups: Vec<CostGroup> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        b.total
            .cost_usd
            .total_cmp(&a.total.cost_usd)
            .then_with(|| a.key.cmp(&b.key))
    });
    CostReport { groups, total }
}
