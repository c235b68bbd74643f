//! What a write puts in the WAL: the client's own OTLP protobuf bytes when ingest stored the
//! request as sent, otherwise the span batch ingest built, in Arrow IPC stream format.
//!
//! In the IPC form the `origin` column (resource and scope, the same bytes for every span of a
//! scope) is dictionary-encoded, so it costs its bytes once per scope as in OTLP, not per span.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BinaryArray, DictionaryArray, Int32Array, NullArray, RecordBatch,
};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;

use crate::error::{Result, StoreError};
use crate::schema::{col, span_schema};
use crate::wal::RecordKind;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Largest encoding buffer a thread keeps between records.
const SCRATCH_KEEP: usize = 4 << 20;

/// The body of one WAL record.
#[derive(Debug, Clone)]
pub enum WalBody {
    /// An OTLP `ExportTraceServiceRequest` in protobuf; replay decodes and enriches it again.
    Otlp(Bytes),
    /// The batch exactly as acknowledged (GenAI columns included); replay reads it back.
    Arrow(Bytes),
}

impl WalBody {
    /// Encodes `batch` (Arrow IPC: its schema, then its buffers copied as they are).
    pub fn arrow(batch: &RecordBatch) -> Result<Self> {
        let logged = compact_for_wal(batch)?;
        // Encoded into a per-thread buffer, then copied out at its exact size: the body waits
        // for the group commit, and an allocation sized by guess would hold up to twice its
        // bytes for that time.
        SCRATCH.with_borrow_mut(|out| {
            out.clear();
            let mut w = StreamWriter::try_new(&mut *out, &logged.schema())?;
            w.write(&logged)?;
            w.finish()?;
            drop(w);
            let body = Bytes::copy_from_slice(out);
            if out.capacity() > SCRATCH_KEEP {
                *out = Vec::new();
            }
            Ok(Self::Arrow(body))
        })
    }

    pub fn kind(&self) -> RecordKind {
        match self {
            WalBody::Otlp(_) => RecordKind::Otlp,
            WalBody::Arrow(_) => RecordKind::ArrowIpc,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            WalBody::Otlp(b) | WalBody::Arrow(b) => b,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the batches of an [`RecordKind::ArrowIpc`] body, upgraded to the current schema.
pub fn read_arrow(body: &[u8]) -> Result<Vec<RecordBatch>> {
    let reader = StreamReader::try_new(Cursor::new(body), None)?;
    let mut out = Vec::new();
    for batch in reader {
        out.push(crate::schema::upgrade(expand_from_wal(batch?)?)?);
    }
    if out.is_empty() {
        return Err(bad("no batch".into()));
    }
    Ok(out)
}

/// `batch` made smaller for the log: the origin column as a dictionary of its runs of equal
/// values, and every all-null column as a `Null` column (no buffers at all).
fn compact_for_wal(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| (**f).clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    for (field, column) in fields.iter_mut().zip(columns.iter_mut()) {
        if column.null_count() == column.len() && field.is_nullable() {
            *field = Field::new(field.name(), DataType::Null, true);
            *column = Arc::new(NullArray::new(column.len()));
        }
    }
    let origin = origin_runs(batch.column(col::ORIGIN).as_binary::<i32>())?;
    fields[col::ORIGIN] = Field::new(
        fields[col::ORIGIN].name(),
        origin.data_type().clone(),
        fields[col::ORIGIN].is_nullable(),
    );
    columns[col::ORIGIN] = Arc::new(origin);
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// A dictionary with one value per run of equal origins (the spans of one scope).
fn origin_runs(origin: &BinaryArray) -> Result<DictionaryArray<Int32Type>> {
    let mut keys = Vec::with_capacity(origin.len());
    let mut runs: Vec<usize> = Vec::new();
    for row in 0..origin.len() {
        let same = runs.last().is_some_and(|&r| {
            origin.is_null(r) == origin.is_null(row) && origin.value(r) == origin.value(row)
        });
        if !same {
            runs.push(row);
        }
        keys.push(runs.len() as i32 - 1);
    }
    let values: BinaryArray = runs
        .iter()
        .map(|&r| (!origin.is_null(r)).then(|| origin.value(r)))
        .collect();
    Ok(DictionaryArray::try_new(
        Int32Array::from(keys),
        Arc::new(values),
    )?)
}

/// Undoes [`compact_for_wal`]: the batch in the store's schema (by column name, so a batch
/// logged with an older schema keeps its columns and [`crate::schema::upgrade`] adds the rest).
fn expand_from_wal(batch: RecordBatch) -> Result<RecordBatch> {
    let store = span_schema();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let target = store
            .field_with_name(field.name())
            .map_err(|_| bad(format!("unknown column {:?}", field.name())))?;
        let column: ArrayRef = match column.as_dictionary_opt::<Int32Type>() {
            Some(dict) => arrow_select::take::take(dict.values(), dict.keys(), None)?,
            None if field.data_type() == &DataType::Null => {
                arrow_array::new_null_array(target.data_type(), column.len())
            }
            None => column.clone(),
        };
        fields.push(target.clone());
        columns.push(column);
    }
    let schema = if fields.len() == store.fields().len() {
        store
    } else {
        Arc::new(Schema::new(fields))
    };
    Ok(RecordBatch::try_new(schema, columns)?)
}

fn bad(reason: String) -> StoreError {
    StoreError::Arrow(arrow_schema::ArrowError::IpcError(format!(
        "wal record: {reason}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SpanBatchBuilder;
    use crate::testutil::sample_request;

    #[test]
    fn a_batch_reads_back_equal() {
        let req = sample_request(2, 3, 5);
        let mut b = SpanBatchBuilder::with_capacity(6);
        b.push_request(&req, &crate::genai::NoEnrichment)
            .expect("valid ids");
        let batch = b.finish().expect("batch");
        let body = WalBody::arrow(&batch).expect("encode");
        assert_eq!(body.kind(), RecordKind::ArrowIpc);
        let back = read_arrow(body.bytes()).expect("decode");
        assert_eq!(back, vec![batch.clone()]);
        // Each resource's origin is logged once, not once per span.
        let logged = compact_for_wal(&batch).expect("compact");
        let dict = logged.column(col::ORIGIN).as_dictionary::<Int32Type>();
        assert_eq!((dict.values().len(), dict.len()), (2, batch.num_rows()));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in [
            &b""[..],
            b"\xff\xff\xff\xff\x10\x00\x00\x00junkjunkjunkjunk",
            b"abc",
        ] {
            assert!(read_arrow(body).is_err());
        }
    }
}
