//! Span validation: invalid spans are dropped and reported through OTLP `partial_success`
//! while the rest of the request is stored.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

/// What validation removed from a request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rejections {
    pub spans: i64,
    /// The first few reasons, for the `partial_success.error_message`.
    pub reasons: Vec<String>,
}

impl Rejections {
    fn add(&mut self, reason: String) {
        self.spans += 1;
        if self.reasons.len() < 5 {
            self.reasons.push(reason);
        }
    }

    pub fn message(&self) -> String {
        let more = self.spans as usize - self.reasons.len();
        let mut m = self.reasons.join("; ");
        if more > 0 {
            m.push_str(&format!("; and {more} more"));
        }
        m
    }
}

fn problem(span: &Span) -> Option<String> {
    let hexid = |b: &[u8]| hex::encode(b);
    if span.trace_id.len() != 16 || span.trace_id.iter().all(|b| *b == 0) {
        return Some(format!(
            "span {:?}: trace id must be 16 non-zero bytes, got {:?}",
            span.name,
            hexid(&span.trace_id)
        ));
    }
    if span.span_id.len() != 8 || span.span_id.iter().all(|b| *b == 0) {
        return Some(format!(
            "span {:?}: span id must be 8 non-zero bytes, got {:?}",
            span.name,
            hexid(&span.span_id)
        ));
    }
    if !span.parent_span_id.is_empty() && span.parent_span_id.len() != 8 {
        return Some(format!(
            "span {:?}: parent span id must be empty or 8 bytes, got {:?}",
            span.name,
            hexid(&span.parent_span_id)
        ));
    }
    if span.start_time_unix_nano == 0 {
        return Some(format!("span {:?}: start time is missing", span.name));
    }
    None
}

/// Drops invalid spans in place; returns what was dropped.
pub fn validate(req: &mut ExportTraceServiceRequest) -> Rejections {
    let mut rej = Rejections::default();
    for rs in &mut req.resource_spans {
        for ss in &mut rs.scope_spans {
            ss.spans.retain_mut(|span| {
                // An all-zero parent means "no parent" to some SDKs.
                if span.parent_span_id.iter().all(|b| *b == 0) {
                    span.parent_span_id.clear();
                }
                match problem(span) {
                    Some(reason) => {
                        rej.add(reason);
                        false
                    }
                    None => true,
                }
            });
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
    }
    req.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
    rej
}

/// Spans in a request.
pub fn span_count(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    fn span(tid: Vec<u8>, sid: Vec<u8>, parent: Vec<u8>) -> Span {
        Span {
            trace_id: tid,
            span_id: sid,
            parent_span_id: parent,
            start_time_unix_nano: 1,
            name: "s".into(),
            ..Default::default()
        }
    }

    #[test]
    fn bad_ids_are_rejected_and_the_rest_kept() {
        let good = span(vec![1; 16], vec![2; 8], vec![]);
        let mut req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        good.clone(),
                        span(vec![1; 15], vec![2; 8], vec![]),
                        span(vec![0; 16], vec![2; 8], vec![]),
                        span(vec![1; 16], vec![], vec![]),
                        span(vec![1; 16], vec![2; 8], vec![3; 4]),
                        span(vec![1; 16], vec![3; 8], vec![0; 8]),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let rej = validate(&mut req);
        assert_eq!(rej.spans, 4);
        assert_eq!(span_count(&req), 2);
        assert!(
            rej.message().contains("trace id must be 16"),
            "{}",
            rej.message()
        );
        assert!(
            req.resource_spans[0].scope_spans[0].spans[1]
                .parent_span_id
                .is_empty()
        );
    }
}
