//! Long attribute values move out of a block's `attributes` column into its content store
//! (`crate::dedup`, `crate::content_file`), leaving a recipe in their place.
//!
//! An `attributes` value is the OTLP encoding of a `Span` holding only its attributes (field
//! 9, one `KeyValue` each), so it starts with the byte 0x4A. A value whose long strings moved
//! starts with [`MARK`] (0x01, which no protobuf message starts with) instead:
//! `MARK, varint len, rest, varint n, n × (varint gap, varint ranges, recipe)`, where `rest`
//! (`len` bytes) is the value with those strings' bytes cut out (their length prefixes stay),
//! and each string goes back `gap` bytes of `rest` after the previous one. `rest` comes first
//! because it repeats from span to span (the same keys, the same short values), which Parquet's
//! page compression then finds.

use std::sync::Arc;

use arrow_array::builder::BinaryBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, BinaryArray, RecordBatch};

use crate::content_file::ContentReader;
use crate::dedup::{Encoder, get_varint, put_varint, read_ranges};
use crate::error::Result;

/// The column this applies to.
const ATTRIBUTES: &str = "attributes";
/// Strings at least this long go to the content store.
pub const LONG: usize = 64;
pub const MARK: u8 = 0x01;

/// The byte ranges of the long string (or bytes) values of the attributes in `blob`, in
/// order; none when `blob` does not parse.
fn long_strings(blob: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut rest = blob;
    while !rest.is_empty() {
        let Some((key, body)) = length_delimited(&mut rest) else {
            return Vec::new();
        };
        if key != 0x4A {
            continue;
        }
        if let Some(range) = long_value_of(body) {
            let at = blob.len() - rest.len() - body.len();
            out.push((at + range.0, at + range.1));
        }
    }
    out
}

/// Within one `KeyValue`, the range of its string or bytes value if it is long.
fn long_value_of(kv: &[u8]) -> Option<(usize, usize)> {
    let mut rest = kv;
    while !rest.is_empty() {
        let (key, body) = length_delimited(&mut rest)?;
        if key != 0x12 {
            continue;
        }
        let value_at = kv.len() - rest.len() - body.len();
        let mut inner = body;
        let (vkey, s) = length_delimited(&mut inner)?;
        if !inner.is_empty() || (vkey != 0x0A && vkey != 0x3A) || s.len() < LONG {
            return None;
        }
        let at = value_at + body.len() - s.len();
        return Some((at, at + s.len()));
    }
    None
}

/// Reads one length-delimited field (key, payload) off the front of `buf`; `None` for any
/// other wire type or a truncated field.
fn length_delimited<'a>(buf: &mut &'a [u8]) -> Option<(u64, &'a [u8])> {
    let key = get_varint(buf)?;
    if key & 7 != 2 {
        return None;
    }
    let len = usize::try_from(get_varint(buf)?).ok()?;
    let body = buf.get(..len)?;
    *buf = &buf[len..];
    Some((key, body))
}

/// Encodes `blob` into `out` (see the module doc), storing its long strings through `enc`.
pub fn encode(blob: &[u8], enc: &mut Encoder, out: &mut Vec<u8>) {
    let longs = long_strings(blob);
    // A value that starts like an encoded one (never the case for protobuf) is still encoded,
    // with nothing moved, so it reads back as it was.
    if longs.is_empty() && blob.first() != Some(&MARK) {
        out.extend_from_slice(blob);
        return;
    }
    out.push(MARK);
    let cut: usize = longs.iter().map(|(s, e)| e - s).sum();
    put_varint(out, (blob.len() - cut) as u64);
    let mut from = 0;
    for &(start, end) in &longs {
        out.extend_from_slice(&blob[from..start]);
        from = end;
    }
    out.extend_from_slice(&blob[from..]);
    put_varint(out, longs.len() as u64);
    let mut recipe = Vec::new();
    let (mut prev, mut moved) = (0, 0);
    for &(start, end) in &longs {
        recipe.clear();
        let ranges = enc.encode(&blob[start..end], &mut recipe);
        let at = start - moved;
        put_varint(out, (at - prev) as u64);
        put_varint(out, ranges);
        out.extend_from_slice(&recipe);
        prev = at;
        moved += end - start;
    }
}

/// Rebuilds a value written by [`encode`], reading store ranges with `read`; `None` when the
/// value is malformed or `read` fails.
pub fn decode(
    value: &[u8],
    out: &mut Vec<u8>,
    mut read: impl FnMut(u64, u64, &mut Vec<u8>) -> Option<()>,
) -> Option<()> {
    let Some((&MARK, mut buf)) = value.split_first() else {
        out.extend_from_slice(value);
        return Some(());
    };
    let rest_len = usize::try_from(get_varint(&mut buf)?).ok()?;
    let rest = buf.get(..rest_len)?;
    buf = &buf[rest_len..];
    let n = get_varint(&mut buf)?;
    let mut from = 0usize;
    for _ in 0..n {
        let at = from.checked_add(usize::try_from(get_varint(&mut buf)?).ok()?)?;
        out.extend_from_slice(rest.get(from..at)?);
        let count = get_varint(&mut buf)?;
        for (off, len) in read_ranges(&mut buf, count)? {
            read(off, len, out)?;
        }
        from = at;
    }
    if !buf.is_empty() {
        return None;
    }
    out.extend_from_slice(rest.get(from..)?);
    Some(())
}

/// [`encode`] over a column.
pub fn encode_column(column: &BinaryArray, enc: &mut Encoder) -> BinaryArray {
    let mut b = BinaryBuilder::with_capacity(column.len(), column.values().len() / 2);
    let mut buf = Vec::new();
    for v in column.iter() {
        match v {
            Some(v) => {
                buf.clear();
                encode(v, enc, &mut buf);
                b.append_value(&buf);
            }
            None => b.append_null(),
        }
    }
    b.finish()
}

/// Rebuilds a column written by [`encode_column`], reading moved strings through `reader`.
pub fn decode_column(column: &BinaryArray, reader: &mut ContentReader) -> Result<BinaryArray> {
    if !column.iter().flatten().any(|v| v.first() == Some(&MARK)) {
        return Ok(column.clone());
    }
    let mut b = BinaryBuilder::with_capacity(column.len(), column.values().len() * 2);
    let mut buf = Vec::new();
    let mut failure = None;
    for (row, v) in column.iter().enumerate() {
        let Some(v) = v else {
            b.append_null();
            continue;
        };
        buf.clear();
        let ok = decode(v, &mut buf, |off, len, out| {
            match reader.read(off, len, out) {
                Ok(()) => Some(()),
                Err(e) => {
                    failure = Some(e);
                    None
                }
            }
        });
        if ok.is_none() {
            return Err(
                failure.unwrap_or_else(|| reader.corrupt(format!("malformed value in row {row}")))
            );
        }
        b.append_value(&buf);
    }
    Ok(b.finish())
}

/// Rebuilds the `attributes` column of the batches read from one block, sharing one frame
/// cache across them (a block's rows reference its store in any order).
pub struct BatchDecoder {
    reader: Option<ContentReader>,
}

impl BatchDecoder {
    pub fn new(reader: Option<ContentReader>) -> Self {
        Self { reader }
    }

    /// `batch` with its `attributes` column (if read) rebuilt.
    pub fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(batch);
        };
        replace_attributes(&batch, |column| decode_column(column, reader))
    }
}

/// `batch` with its `attributes` column encoded through `enc`.
pub fn encode_batch(batch: &RecordBatch, enc: &mut Encoder) -> Result<RecordBatch> {
    replace_attributes(batch, |column| Ok(encode_column(column, enc)))
}

/// `batch` with its `attributes` column (if it has one) replaced by `f` of it.
fn replace_attributes(
    batch: &RecordBatch,
    f: impl FnOnce(&BinaryArray) -> Result<BinaryArray>,
) -> Result<RecordBatch> {
    let Ok(i) = batch.schema().index_of(ATTRIBUTES) else {
        return Ok(batch.clone());
    };
    let Some(column) = batch.column(i).as_binary_opt::<i32>() else {
        return Ok(batch.clone());
    };
    let mut columns = batch.columns().to_vec();
    columns[i] = Arc::new(f(column)?);
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
    use opentelemetry_proto::tonic::trace::v1::Span;
    use prost::Message;

    use super::*;

    fn blob(attrs: &[(&str, Value)]) -> Vec<u8> {
        Span {
            attributes: attrs
                .iter()
                .map(|(k, v)| KeyValue {
                    key: k.to_string(),
                    value: Some(AnyValue {
                        value: Some(v.clone()),
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn roundtrip(enc: &mut Encoder, b: &[u8]) -> Vec<u8> {
        let mut encoded = Vec::new();
        encode(b, enc, &mut encoded);
        let store = enc.take_unflushed().to_vec();
        let mut out = Vec::new();
        decode(&encoded, &mut out, |off, len, out| {
            out.extend_from_slice(store.get(off as usize..(off + len) as usize)?);
            Some(())
        })
        .expect("decodes");
        assert_eq!(out, b);
        encoded
    }

    #[test]
    fn long_strings_move_and_come_back() {
        let prompt = "You are a careful assistant. ".repeat(20);
        let b = blob(&[
            ("gen_ai.operation.name", Value::StringValue("chat".into())),
            ("gen_ai.input.messages", Value::StringValue(prompt.clone())),
            ("gen_ai.usage.input_tokens", Value::IntValue(120)),
            ("blob", Value::BytesValue(prompt.as_bytes().to_vec())),
        ]);
        let mut enc = Encoder::new();
        let encoded = roundtrip(&mut enc, &b);
        assert_eq!(encoded[0], MARK);
        assert!(
            encoded.len() < b.len() - prompt.len(),
            "{} bytes",
            encoded.len()
        );
    }

    #[test]
    fn short_values_stay_as_they_are() {
        let b = blob(&[("k", Value::StringValue("short".into()))]);
        let mut out = Vec::new();
        encode(&b, &mut Encoder::new(), &mut out);
        assert_eq!(out, b);
    }

    proptest::proptest! {
        #[test]
        fn any_attribute_set_roundtrips(values in proptest::collection::vec(
            proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(b'a'), proptest::prelude::any::<u8>()], 0..200), 0..8)) {
            let mut enc = Encoder::new();
            let attrs: Vec<(String, Value)> = values.iter().enumerate().map(|(i, v)| {
                let value = if i % 2 == 0 {
                    Value::StringValue(String::from_utf8_lossy(v).into_owned())
                } else {
                    Value::BytesValue(v.clone())
                };
                (format!("k{i}"), value)
            }).collect();
            let refs: Vec<(&str, Value)> = attrs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            roundtrip(&mut enc, &blob(&refs));
        }

        #[test]
        fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut value = vec![MARK];
            value.extend_from_slice(&tail);
            let mut out = Vec::new();
            let _ = decode(&value, &mut out, |_, len, out| {
                (len < 1 << 16).then(|| out.resize(out.len() + len as usize, 0))
            });
        }
    }

    #[test]
    fn malformed_values_are_refused_not_panicked_on() {
        let mut out = Vec::new();
        for bad in [
            &[MARK][..],
            &[MARK, 5, 0][..],
            &[MARK, 0, 1, 5, 0][..],
            &[MARK, 0, 0, 9][..],
        ] {
            out.clear();
            let r = decode(bad, &mut out, |_, len, out| {
                out.resize(out.len() + len as usize, b'x');
                Some(())
            });
            assert_eq!(r, None, "{bad:?}");
        }
    }
}
