//! Spans rebuilt from the typed columns alone, for metrics queries that read nothing but span
//! intrinsics and `resource.service.name` (e.g. `{ status = error } | rate() by
//! (resource.service.name)`): the attribute, event and link blobs are then never read or
//! decoded, which is most of a span's bytes.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use sextant_store::schema::col;
use sextant_store::search::ColumnIndex;
use sextant_traceql::ast::{AttributeScope, FieldRef, Intrinsic, MetricsFunc, Query, Root};

/// The columns [`resource_spans`] reads.
pub const COLUMNS: [usize; 10] = [
    col::TRACE_ID,
    col::SPAN_ID,
    col::PARENT_SPAN_ID,
    col::NAME,
    col::KIND,
    col::START,
    col::DURATION,
    col::STATUS_CODE,
    col::STATUS_MESSAGE,
    col::SERVICE,
];

/// Whether every field the query reads is in [`COLUMNS`].
pub fn columns_suffice(q: &Query) -> bool {
    if let Root::Metrics(m) = &q.root
        && matches!(m.func, MetricsFunc::Compare { .. })
    {
        return false;
    }
    let mut ok = true;
    sextant_traceql::walk::for_each_field(q, &mut |f| {
        ok &= match f {
            FieldRef::Intrinsic { intrinsic, .. } => matches!(
                intrinsic,
                Intrinsic::Duration
                    | Intrinsic::Name
                    | Intrinsic::Status
                    | Intrinsic::StatusMessage
                    | Intrinsic::Kind
                    | Intrinsic::TraceId
                    | Intrinsic::SpanId
                    | Intrinsic::SpanParentId
            ),
            FieldRef::Attribute(a) => {
                a.scope == AttributeScope::Resource && !a.parent && a.name == "service.name"
            }
        };
    });
    ok
}

/// The given rows as spans with only their column fields, one resource per service.
pub fn resource_spans(
    batch: &RecordBatch,
    idx: &ColumnIndex,
    rows: &[usize],
) -> Vec<ResourceSpans> {
    let column = |c: usize| idx.index(c).map(|i| batch.column(i));
    let (
        Some(tid),
        Some(sid),
        Some(pid),
        Some(name),
        Some(kind),
        Some(start),
        Some(dur),
        Some(code),
        Some(msg),
        Some(svc),
    ) = (
        column(col::TRACE_ID),
        column(col::SPAN_ID),
        column(col::PARENT_SPAN_ID),
        column(col::NAME),
        column(col::KIND),
        column(col::START),
        column(col::DURATION),
        column(col::STATUS_CODE),
        column(col::STATUS_MESSAGE),
        column(col::SERVICE),
    )
    else {
        return Vec::new();
    };
    let (tid, sid, pid) = (
        tid.as_fixed_size_binary(),
        sid.as_fixed_size_binary(),
        pid.as_fixed_size_binary(),
    );
    let (name, msg, svc) = (
        name.as_string::<i32>(),
        msg.as_string::<i32>(),
        svc.as_string::<i32>(),
    );
    let (kind, code) = (
        kind.as_primitive::<Int32Type>(),
        code.as_primitive::<Int32Type>(),
    );
    let (start, dur) = (
        start.as_primitive::<UInt64Type>(),
        dur.as_primitive::<UInt64Type>(),
    );
    let mut by_service: HashMap<&str, Vec<Span>> = HashMap::new();
    for &r in rows {
        let s = start.value(r);
        let message = if msg.is_valid(r) {
            msg.value(r).to_owned()
        } else {
            String::new()
        };
        let status_code = code.value(r);
        by_service.entry(svc.value(r)).or_default().push(Span {
            trace_id: tid.value(r).to_vec(),
            span_id: sid.value(r).to_vec(),
            parent_span_id: if pid.is_valid(r) {
                pid.value(r).to_vec()
            } else {
                Vec::new()
            },
            name: name.value(r).to_owned(),
            kind: kind.value(r),
            start_time_unix_nano: s,
            end_time_unix_nano: s.saturating_add(dur.value(r)),
            status: (status_code != 0 || !message.is_empty()).then_some(Status {
                code: status_code,
                message,
            }),
            ..Default::default()
        });
    }
    by_service
        .into_iter()
        .map(|(service, spans)| ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(service.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url: String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_intrinsics_and_service_qualify() {
        for (q, want) in [
            (
                "{ status = error } | rate() by (resource.service.name)",
                true,
            ),
            ("{ } | quantile_over_time(duration, .9) by (name)", true),
            ("{ span.http.method = \"GET\" } | rate()", false),
            ("{ } | rate() by (.service.name)", false),
        ] {
            let q = sextant_traceql::parse(q).expect("valid");
            assert_eq!(columns_suffice(&q), want, "{q}");
        }
    }
}
