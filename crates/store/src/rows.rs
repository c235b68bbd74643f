//! Turns stored span rows back into OTLP `ResourceSpans`, as clients sent them.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span, Status};
use prost::Message;

use crate::error::Result;
use crate::schema::col;

/// Rebuilds the given rows of `batch` into resource spans, one entry per distinct resource+scope,
/// in first-seen order.
pub fn rows_to_resource_spans(batch: &RecordBatch, rows: &[usize]) -> Result<Vec<ResourceSpans>> {
    let origin = batch.column(col::ORIGIN).as_binary::<i32>();
    let mut groups: Vec<(&[u8], ResourceSpans)> = Vec::new();
    for &row in rows {
        let key = origin.value(row);
        let idx = match groups.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let mut rs = ResourceSpans::decode(key)?;
                if rs.scope_spans.is_empty() {
                    rs.scope_spans.push(Default::default());
                }
                groups.push((key, rs));
                groups.len() - 1
            }
        };
        let span = row_to_span(batch, row)?;
        groups[idx].1.scope_spans[0].spans.push(span);
    }
    Ok(groups.into_iter().map(|(_, rs)| rs).collect())
}

/// Merges resource spans that share resource and scope (as several batches may hold one trace).
pub fn merge_resource_spans(parts: Vec<ResourceSpans>) -> Vec<ResourceSpans> {
    let mut out: Vec<ResourceSpans> = Vec::new();
    for mut rs in parts {
        let same = out.iter_mut().find(|o| {
            o.resource == rs.resource
                && o.schema_url == rs.schema_url
                && o.scope_spans.first().map(|s| (&s.scope, &s.schema_url))
                    == rs.scope_spans.first().map(|s| (&s.scope, &s.schema_url))
        });
        match same {
            Some(o) if !o.scope_spans.is_empty() && !rs.scope_spans.is_empty() => {
                let spans = std::mem::take(&mut rs.scope_spans[0].spans);
                o.scope_spans[0].spans.extend(spans);
            }
            _ => out.push(rs),
        }
    }
    for rs in &mut out {
        for ss in &mut rs.scope_spans {
            ss.spans.sort_by_key(|s| s.start_time_unix_nano);
        }
    }
    out
}

fn row_to_span(batch: &RecordBatch, row: usize) -> Result<Span> {
    let fixed = |c: usize| batch.column(c).as_fixed_size_binary();
    let string = |c: usize| {
        let a = batch.column(c).as_string::<i32>();
        if a.is_null(row) {
            String::new()
        } else {
            a.value(row).to_owned()
        }
    };
    let parent = fixed(col::PARENT_SPAN_ID);
    let start = batch
        .column(col::START)
        .as_primitive::<UInt64Type>()
        .value(row);
    let duration = batch
        .column(col::DURATION)
        .as_primitive::<UInt64Type>()
        .value(row);
    let mut span = Span {
        trace_id: fixed(col::TRACE_ID).value(row).to_vec(),
        span_id: fixed(col::SPAN_ID).value(row).to_vec(),
        parent_span_id: if parent.is_null(row) {
            Vec::new()
        } else {
            parent.value(row).to_vec()
        },
        trace_state: string(col::TRACE_STATE),
        flags: batch
            .column(col::FLAGS)
            .as_primitive::<UInt32Type>()
            .value(row),
        name: string(col::NAME),
        kind: batch
            .column(col::KIND)
            .as_primitive::<Int32Type>()
            .value(row),
        start_time_unix_nano: start,
        end_time_unix_nano: start.saturating_add(duration),
        ..Default::default()
    };
    let code = batch
        .column(col::STATUS_CODE)
        .as_primitive::<Int32Type>()
        .value(row);
    let message = string(col::STATUS_MESSAGE);
    if code != 0 || !message.is_empty() {
        span.status = Some(Status { code, message });
    }
    for c in [col::ATTRIBUTES, col::EVENTS, col::LINKS] {
        let blobs = batch.column(c).as_binary::<i32>();
        if !blobs.is_null(row) {
            span.merge(blobs.value(row))?;
        }
    }
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SpanBatchBuilder;
    use crate::testutil::sample_request;

    #[test]
    fn round_trip_is_lossless() {
        let req = sample_request(3, 4, 7);
        let mut b = SpanBatchBuilder::with_capacity(12);
        b.push_request(&req, &crate::genai::NoEnrichment)
            .expect("valid ids");
        let batch = b.finish().expect("batch");
        let rows: Vec<usize> = (0..batch.num_rows()).collect();
        let back = rows_to_resource_spans(&batch, &rows).expect("decode");
        assert_eq!(back, req.resource_spans);
    }

    #[test]
    fn raw_attribute_bytes_round_trip_like_encoded_ones() {
        use crate::schema::RawAttributes;
        let req = sample_request(2, 3, 5);
        // Each span's attributes as a client would have sent them: tag-9 fields, one run each
        // (the second span has none: it keeps the encoding path).
        let (mut body, mut runs) = (b"prefix".to_vec(), Vec::new());
        for (i, span) in req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .enumerate()
        {
            if i == 1 {
                runs.push(None);
                continue;
            }
            let from = body.len();
            for kv in &span.attributes {
                prost::encoding::message::encode(9, kv, &mut body);
            }
            runs.push(Some((from, body.len())));
        }
        let mut b = SpanBatchBuilder::with_capacity(runs.len());
        let raw = RawAttributes {
            body: &body,
            runs: &runs,
        };
        b.push_request_raw(&req, &crate::genai::NoEnrichment, Some(raw))
            .expect("valid ids");
        let batch = b.finish().expect("batch");
        let rows: Vec<usize> = (0..batch.num_rows()).collect();
        let back = rows_to_resource_spans(&batch, &rows).expect("decode");
        assert_eq!(back, req.resource_spans);
    }
}
