//! The columnar layout of spans (format version 2), shared by the head and by Parquet blocks.
//!
//! Well-known span fields get their own typed columns so queries can read only what they need.
//! Attribute lists, events and links are kept lossless as protobuf blobs (the OTLP encoding of a
//! `Span` that carries only those fields); resource and scope travel in one `origin` blob that is
//! identical for all spans of a scope, so Parquet's dictionary encoding stores it once per page.
//! Version 2 appends the canonical GenAI columns (`crate::genai`); version 1 blocks read as if
//! those columns were all null. Version 3 keeps the columns; in a block that has a content
//! store, an `attributes` value may have its long strings moved there (`crate::long_values`),
//! and readers rebuild it (`Block::decoder`).

use std::sync::{Arc, LazyLock};

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, FixedSizeBinaryBuilder, Int32Builder, StringBuilder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use crate::error::Result;
use crate::genai::{GenAiBuilder, SpanEnricher};

/// Version of the span layout written by this build; stored in every block's metadata.
pub const SPAN_FORMAT_VERSION: u32 = 3;

pub mod col {
    pub const TRACE_ID: usize = 0;
    pub const SPAN_ID: usize = 1;
    pub const PARENT_SPAN_ID: usize = 2;
    pub const TRACE_STATE: usize = 3;
    pub const FLAGS: usize = 4;
    pub const NAME: usize = 5;
    pub const KIND: usize = 6;
    pub const START: usize = 7;
    pub const DURATION: usize = 8;
    pub const STATUS_CODE: usize = 9;
    pub const STATUS_MESSAGE: usize = 10;
    pub const SERVICE: usize = 11;
    pub const ORIGIN: usize = 12;
    pub const ATTRIBUTES: usize = 13;
    pub const EVENTS: usize = 14;
    pub const LINKS: usize = 15;
    /// The first canonical GenAI column; see `crate::genai::off` for the others.
    pub const GENAI: usize = 16;
}

/// Number of columns of a format-version-1 batch.
const V1_COLUMNS: usize = col::GENAI;

static SPAN_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![
        Field::new("trace_id", DataType::FixedSizeBinary(16), false),
        Field::new("span_id", DataType::FixedSizeBinary(8), false),
        Field::new("parent_span_id", DataType::FixedSizeBinary(8), true),
        Field::new("trace_state", DataType::Utf8, true),
        Field::new("flags", DataType::UInt32, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Int32, false),
        Field::new("start_unix_nano", DataType::UInt64, false),
        Field::new("duration_nano", DataType::UInt64, false),
        Field::new("status_code", DataType::Int32, false),
        Field::new("status_message", DataType::Utf8, true),
        Field::new("service_name", DataType::Utf8, false),
        Field::new("origin", DataType::Binary, false),
        Field::new("attributes", DataType::Binary, true),
        Field::new("events", DataType::Binary, true),
        Field::new("links", DataType::Binary, true),
    ];
    fields.extend(crate::genai::fields());
    Arc::new(Schema::new(fields))
});

/// The Arrow schema of span batches.
pub fn span_schema() -> SchemaRef {
    SPAN_SCHEMA.clone()
}

/// Brings a batch read from an older block to the current schema (missing columns are null).
pub fn upgrade(batch: RecordBatch) -> Result<RecordBatch> {
    if batch.num_columns() != V1_COLUMNS {
        return Ok(batch);
    }
    let schema = span_schema();
    let mut columns = batch.columns().to_vec();
    for field in &schema.fields()[V1_COLUMNS..] {
        columns.push(arrow_array::new_null_array(
            field.data_type(),
            batch.num_rows(),
        ));
    }
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// The `service.name` of a resource, or `unknown_service` as the SDK spec says.
pub fn service_name(rs: &ResourceSpans) -> &str {
    rs.resource
        .as_ref()
        .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .and_then(|v| match v {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
        .unwrap_or("unknown_service")
}

/// Builds one span `RecordBatch` from OTLP requests.
pub struct SpanBatchBuilder {
    trace_id: FixedSizeBinaryBuilder,
    span_id: FixedSizeBinaryBuilder,
    parent_span_id: FixedSizeBinaryBuilder,
    trace_state: StringBuilder,
    flags: UInt32Builder,
    name: StringBuilder,
    kind: Int32Builder,
    start: UInt64Builder,
    duration: UInt64Builder,
    status_code: Int32Builder,
    status_message: StringBuilder,
    service: StringBuilder,
    origin: BinaryBuilder,
    attributes: BinaryBuilder,
    events: BinaryBuilder,
    links: BinaryBuilder,
    genai: GenAiBuilder,
    scratch: Vec<u8>,
}

impl SpanBatchBuilder {
    pub fn with_capacity(spans: usize) -> Self {
        Self {
            trace_id: FixedSizeBinaryBuilder::with_capacity(spans, 16),
            span_id: FixedSizeBinaryBuilder::with_capacity(spans, 8),
            parent_span_id: FixedSizeBinaryBuilder::with_capacity(spans, 8),
            trace_state: StringBuilder::with_capacity(spans, 0),
            flags: UInt32Builder::with_capacity(spans),
            name: StringBuilder::with_capacity(spans, spans * 24),
            kind: Int32Builder::with_capacity(spans),
            start: UInt64Builder::with_capacity(spans),
            duration: UInt64Builder::with_capacity(spans),
            status_code: Int32Builder::with_capacity(spans),
            status_message: StringBuilder::with_capacity(spans, 0),
            service: StringBuilder::with_capacity(spans, spans * 16),
            origin: BinaryBuilder::with_capacity(spans, spans * 64),
            attributes: BinaryBuilder::with_capacity(spans, spans * 512),
            events: BinaryBuilder::with_capacity(spans, 0),
            links: BinaryBuilder::with_capacity(spans, 0),
            genai: GenAiBuilder::with_capacity(spans),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Appends every span of the request. Ids must have been validated (16 and 8 bytes).
    pub fn push_request(
        &mut self,
        req: &ExportTraceServiceRequest,
        enricher: &dyn SpanEnricher,
    ) -> Result<()> {
        self.push_request_raw(req, enricher, None)
    }

    /// `push_request`, keeping each span's attributes as the bytes `raw` points at (where it
    /// has them) instead of encoding them again.
    pub fn push_request_raw(
        &mut self,
        req: &ExportTraceServiceRequest,
        enricher: &dyn SpanEnricher,
        raw: Option<RawAttributes<'_>>,
    ) -> Result<()> {
        let mut i = 0;
        for rs in &req.resource_spans {
            let service = service_name(rs);
            for ss in &rs.scope_spans {
                let origin = origin_blob(rs, ss);
                for span in &ss.spans {
                    let attributes = raw.as_ref().and_then(|r| r.of(i));
                    i += 1;
                    self.push_span(span, service, &origin, attributes)?;
                }
                let genai = &mut self.genai;
                let (resource, scope) = (rs.resource.as_ref(), ss.scope.as_ref());
                enricher.enrich_scope(resource, scope, &ss.spans, &mut |row| genai.push(row));
            }
        }
        Ok(())
    }

    fn push_span(
        &mut self,
        span: &Span,
        service: &str,
        origin: &[u8],
        attributes: Option<&[u8]>,
    ) -> Result<()> {
        self.trace_id.append_value(&span.trace_id)?;
        self.span_id.append_value(&span.span_id)?;
        // An all-zero parent id means "root" to some SDKs.
        if span.parent_span_id.iter().all(|b| *b == 0) {
            self.parent_span_id.append_null();
        } else {
            self.parent_span_id.append_value(&span.parent_span_id)?;
        }
        append_opt_str(&mut self.trace_state, &span.trace_state);
        self.flags.append_value(span.flags);
        self.name.append_value(&span.name);
        self.kind.append_value(span.kind);
        self.start.append_value(span.start_time_unix_nano);
        self.duration.append_value(
            span.end_time_unix_nano
                .saturating_sub(span.start_time_unix_nano),
        );
        let (code, message) = span
            .status
            .as_ref()
            .map_or((0, ""), |s| (s.code, s.message.as_str()));
        self.status_code.append_value(code);
        append_opt_str(&mut self.status_message, message);
        self.service.append_value(service);
        self.origin.append_value(origin);
        self.push_blobs(span, attributes);
        Ok(())
    }

    fn push_blobs(&mut self, span: &Span, attributes: Option<&[u8]>) {
        use prost::encoding::{message, uint32};
        // Encoded straight from the borrowed span: tags 9-14 are the Span message's own, so each
        // blob decodes as a `Span` holding just those fields.
        let s = &mut self.scratch;
        if let Some(raw) = attributes {
            append_blob(&mut self.attributes, raw);
        } else {
            s.clear();
            span.attributes
                .iter()
                .for_each(|kv| message::encode(9, kv, s));
            if span.dropped_attributes_count != 0 {
                uint32::encode(10, &span.dropped_attributes_count, s);
            }
            append_blob(&mut self.attributes, s);
        }
        s.clear();
        span.events.iter().for_each(|e| message::encode(11, e, s));
        if span.dropped_events_count != 0 {
            uint32::encode(12, &span.dropped_events_count, s);
        }
        append_blob(&mut self.events, s);
        s.clear();
        span.links.iter().for_each(|l| message::encode(13, l, s));
        if span.dropped_links_count != 0 {
            uint32::encode(14, &span.dropped_links_count, s);
        }
        append_blob(&mut self.links, s);
    }

    pub fn len(&self) -> usize {
        self.trace_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn finish(mut self) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.parent_span_id.finish()),
            Arc::new(self.trace_state.finish()),
            Arc::new(self.flags.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.start.finish()),
            Arc::new(self.duration.finish()),
            Arc::new(self.status_code.finish()),
            Arc::new(self.status_message.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.origin.finish()),
            Arc::new(self.attributes.finish()),
            Arc::new(self.events.finish()),
            Arc::new(self.links.finish()),
        ];
        columns.extend(self.genai.finish());
        Ok(RecordBatch::try_new(span_schema(), columns)?)
    }
}

fn append_opt_str(builder: &mut StringBuilder, value: &str) {
    if value.is_empty() {
        builder.append_null();
    } else {
        builder.append_value(value);
    }
}

/// Each span's attributes as the client encoded them (its tag-9 fields, one run of bytes per
/// span, in request order), from the protobuf walk that ran before decoding.
#[derive(Debug, Clone, Copy)]
pub struct RawAttributes<'a> {
    pub body: &'a [u8],
    pub runs: &'a [Option<(usize, usize)>],
}

impl<'a> RawAttributes<'a> {
    /// The bytes of the `i`-th span's attributes, if the walk found them as one run.
    fn of(&self, i: usize) -> Option<&'a [u8]> {
        let (from, to) = (*self.runs.get(i)?)?;
        self.body.get(from..to)
    }
}

fn append_blob(builder: &mut BinaryBuilder, blob: &[u8]) {
    if blob.is_empty() {
        builder.append_null();
    } else {
        builder.append_value(blob);
    }
}

/// The resource and scope of a span, as an encoded `ResourceSpans` with one empty `ScopeSpans`.
fn origin_blob(rs: &ResourceSpans, ss: &ScopeSpans) -> Vec<u8> {
    ResourceSpans {
        resource: rs.resource.clone(),
        schema_url: rs.schema_url.clone(),
        scope_spans: vec![ScopeSpans {
            scope: ss.scope.clone(),
            schema_url: ss.schema_url.clone(),
            spans: Vec::new(),
        }],
    }
    .encode_to_vec()
}
