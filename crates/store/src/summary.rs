//! Per-trace summaries (root, time span, span and error counts), built at flush and merged at
//! query time because one trace's spans may sit in several blocks and in the head.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arrow_array::builder::{
    FixedSizeBinaryBuilder, Float64Builder, ListBuilder, StringBuilder, UInt32Builder,
    UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::error::Result;
use crate::genai::GenAiColumns;
use crate::schema::col;
pub use crate::totals::GenAiTotals;

pub type TraceId = [u8; 16];

/// What a trace listing shows of one trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    pub trace_id: TraceId,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub spans: u32,
    pub errors: u32,
    /// Service and name of the root span (the span without a parent), once it has arrived.
    pub root_service: Option<String>,
    pub root_name: Option<String>,
    /// Tokens, cost, model and tool calls, agents, conversation.
    pub genai: GenAiTotals,
}

impl TraceSummary {
    fn new(trace_id: TraceId) -> Self {
        Self {
            trace_id,
            start_unix_nano: u64::MAX,
            end_unix_nano: 0,
            spans: 0,
            errors: 0,
            root_service: None,
            root_name: None,
            genai: GenAiTotals::default(),
        }
    }

    /// Folds another part of the same trace into this one.
    pub fn merge(&mut self, other: &TraceSummary) {
        self.start_unix_nano = self.start_unix_nano.min(other.start_unix_nano);
        self.end_unix_nano = self.end_unix_nano.max(other.end_unix_nano);
        self.spans += other.spans;
        self.errors += other.errors;
        self.genai.merge(&other.genai);
        if self.root_name.is_none() {
            self.root_service.clone_from(&other.root_service);
            self.root_name.clone_from(&other.root_name);
        }
    }

    pub fn duration_nano(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }
}

/// Status code of an error span in OTLP.
const STATUS_ERROR: i32 = 2;

/// Adds the spans of `batch` to `acc`, keyed by trace id.
pub fn summarize_into(acc: &mut HashMap<TraceId, TraceSummary>, batch: &RecordBatch) {
    let ids = batch.column(col::TRACE_ID).as_fixed_size_binary();
    let parents = batch.column(col::PARENT_SPAN_ID);
    let start = batch.column(col::START).as_primitive::<UInt64Type>();
    let dur = batch.column(col::DURATION).as_primitive::<UInt64Type>();
    let status = batch.column(col::STATUS_CODE).as_primitive::<Int32Type>();
    let names = batch.column(col::NAME).as_string::<i32>();
    let services = batch.column(col::SERVICE).as_string::<i32>();
    let genai = GenAiColumns::of(batch);
    for row in 0..batch.num_rows() {
        let Ok(id) = TraceId::try_from(ids.value(row)) else {
            continue;
        };
        let s = acc.entry(id).or_insert_with(|| TraceSummary::new(id));
        let st = start.value(row);
        s.start_unix_nano = s.start_unix_nano.min(st);
        s.end_unix_nano = s.end_unix_nano.max(st.saturating_add(dur.value(row)));
        s.spans += 1;
        s.errors += u32::from(status.value(row) == STATUS_ERROR);
        if let Some(cols) = &genai {
            s.genai.add_row(cols, row);
        }
        if parents.is_null(row) && s.root_name.is_none() {
            s.root_name = Some(names.value(row).to_owned());
            s.root_service = Some(services.value(row).to_owned());
        }
    }
}

static SUMMARY_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("trace_id", DataType::FixedSizeBinary(16), false),
        Field::new("start_unix_nano", DataType::UInt64, false),
        Field::new("end_unix_nano", DataType::UInt64, false),
        Field::new("spans", DataType::UInt32, false),
        Field::new("errors", DataType::UInt32, false),
        Field::new("root_service", DataType::Utf8, true),
        Field::new("root_name", DataType::Utf8, true),
        Field::new("input_tokens", DataType::UInt64, false),
        Field::new("output_tokens", DataType::UInt64, false),
        Field::new("cache_read_tokens", DataType::UInt64, false),
        Field::new("cache_write_tokens", DataType::UInt64, false),
        Field::new("reasoning_tokens", DataType::UInt64, false),
        Field::new("cost_usd", DataType::Float64, false),
        Field::new("unpriced_calls", DataType::UInt32, false),
        Field::new("llm_calls", DataType::UInt32, false),
        Field::new("tool_calls", DataType::UInt32, false),
        Field::new("agents", string_list(), false),
        Field::new("models", string_list(), false),
        Field::new("conversation_id", DataType::Utf8, true),
        Field::new("user_id", DataType::Utf8, true),
    ]))
});

fn string_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// Number of columns of a version-1 summary file (no GenAI totals).
const V1_COLUMNS: usize = 7;

pub fn summary_schema() -> SchemaRef {
    SUMMARY_SCHEMA.clone()
}

/// Summaries as a batch, in the given order.
pub fn to_batch(summaries: &[TraceSummary]) -> Result<RecordBatch> {
    let n = summaries.len();
    let mut id = FixedSizeBinaryBuilder::with_capacity(n, 16);
    let mut start = UInt64Builder::with_capacity(n);
    let mut end = UInt64Builder::with_capacity(n);
    let mut spans = UInt32Builder::with_capacity(n);
    let mut errors = UInt32Builder::with_capacity(n);
    let mut service = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut tokens: [UInt64Builder; 5] = std::array::from_fn(|_| UInt64Builder::with_capacity(n));
    let mut cost = Float64Builder::with_capacity(n);
    let mut calls: [UInt32Builder; 3] = std::array::from_fn(|_| UInt32Builder::with_capacity(n));
    let mut agents = ListBuilder::new(StringBuilder::new());
    let mut models = ListBuilder::new(StringBuilder::new());
    let mut conversation = StringBuilder::new();
    let mut user = StringBuilder::new();
    for s in summaries {
        let g = &s.genai;
        let t = [
            g.input_tokens,
            g.output_tokens,
            g.cache_read_tokens,
            g.cache_write_tokens,
            g.reasoning_tokens,
        ];
        tokens
            .iter_mut()
            .zip(t)
            .for_each(|(b, v)| b.append_value(v));
        cost.append_value(g.cost_usd);
        let c = [g.unpriced_calls, g.llm_calls, g.tool_calls];
        calls.iter_mut().zip(c).for_each(|(b, v)| b.append_value(v));
        agents.append_value(g.agents.iter().map(Some));
        models.append_value(g.models.iter().map(Some));
        conversation.append_option(g.conversation_id.as_deref());
        user.append_option(g.user_id.as_deref());
        id.append_value(s.trace_id)?;
        start.append_value(s.start_unix_nano);
        end.append_value(s.end_unix_nano);
        spans.append_value(s.spans);
        errors.append_value(s.errors);
        service.append_option(s.root_service.as_deref());
        name.append_option(s.root_name.as_deref());
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(start.finish()),
        Arc::new(end.finish()),
        Arc::new(spans.finish()),
        Arc::new(errors.finish()),
        Arc::new(service.finish()),
        Arc::new(name.finish()),
    ];
    columns.extend(tokens.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(cost.finish()));
    columns.extend(calls.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(agents.finish()));
    columns.push(Arc::new(models.finish()));
    columns.push(Arc::new(conversation.finish()));
    columns.push(Arc::new(user.finish()));
    Ok(RecordBatch::try_new(summary_schema(), columns)?)
}

/// Reads summaries back from a batch of `summary_schema()`.
pub fn from_batch(batch: &RecordBatch, mut f: impl FnMut(TraceSummary)) {
    let id = batch.column(0).as_fixed_size_binary();
    let start = batch.column(1).as_primitive::<UInt64Type>();
    let end = batch.column(2).as_primitive::<UInt64Type>();
    let spans = batch.column(3).as_primitive::<UInt32Type>();
    let errors = batch.column(4).as_primitive::<UInt32Type>();
    let service = batch.column(5).as_string::<i32>();
    let name = batch.column(6).as_string::<i32>();
    let opt =
        |a: &arrow_array::StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_owned());
    for i in 0..batch.num_rows() {
        let Ok(trace_id) = TraceId::try_from(id.value(i)) else {
            continue;
        };
        f(TraceSummary {
            trace_id,
            start_unix_nano: start.value(i),
            end_unix_nano: end.value(i),
            spans: spans.value(i),
            errors: errors.value(i),
            root_service: opt(service, i),
            root_name: opt(name, i),
            genai: totals_at(batch, i),
        });
    }
}

/// The GenAI totals of summary row `i`; zero for version-1 summary files.
fn totals_at(batch: &RecordBatch, i: usize) -> GenAiTotals {
    if batch.num_columns() <= V1_COLUMNS {
        return GenAiTotals::default();
    }
    let u64_at = |c: usize| {
        batch
            .column(c)
            .as_primitive_opt::<UInt64Type>()
            .map_or(0, |a| a.value(i))
    };
    let u32_at = |c: usize| {
        batch
            .column(c)
            .as_primitive_opt::<UInt32Type>()
            .map_or(0, |a| a.value(i))
    };
    let str_at = |c: usize| {
        let a = batch.column(c).as_string_opt::<i32>()?;
        (!a.is_null(i)).then(|| a.value(i).to_owned())
    };
    let set_at = |c: usize| -> std::collections::BTreeSet<String> {
        let Some(list) = batch.column(c).as_list_opt::<i32>() else {
            return Default::default();
        };
        let values = list.value(i);
        let Some(strings) = values.as_string_opt::<i32>() else {
            return Default::default();
        };
        strings.iter().flatten().map(str::to_owned).collect()
    };
    GenAiTotals {
        input_tokens: u64_at(7),
        output_tokens: u64_at(8),
        cache_read_tokens: u64_at(9),
        cache_write_tokens: u64_at(10),
        reasoning_tokens: u64_at(11),
        cost_usd: batch
            .column(12)
            .as_primitive_opt::<Float64Type>()
            .map_or(0.0, |a| a.value(i)),
        unpriced_calls: u32_at(13),
        llm_calls: u32_at(14),
        tool_calls: u32_at(15),
        agents: set_at(16),
        models: set_at(17),
        conversation_id: str_at(18),
        user_id: str_at(19),
    }
}
