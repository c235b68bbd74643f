//! The canonical GenAI columns of a span (format version 2): what the normalizer found in the
//! span's attributes, whatever dialect the client spoke, as typed columns a query can read alone.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, ListBuilder, StringBuilder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, ListArray, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType, Field};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

/// Canonical GenAI fields of one span. Strings borrow from the span where they can.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenAiRow<'a> {
    pub operation: Option<Cow<'a, str>>,
    pub provider: Option<Cow<'a, str>>,
    pub request_model: Option<Cow<'a, str>>,
    pub response_model: Option<Cow<'a, str>>,
    pub agent_name: Option<Cow<'a, str>>,
    pub agent_id: Option<Cow<'a, str>>,
    pub tool_name: Option<Cow<'a, str>>,
    pub tool_call_id: Option<Cow<'a, str>>,
    pub conversation_id: Option<Cow<'a, str>>,
    pub user_id: Option<Cow<'a, str>>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    pub time_to_first_chunk_nano: Option<u64>,
    /// Inline for the usual one or two reasons: no allocation per span.
    pub finish_reasons: smallvec::SmallVec<[Cow<'a, str>; 2]>,
    pub error_type: Option<Cow<'a, str>>,
    pub cost_usd: Option<f64>,
    /// Where the cost comes from: `client:<attribute>`, `catalog:<provider>/<model>` or
    /// `unpriced:<reason>`.
    pub cost_source: Option<Cow<'a, str>>,
    /// The span is one model call, so its usage and cost count toward trace totals (an agent
    /// span that repeats its children's usage is not one).
    pub llm_call: bool,
}

/// Computes the canonical fields of spans at ingest and at WAL replay.
pub trait SpanEnricher: Send + Sync {
    fn enrich<'a>(
        &self,
        resource: Option<&'a Resource>,
        scope: Option<&'a InstrumentationScope>,
        span: &'a Span,
    ) -> GenAiRow<'a>;

    /// `enrich` on each of `spans` (one scope's), in order, handing every row to `push`. An
    /// enricher that reads the resource once for all of them overrides it.
    fn enrich_scope<'a>(
        &self,
        resource: Option<&'a Resource>,
        scope: Option<&'a InstrumentationScope>,
        spans: &'a [Span],
        push: &mut dyn FnMut(&GenAiRow<'a>),
    ) {
        for span in spans {
            push(&self.enrich(resource, scope, span));
        }
    }
}

/// Leaves every canonical column empty.
#[derive(Debug, Default)]
pub struct NoEnrichment;

impl SpanEnricher for NoEnrichment {
    fn enrich<'a>(
        &self,
        _: Option<&'a Resource>,
        _: Option<&'a InstrumentationScope>,
        _: &'a Span,
    ) -> GenAiRow<'a> {
        GenAiRow::default()
    }
}

/// Column names of the canonical fields, in schema order after the base columns.
pub const STRING_COLUMNS: [&str; 10] = [
    "gen_ai_operation",
    "gen_ai_provider",
    "gen_ai_request_model",
    "gen_ai_response_model",
    "gen_ai_agent_name",
    "gen_ai_agent_id",
    "gen_ai_tool_name",
    "gen_ai_tool_call_id",
    "gen_ai_conversation_id",
    "gen_ai_user_id",
];
pub const TOKEN_COLUMNS: [&str; 6] = [
    "gen_ai_input_tokens",
    "gen_ai_output_tokens",
    "gen_ai_cache_read_tokens",
    "gen_ai_cache_write_tokens",
    "gen_ai_reasoning_tokens",
    "gen_ai_time_to_first_chunk_nano",
];

/// Offsets of the canonical columns relative to the first of them.
pub mod off {
    pub const OPERATION: usize = 0;
    pub const PROVIDER: usize = 1;
    pub const REQUEST_MODEL: usize = 2;
    pub const RESPONSE_MODEL: usize = 3;
    pub const AGENT_NAME: usize = 4;
    pub const AGENT_ID: usize = 5;
    pub const TOOL_NAME: usize = 6;
    pub const TOOL_CALL_ID: usize = 7;
    pub const CONVERSATION_ID: usize = 8;
    pub const USER_ID: usize = 9;
    pub const INPUT_TOKENS: usize = 10;
    pub const OUTPUT_TOKENS: usize = 11;
    pub const CACHE_READ_TOKENS: usize = 12;
    pub const CACHE_WRITE_TOKENS: usize = 13;
    pub const REASONING_TOKENS: usize = 14;
    pub const TTFC: usize = 15;
    pub const FINISH_REASONS: usize = 16;
    pub const ERROR_TYPE: usize = 17;
    pub const COST_USD: usize = 18;
    pub const COST_SOURCE: usize = 19;
    pub const LLM_CALL: usize = 20;
    pub const COUNT: usize = 21;
}

/// The canonical columns' fields, all nullable so older blocks read as "no GenAI data".
pub fn fields() -> Vec<Field> {
    let mut f: Vec<Field> = STRING_COLUMNS
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect();
    f.extend(
        TOKEN_COLUMNS
            .iter()
            .map(|n| Field::new(*n, DataType::UInt64, true)),
    );
    let item = Arc::new(Field::new("item", DataType::Utf8, true));
    f.push(Field::new(
        "gen_ai_finish_reasons",
        DataType::List(item),
        true,
    ));
    f.push(Field::new("gen_ai_error_type", DataType::Utf8, true));
    f.push(Field::new("gen_ai_cost_usd", DataType::Float64, true));
    f.push(Field::new("gen_ai_cost_source", DataType::Utf8, true));
    f.push(Field::new("gen_ai_llm_call", DataType::Boolean, true));
    f
}

/// Builders of the canonical columns.
pub struct GenAiBuilder {
    strings: [StringBuilder; 10],
    tokens: [UInt64Builder; 6],
    finish_reasons: ListBuilder<StringBuilder>,
    error_type: StringBuilder,
    cost_usd: Float64Builder,
    cost_source: StringBuilder,
    llm_call: BooleanBuilder,
}

impl GenAiBuilder {
    pub fn with_capacity(rows: usize) -> Self {
        // Typical value sizes (operations, models, ids; `catalog:openai/gpt-4o-mini`), so a
        // batch of GenAI spans does not grow its buffers a dozen times.
        Self {
            strings: std::array::from_fn(|_| StringBuilder::with_capacity(rows, rows * 16)),
            tokens: std::array::from_fn(|_| UInt64Builder::with_capacity(rows)),
            finish_reasons: ListBuilder::with_capacity(
                StringBuilder::with_capacity(rows, rows * 8),
                rows,
            ),
            error_type: StringBuilder::with_capacity(rows, 0),
            cost_usd: Float64Builder::with_capacity(rows),
            cost_source: StringBuilder::with_capacity(rows, rows * 32),
            llm_call: BooleanBuilder::with_capacity(rows),
        }
    }

    pub fn push(&mut self, row: &GenAiRow<'_>) {
        let strings = [
            &row.operation,
            &row.provider,
            &row.request_model,
            &row.response_model,
            &row.agent_name,
            &row.agent_id,
            &row.tool_name,
            &row.tool_call_id,
            &row.conversation_id,
            &row.user_id,
        ];
        for (b, v) in self.strings.iter_mut().zip(strings) {
            b.append_option(v.as_deref());
        }
        let tokens = [
            row.input_tokens,
            row.output_tokens,
            row.cache_read_tokens,
            row.cache_write_tokens,
            row.reasoning_tokens,
            row.time_to_first_chunk_nano,
        ];
        for (b, v) in self.tokens.iter_mut().zip(tokens) {
            b.append_option(v);
        }
        if row.finish_reasons.is_empty() {
            self.finish_reasons.append_null();
        } else {
            for r in &row.finish_reasons {
                self.finish_reasons.values().append_value(r);
            }
            self.finish_reasons.append(true);
        }
        self.error_type.append_option(row.error_type.as_deref());
        self.cost_usd.append_option(row.cost_usd);
        self.cost_source.append_option(row.cost_source.as_deref());
        self.llm_call.append_option(row.llm_call.then_some(true));
    }

    pub fn finish(mut self) -> Vec<ArrayRef> {
        let mut out: Vec<ArrayRef> = Vec::with_capacity(off::COUNT);
        out.extend(
            self.strings
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        out.extend(
            self.tokens
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        out.push(Arc::new(self.finish_reasons.finish()));
        out.push(Arc::new(self.error_type.finish()));
        out.push(Arc::new(self.cost_usd.finish()));
        out.push(Arc::new(self.cost_source.finish()));
        out.push(Arc::new(self.llm_call.finish()));
        out
    }
}

/// Typed read access to the canonical columns of a span batch. The columns are downcast once,
/// here: span metrics and trace totals read several of them for every row at ingest.
pub struct GenAiColumns<'b> {
    strings: [Option<&'b StringArray>; STRING_COLUMNS.len()],
    tokens: [Option<&'b UInt64Array>; TOKEN_COLUMNS.len()],
    finish_reasons: Option<&'b ListArray>,
    error_type: Option<&'b StringArray>,
    cost_usd: Option<&'b Float64Array>,
    cost_source: Option<&'b StringArray>,
    llm_call: Option<&'b BooleanArray>,
}

impl<'b> GenAiColumns<'b> {
    /// `None` when the batch predates the canonical columns (format version 1).
    pub fn of(batch: &'b RecordBatch) -> Option<Self> {
        let first = crate::schema::col::GENAI;
        (batch.num_columns() >= first + off::COUNT).then(|| Self::at(batch, first))
    }

    /// The canonical columns of a projected batch that holds all of them.
    pub fn projected(batch: &'b RecordBatch, p: &crate::Projection) -> Option<Self> {
        let first = p.index(crate::schema::col::GENAI)?;
        let last = p.index(crate::schema::col::GENAI + off::COUNT - 1)?;
        (last == first + off::COUNT - 1 && batch.num_columns() > last)
            .then(|| Self::at(batch, first))
    }

    fn at(batch: &'b RecordBatch, first: usize) -> Self {
        let col = |o: usize| batch.column(first + o);
        Self {
            strings: std::array::from_fn(|i| col(off::OPERATION + i).as_string_opt::<i32>()),
            tokens: std::array::from_fn(|i| {
                col(off::INPUT_TOKENS + i).as_primitive_opt::<UInt64Type>()
            }),
            finish_reasons: col(off::FINISH_REASONS).as_list_opt::<i32>(),
            error_type: col(off::ERROR_TYPE).as_string_opt::<i32>(),
            cost_usd: col(off::COST_USD).as_primitive_opt::<Float64Type>(),
            cost_source: col(off::COST_SOURCE).as_string_opt::<i32>(),
            llm_call: col(off::LLM_CALL).as_boolean_opt(),
        }
    }

    /// A string column by its offset (`off::OPERATION` to `off::USER_ID`, `off::ERROR_TYPE`,
    /// `off::COST_SOURCE`); `None` for a null value or an offset that is not a string column.
    pub fn str(&self, offset: usize, row: usize) -> Option<&'b str> {
        let a = match offset {
            off::ERROR_TYPE => self.error_type,
            off::COST_SOURCE => self.cost_source,
            o => *self.strings.get(o)?,
        }?;
        (!a.is_null(row)).then(|| a.value(row))
    }

    /// A token column by its offset (`off::INPUT_TOKENS` to `off::TTFC`).
    pub fn u64(&self, offset: usize, row: usize) -> Option<u64> {
        let a = (*self.tokens.get(offset.checked_sub(off::INPUT_TOKENS)?)?)?;
        (!a.is_null(row)).then(|| a.value(row))
    }

    pub fn cost_usd(&self, row: usize) -> Option<f64> {
        let a = self.cost_usd?;
        (!a.is_null(row)).then(|| a.value(row))
    }

    /// The span is a model call with usage that no price matched.
    pub fn unpriced(&self, row: usize) -> bool {
        self.str(off::COST_SOURCE, row)
            .is_some_and(|s| s.starts_with("unpriced:"))
    }

    pub fn llm_call(&self, row: usize) -> bool {
        self.llm_call
            .is_some_and(|a| !a.is_null(row) && a.value(row))
    }

    pub fn finish_reasons(&self, row: usize) -> Vec<String> {
        let Some(list) = self.finish_reasons else {
            return Vec::new();
        };
        if list.is_null(row) {
            return Vec::new();
        }
        let values = list.value(row);
        let Some(strings) = values.as_string_opt::<i32>() else {
            return Vec::new();
        };
        (0..strings.len())
            .filter(|i| !strings.is_null(*i))
            .map(|i| strings.value(i).to_owned())
            .collect()
    }

    /// The row as owned canonical fields.
    pub fn row(&self, row: usize) -> GenAiRow<'static> {
        let s = |o| self.str(o, row).map(|v| Cow::Owned(v.to_owned()));
        GenAiRow {
            operation: s(off::OPERATION),
            provider: s(off::PROVIDER),
            request_model: s(off::REQUEST_MODEL),
            response_model: s(off::RESPONSE_MODEL),
            agent_name: s(off::AGENT_NAME),
            agent_id: s(off::AGENT_ID),
            tool_name: s(off::TOOL_NAME),
            tool_call_id: s(off::TOOL_CALL_ID),
            conversation_id: s(off::CONVERSATION_ID),
            user_id: s(off::USER_ID),
            input_tokens: self.u64(off::INPUT_TOKENS, row),
            output_tokens: self.u64(off::OUTPUT_TOKENS, row),
            cache_read_tokens: self.u64(off::CACHE_READ_TOKENS, row),
            cache_write_tokens: self.u64(off::CACHE_WRITE_TOKENS, row),
            reasoning_tokens: self.u64(off::REASONING_TOKENS, row),
            time_to_first_chunk_nano: self.u64(off::TTFC, row),
            finish_reasons: self
                .finish_reasons(row)
                .into_iter()
                .map(Cow::Owned)
                .collect(),
            error_type: s(off::ERROR_TYPE),
            cost_usd: self.cost_usd(row),
            cost_source: s(off::COST_SOURCE),
            llm_call: self.llm_call(row),
        }
    }
}
