//! Cost and token rollups over the model calls of a time range, grouped by model, provider,
//! agent, service or user, with totals and a time series. Read from the canonical columns only,
//! and of those only the ones the grouping needs (start, usage, cost and the group's key; span
//! ids only to attribute calls to agents), which is most of a rollup's time on many spans.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeBinaryArray, Float64Array, RecordBatch, StringArray,
    UInt64Array,
};
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::genai::off;
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
    fn add(&mut self, c: &Cols<'_>, row: usize) {
        self.calls += 1;
        self.cost_usd += opt_f64(c.cost, row).unwrap_or(0.0);
        self.unpriced_calls +=
            u64::from(opt_str(c.source, row).is_some_and(|s| s.starts_with("unpriced:")));
        let t = |i: usize| opt_u64(c.tokens[i], row).unwrap_or(0);
        self.input_tokens += t(0);
        self.output_tokens += t(1);
        self.cache_read_tokens += t(2);
        self.cache_write_tokens += t(3);
        self.reasoning_tokens += t(4);
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

/// Usage and cost columns, as offsets in the canonical columns.
const USAGE: [usize; 7] = [
    off::INPUT_TOKENS,
    off::OUTPUT_TOKENS,
    off::CACHE_READ_TOKENS,
    off::CACHE_WRITE_TOKENS,
    off::REASONING_TOKENS,
    off::COST_USD,
    off::COST_SOURCE,
];

/// The columns a rollup by `g` reads.
fn columns(g: GroupBy) -> Vec<usize> {
    let genai = |o: usize| col::GENAI + o;
    let mut c = vec![col::START, genai(off::LLM_CALL)];
    c.extend(USAGE.map(genai));
    match g {
        GroupBy::Model => c.extend([genai(off::RESPONSE_MODEL), genai(off::REQUEST_MODEL)]),
        GroupBy::Provider => c.push(genai(off::PROVIDER)),
        GroupBy::Agent => c.extend([
            col::TRACE_ID,
            col::SPAN_ID,
            col::PARENT_SPAN_ID,
            genai(off::AGENT_NAME),
        ]),
        GroupBy::Service => c.push(col::SERVICE),
        GroupBy::User => c.push(genai(off::USER_ID)),
    }
    c
}

/// The columns of one batch a rollup reads, typed once per batch; `None` where the batch does
/// not have one (format version 1, or not read).
struct Cols<'b> {
    start: &'b UInt64Array,
    llm_call: Option<&'b BooleanArray>,
    cost: Option<&'b Float64Array>,
    source: Option<&'b StringArray>,
    tokens: [Option<&'b UInt64Array>; 5],
    /// The group's key columns; the first non-null value is the key.
    keys: Vec<Option<&'b StringArray>>,
    /// (trace, span, parent) ids, when grouping by agent.
    ids: Option<[&'b FixedSizeBinaryArray; 3]>,
}

impl<'b> Cols<'b> {
    fn of(batch: &'b RecordBatch, p: &Projection, g: GroupBy) -> Option<Self> {
        let column = |c: usize| -> Option<&'b ArrayRef> {
            let i = p.index(c)?;
            (i < batch.num_columns()).then(|| batch.column(i))
        };
        let genai = |o: usize| column(col::GENAI + o);
        let string = |o: usize| genai(o).and_then(|a| a.as_string_opt::<i32>());
        let tokens = |o: usize| genai(o).and_then(|a| a.as_primitive_opt::<UInt64Type>());
        let keys = match g {
            GroupBy::Model => vec![string(off::RESPONSE_MODEL), string(off::REQUEST_MODEL)],
            GroupBy::Provider => vec![string(off::PROVIDER)],
            GroupBy::Agent => vec![string(off::AGENT_NAME)],
            GroupBy::Service => vec![column(col::SERVICE).and_then(|a| a.as_string_opt::<i32>())],
            GroupBy::User => vec![string(off::USER_ID)],
        };
        let id = |c: usize| column(c).and_then(|a| a.as_fixed_size_binary_opt());
        let ids = match (
            g,
            id(col::TRACE_ID),
            id(col::SPAN_ID),
            id(col::PARENT_SPAN_ID),
        ) {
            (GroupBy::Agent, Some(t), Some(s), Some(pa)) => Some([t, s, pa]),
            _ => None,
        };
        Some(Cols {
            start: column(col::START)?.as_primitive_opt::<UInt64Type>()?,
            llm_call: genai(off::LLM_CALL).and_then(|a| a.as_boolean_opt()),
            cost: genai(off::COST_USD).and_then(|a| a.as_primitive_opt::<Float64Type>()),
            source: string(off::COST_SOURCE),
            tokens: [
                tokens(off::INPUT_TOKENS),
                tokens(off::OUTPUT_TOKENS),
                tokens(off::CACHE_READ_TOKENS),
                tokens(off::CACHE_WRITE_TOKENS),
                tokens(off::REASONING_TOKENS),
            ],
            keys,
            ids,
        })
    }

    fn llm_call(&self, row: usize) -> bool {
        self.llm_call
            .is_some_and(|a| !a.is_null(row) && a.value(row))
    }

    fn key(&self, row: usize) -> Option<&'b str> {
        self.keys.iter().find_map(|k| opt_str(*k, row))
    }
}

fn opt_str(a: Option<&StringArray>, row: usize) -> Option<&str> {
    a.filter(|a| !a.is_null(row)).map(|a| a.value(row))
}

fn opt_u64(a: Option<&UInt64Array>, row: usize) -> Option<u64> {
    a.filter(|a| !a.is_null(row)).map(|a| a.value(row))
}

fn opt_f64(a: Option<&Float64Array>, row: usize) -> Option<f64> {
    a.filter(|a| !a.is_null(row)).map(|a| a.value(row))
}

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
        let columns = columns(q.group_by);
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
/// it ran under. Names are interned: a span costs a map entry, not a string.
#[derive(Default)]
struct AgentIndex {
    spans: HashMap<SpanKey, (Option<[u8; 8]>, Option<u32>)>,
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

/// (trace id, span id).
type SpanKey = ([u8; 16], [u8; 8]);

impl AgentIndex {
    fn insert(&mut self, span: SpanKey, parent: Option<[u8; 8]>, agent: Option<&str>) {
        let id = agent.map(|a| match self.ids.get(a) {
            Some(&i) => i,
            None => {
                let i = self.names.len() as u32;
                self.names.push(a.to_owned());
                self.ids.insert(a.to_owned(), i);
                i
            }
        });
        self.spans.insert(span, (parent, id));
    }

    fn resolve(&self, trace: [u8; 16], mut span: [u8; 8]) -> Option<String> {
        for _ in 0..256 {
            let (parent, agent) = self.spans.get(&(trace, span))?;
            if let Some(i) = agent {
                return self.names.get(*i as usize).cloned();
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
    let Some(c) = Cols::of(batch, p, q.group_by) else {
        return;
    };
    for row in 0..batch.num_rows() {
        let key = c.key(row);
        let mut parent = None;
        if let Some([tr, sp, pa]) = c.ids
            && let (Some(t), Some(s)) = (fixed::<16>(tr, row), fixed::<8>(sp, row))
        {
            agents.insert((t, s), fixed::<8>(pa, row), key);
            parent = fixed::<8>(pa, row)
                .filter(|_| key.is_none())
                .map(|p| (t, p));
        }
        let start = c.start.value(row);
        if !c.llm_call(row) || start < q.start || start > q.end {
            continue;
        }
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
