//! The data model the engine evaluates: one trace, as the store returns it
//! (`&[ResourceSpans]`), flattened into spans with their resource, scope, parent and
//! nested-set numbers (left/right from a depth-first walk, as Tempo stores them).

use std::collections::HashMap;
use std::sync::LazyLock;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};

static EMPTY_RESOURCE: LazyLock<Resource> = LazyLock::new(Resource::default);

/// One span of a trace with what the engine needs around it.
#[derive(Debug, Clone)]
pub struct SpanRef<'a> {
    /// The span.
    pub span: &'a Span,
    /// Its resource (empty when the batch had none).
    pub resource: &'a Resource,
    /// Its instrumentation scope.
    pub scope: Option<&'a InstrumentationScope>,
    /// Index of the parent span in [`TraceView::spans`], if it is in the trace.
    pub parent: Option<usize>,
    /// Nested-set left number (1-based).
    pub left: i64,
    /// Nested-set right number.
    pub right: i64,
    /// Number of direct children in the trace.
    pub child_count: i64,
}

impl SpanRef<'_> {
    /// Duration in nanoseconds (0 if the end precedes the start).
    pub fn duration_nanos(&self) -> u64 {
        self.span
            .end_time_unix_nano
            .saturating_sub(self.span.start_time_unix_nano)
    }
}

/// A whole trace, ready for evaluation.
#[derive(Debug, Clone)]
pub struct TraceView<'a> {
    /// All spans, in the order they appear in the input.
    pub spans: Vec<SpanRef<'a>>,
    /// Index of the root span (no parent id), if received.
    pub root: Option<usize>,
    /// Earliest span start (ns).
    pub start_unix_nano: u64,
    /// Latest span end (ns).
    pub end_unix_nano: u64,
}

impl<'a> TraceView<'a> {
    /// Flattens a trace and works out its tree.
    pub fn new(batches: &'a [ResourceSpans]) -> Self {
        let mut spans = Vec::new();
        for rs in batches {
            let resource = rs.resource.as_ref().unwrap_or(&EMPTY_RESOURCE);
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    spans.push(SpanRef {
                        span,
                        resource,
                        scope: ss.scope.as_ref(),
                        parent: None,
                        left: 0,
                        right: 0,
                        child_count: 0,
                    });
                }
            }
        }
        let by_id: HashMap<&[u8], usize> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span.span_id.as_slice(), i))
            .collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
        for (i, s) in spans.iter_mut().enumerate() {
            let pid = s.span.parent_span_id.as_slice();
            s.parent = by_id
                .get(pid)
                .copied()
                .filter(|p| !pid.is_empty() && *p != i);
            if let Some(p) = s.parent {
                children[p].push(i);
            }
        }
        number_nested_sets(&mut spans, &mut children);
        let root = spans.iter().position(|s| s.span.parent_span_id.is_empty());
        let start_unix_nano = spans
            .iter()
            .map(|s| s.span.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        let end_unix_nano = spans
            .iter()
            .map(|s| s.span.end_time_unix_nano)
            .max()
            .unwrap_or(0);
        TraceView {
            spans,
            root,
            start_unix_nano,
            end_unix_nano,
        }
    }

    /// Trace duration in nanoseconds.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    /// The root span's name.
    pub fn root_name(&self) -> Option<&str> {
        self.root.map(|r| self.spans[r].span.name.as_str())
    }

    /// The root span's `service.name`.
    pub fn root_service_name(&self) -> Option<&str> {
        let r = &self.spans[self.root?];
        r.resource
            .attributes
            .iter()
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s) => {
                    Some(s.as_str())
                }
                _ => None,
            })
    }

    /// Whether `a` is a proper ancestor of `b`.
    pub fn is_ancestor(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.spans[a], &self.spans[b]);
        x.left < y.left && y.right < x.right
    }
}

/// Depth-first numbering from every span without a parent in the trace (roots and orphans),
/// children in start-time order. Iterative, so deep traces cannot overflow the stack.
fn number_nested_sets(spans: &mut [SpanRef<'_>], children: &mut [Vec<usize>]) {
    for c in children.iter_mut() {
        c.sort_by_key(|&i| (spans[i].span.start_time_unix_nano, i));
    }
    let mut counter = 0i64;
    let tops: Vec<usize> = (0..spans.len())
        .filter(|&i| spans[i].parent.is_none())
        .collect();
    for top in tops {
        let mut stack = vec![(top, 0usize)];
        counter += 1;
        spans[top].left = counter;
        while let Some((node, next)) = stack.pop() {
            if let Some(&child) = children[node].get(next) {
                stack.push((node, next + 1));
                counter += 1;
                spans[child].left = counter;
                stack.push((child, 0));
            } else {
                counter += 1;
                spans[node].right = counter;
                spans[node].child_count = children[node].len() as i64;
            }
        }
    }
}
