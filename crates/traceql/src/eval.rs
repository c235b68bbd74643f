//! Evaluation of a query against one trace at a time.
//!
//! A query is evaluated per trace: the input is one spanset holding every span, and each
//! pipeline stage maps a list of spansets to a list of spansets. The trace matches when the
//! last stage leaves something. The store stays behind the caller: it hands over a trace as
//! `&[ResourceSpans]` (after pruning with [`crate::conditions`], or not at all).

mod field;
mod structural;

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use regex::Regex;

use crate::ast::{
    Aggregate, AggregateFunc, FieldExpr, FieldRef, Intrinsic, Pipeline, Query, Root, ScalarExpr,
    SpansetExpr, SpansetOp, Stage, Static,
};
use crate::error::{Error, EvalError};
use crate::trace::TraceView;
use crate::value::{Value, compare};

/// Compiles a TraceQL regex: fully anchored, as Tempo does (`=~ "bar"` means `^bar$`).
pub fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}

/// A hook consulted when a span attribute is absent, so that canonical names (e.g. the GenAI
/// `gen_ai.*` keys) answer whatever dialect the client spoke. Used for `span.x` and `.x`.
pub trait AttributeFallback: Send + Sync {
    /// The value of attribute `name` for `span`, if the hook can derive one.
    fn fallback(&self, span: &Span, resource: &Resource, name: &str) -> Option<Value> {
        let _ = (span, resource, name);
        None
    }
}

/// The fallback that never answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFallback;

impl AttributeFallback for NoFallback {}

/// A validated query ready to run, with its regexes compiled once.
#[derive(Clone)]
pub struct Engine {
    query: Query,
    regexes: HashMap<String, Regex>,
    fallback: Arc<dyn AttributeFallback>,
    selected: Vec<FieldRef>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("query", &self.query.to_string())
            .finish()
    }
}

/// A matched trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceResult {
    /// Trace id bytes (from the first span).
    pub trace_id: Vec<u8>,
    /// Root span's `service.name`, if the root was received.
    pub root_service_name: Option<String>,
    /// Root span's name, if the root was received.
    pub root_name: Option<String>,
    /// Earliest span start.
    pub start_unix_nano: u64,
    /// Last end minus first start.
    pub duration_nanos: u64,
    /// The spansets the pipeline produced (several after `by()`).
    pub spansets: Vec<SpansetResult>,
}

/// One spanset of a result. The caller truncates `spans` to its spans-per-spanset limit.
#[derive(Debug, Clone, PartialEq)]
pub struct SpansetResult {
    /// Matched spans in trace order.
    pub spans: Vec<SpanMatch>,
    /// How many spans matched (before any truncation by the caller).
    pub matched: usize,
    /// Spanset attributes: `by(...)` values and aggregates such as `count()`.
    pub attributes: Vec<(String, Value)>,
}

/// A matched span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanMatch {
    /// Span id bytes.
    pub span_id: Vec<u8>,
    /// Span name.
    pub name: String,
    /// Start time.
    pub start_unix_nano: u64,
    /// Duration.
    pub duration_nanos: u64,
    /// Fields the query fetched (filter fields and `select()`), by bare name; absent ones omitted.
    pub attributes: Vec<(String, Value)>,
}

/// A list of spans (indices into the trace) with spanset attributes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Set {
    pub spans: Vec<usize>,
    pub attrs: Vec<(String, Value)>,
}

/// Evaluation state for one trace.
pub(crate) struct Ctx<'e, 'v> {
    engine: &'e Engine,
    view: &'e TraceView<'v>,
}

impl Engine {
    /// Validates `query` and prepares it.
    pub fn new(query: Query) -> Result<Self, Error> {
        crate::validate(&query)?;
        let mut regexes = HashMap::new();
        collect_regexes(&query, &mut regexes);
        let selected = selected_fields(&query);
        Ok(Engine {
            query,
            regexes,
            fallback: Arc::new(NoFallback),
            selected,
        })
    }

    /// Parses, validates and prepares a query text.
    pub fn compile(src: &str) -> Result<Self, Error> {
        Engine::new(crate::parse_syntax(src)?)
    }

    /// Uses `fallback` for attributes a span lacks.
    pub fn with_fallback(mut self, fallback: Arc<dyn AttributeFallback>) -> Self {
        self.fallback = fallback;
        self
    }

    /// Whether each span's match depends on that span alone: the pipeline is one `{ filter }`
    /// whose fields are neither trace-level nor structural. Then spans may be fed in any
    /// grouping (e.g. a metrics query over raw span batches, without assembling traces).
    pub fn is_span_local(&self) -> bool {
        let pipeline = match &self.query.root {
            Root::Pipeline(p) => p,
            Root::Metrics(m) => &m.pipeline,
        };
        if !matches!(
            pipeline.stages.as_slice(),
            [Stage::Spanset(SpansetExpr::Filter(_))]
        ) {
            return false;
        }
        let mut local = true;
        crate::walk::pipeline(pipeline, &mut |r| {
            local &= !matches!(
                r,
                FieldRef::Intrinsic {
                    intrinsic: Intrinsic::RootName
                        | Intrinsic::RootServiceName
                        | Intrinsic::TraceDuration
                        | Intrinsic::ChildCount
                        | Intrinsic::NestedSetLeft
                        | Intrinsic::NestedSetRight
                        | Intrinsic::NestedSetParent
                        | Intrinsic::Parent,
                    ..
                }
            );
        });
        local
    }

    /// The query.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Evaluates the search pipeline (for a metrics query: the pipeline before the function)
    /// over one trace; `None` when the trace does not match.
    pub fn eval_trace(&self, trace: &[ResourceSpans]) -> Result<Option<TraceResult>, EvalError> {
        let view = TraceView::new(trace);
        let sets = self.eval_view(&view)?;
        if sets.is_empty() {
            return Ok(None);
        }
        let ctx = Ctx {
            engine: self,
            view: &view,
        };
        let spansets = sets
            .into_iter()
            .map(|s| SpansetResult {
                matched: s.spans.len(),
                spans: s.spans.iter().map(|&i| ctx.span_match(i)).collect(),
                attributes: s.attrs,
            })
            .collect();
        Ok(Some(TraceResult {
            trace_id: view
                .spans
                .first()
                .map(|s| s.span.trace_id.clone())
                .unwrap_or_default(),
            root_service_name: view.root_service_name().map(str::to_string),
            root_name: view.root_name().map(str::to_string),
            start_unix_nano: view.start_unix_nano,
            duration_nanos: view.duration_nanos(),
            spansets,
        }))
    }

    /// The spansets the query's pipeline leaves for a trace.
    pub(crate) fn eval_view(&self, view: &TraceView<'_>) -> Result<Vec<Set>, EvalError> {
        if view.spans.is_empty() {
            return Ok(Vec::new());
        }
        let pipeline = match &self.query.root {
            Root::Pipeline(p) => p,
            Root::Metrics(m) => &m.pipeline,
        };
        let all = Set {
            spans: (0..view.spans.len()).collect(),
            attrs: Vec::new(),
        };
        Ctx { engine: self, view }.pipeline(pipeline, vec![all])
    }

    /// Whether the filter expression `e` holds for span `i`.
    pub(crate) fn filter_matches(
        &self,
        view: &TraceView<'_>,
        e: &FieldExpr,
        i: usize,
    ) -> Result<bool, EvalError> {
        Ok(Ctx { engine: self, view }.field(e, i)?.is_true())
    }

    pub(crate) fn field_value(
        &self,
        view: &TraceView<'_>,
        r: &FieldRef,
        i: usize,
    ) -> Result<Value, EvalError> {
        Ctx { engine: self, view }.field_ref(r, i)
    }
}

fn collect_regexes(q: &Query, out: &mut HashMap<String, Regex>) {
    fn walk(e: &FieldExpr, out: &mut HashMap<String, Regex>) {
        match e {
            FieldExpr::Binary(op, l, r) => {
                if op.is_regex()
                    && let FieldExpr::Static(Static::Str(p)) = &**r
                    && let Ok(re) = compile_regex(p)
                {
                    out.insert(p.clone(), re);
                }
                walk(l, out);
                walk(r, out);
            }
            FieldExpr::Neg(x) | FieldExpr::Not(x) => walk(x, out),
            FieldExpr::Static(_) | FieldExpr::Field(_) => {}
        }
    }
    crate::walk::for_each_expr(q, &mut |e| walk(e, out));
}

/// Fields reported with each matched span: everything the filters and `select()` mention,
/// except name, duration, ids and trace-level intrinsics (which have their own fields).
fn selected_fields(q: &Query) -> Vec<FieldRef> {
    let mut out: Vec<FieldRef> = Vec::new();
    crate::walk::for_each_field(q, &mut |r| {
        let skip = matches!(
            r,
            FieldRef::Intrinsic {
                intrinsic: Intrinsic::Name
                    | Intrinsic::Duration
                    | Intrinsic::TraceId
                    | Intrinsic::SpanId
                    | Intrinsic::RootName
                    | Intrinsic::RootServiceName
                    | Intrinsic::TraceDuration
                    | Intrinsic::Parent,
                ..
            }
        ) || matches!(r, FieldRef::Attribute(a) if a.parent);
        if !skip && !out.contains(r) {
            out.push(r.clone());
        }
    });
    out
}

impl Ctx<'_, '_> {
    fn span_match(&self, i: usize) -> SpanMatch {
        let s = &self.view.spans[i];
        let mut attributes: Vec<(String, Value)> = Vec::new();
        for r in &self.engine.selected {
            let key = match r {
                FieldRef::Attribute(a) => a.name.clone(),
                FieldRef::Intrinsic { intrinsic, .. } => intrinsic.bare_name(),
            };
            match self.field_ref(r, i) {
                Ok(Value::Nil) | Err(_) => {}
                Ok(v) if !attributes.iter().any(|(k, _)| *k == key) => attributes.push((key, v)),
                Ok(_) => {}
            }
        }
        SpanMatch {
            span_id: s.span.span_id.clone(),
            name: s.span.name.clone(),
            start_unix_nano: s.span.start_time_unix_nano,
            duration_nanos: s.duration_nanos(),
            attributes,
        }
    }

    fn pipeline(&self, p: &Pipeline, mut sets: Vec<Set>) -> Result<Vec<Set>, EvalError> {
        for stage in &p.stages {
            sets = self.stage(stage, sets)?;
            if sets.is_empty() {
                break;
            }
        }
        Ok(sets)
    }

    fn stage(&self, stage: &Stage, sets: Vec<Set>) -> Result<Vec<Set>, EvalError> {
        let mut out = Vec::new();
        match stage {
            Stage::Spanset(e) => {
                for s in &sets {
                    out.extend(self.spanset(e, s)?);
                }
            }
            Stage::ScalarFilter(f) => {
                let (ScalarExpr::Aggregate(a), ScalarExpr::Static(rhs)) = (&f.lhs, &f.rhs) else {
                    return Err(EvalError::Unsupported(format!("scalar filter {f}")));
                };
                let rhs = Value::from_static(rhs);
                for mut s in sets {
                    if let Some(v) = self.aggregate(a, &s)?
                        && compare(f.op, &v, &rhs, None)
                    {
                        s.attrs.push((a.to_string(), v));
                        out.push(s);
                    }
                }
            }
            Stage::By(e) => {
                for s in sets {
                    out.extend(self.group(e, s)?);
                }
            }
            Stage::Select(_) => out = sets,
            Stage::Coalesce => {
                let mut spans: Vec<usize> = sets.into_iter().flat_map(|s| s.spans).collect();
                spans.sort_unstable();
                spans.dedup();
                out.push(Set {
                    spans,
                    attrs: Vec::new(),
                });
            }
            Stage::Aggregate(a) => {
                for mut s in sets {
                    if let Some(v) = self.aggregate(a, &s)? {
                        s.attrs.push((a.to_string(), v));
                    }
                    out.push(s);
                }
            }
        }
        Ok(out)
    }

    fn spanset(&self, e: &SpansetExpr, input: &Set) -> Result<Vec<Set>, EvalError> {
        let keep = |spans: Vec<usize>| {
            if spans.is_empty() {
                Vec::new()
            } else {
                vec![Set {
                    spans,
                    attrs: input.attrs.clone(),
                }]
            }
        };
        match e {
            SpansetExpr::Filter(None) => Ok(keep(input.spans.clone())),
            SpansetExpr::Filter(Some(x)) => {
                let mut spans = Vec::new();
                for &i in &input.spans {
                    if self.field(x, i)?.is_true() {
                        spans.push(i);
                    }
                }
                Ok(keep(spans))
            }
            SpansetExpr::Pipeline(p) => self.pipeline(p, vec![input.clone()]),
            SpansetExpr::Op(op, l, r) => {
                let (ls, rs) = (self.spanset(l, input)?, self.spanset(r, input)?);
                let union = |a: &[Set], b: &[Set]| {
                    let mut v: Vec<usize> = a
                        .iter()
                        .chain(b)
                        .flat_map(|s| s.spans.iter().copied())
                        .collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                };
                match op {
                    SpansetOp::And if ls.is_empty() || rs.is_empty() => Ok(Vec::new()),
                    SpansetOp::And | SpansetOp::Or => Ok(keep(union(&ls, &rs))),
                    _ => {
                        if ls.len() > 1 && rs.len() > 1 {
                            return Err(EvalError::AmbiguousStructural);
                        }
                        let (a, b) = (union(&ls, &[]), union(&rs, &[]));
                        Ok(keep(structural::apply(self.view, *op, &a, &b)))
                    }
                }
            }
        }
    }

    /// The aggregate over a spanset; `None` when no span has a numeric value.
    pub(crate) fn aggregate(&self, a: &Aggregate, s: &Set) -> Result<Option<Value>, EvalError> {
        let Some(arg) = &a.arg else {
            return Ok(Some(Value::Int(s.spans.len() as i64)));
        };
        let mut values = Vec::new();
        for &i in &s.spans {
            let v = self.field(arg, i)?;
            if v.as_f64().is_some() {
                values.push(v);
            }
        }
        Ok(fold_aggregate(a.func, &values))
    }

    fn group(&self, e: &FieldExpr, s: Set) -> Result<Vec<Set>, EvalError> {
        let mut groups: Vec<(Value, Vec<usize>)> = Vec::new();
        for &i in &s.spans {
            let v = self.field(e, i)?;
            match groups.iter_mut().find(|(k, _)| *k == v) {
                Some((_, spans)) => spans.push(i),
                None => groups.push((v, vec![i])),
            }
        }
        let key = format!("by({e})");
        Ok(groups
            .into_iter()
            .map(|(v, spans)| {
                let mut attrs = s.attrs.clone();
                attrs.push((key.clone(), v));
                Set { spans, attrs }
            })
            .collect())
    }
}

/// Folds numeric values: sums of ints stay ints, of durations stay durations; averages of
/// durations are durations; anything mixed becomes a float.
fn fold_aggregate(func: AggregateFunc, values: &[Value]) -> Option<Value> {
    let first = values.first()?;
    let uniform = |f: fn(&Value) -> bool| values.iter().all(f);
    let all_int = uniform(|v| matches!(v, Value::Int(_)));
    let all_dur = uniform(|v| matches!(v, Value::Duration(_)));
    let floats = || values.iter().filter_map(Value::as_f64);
    let cmp = |a: &&Value, b: &&Value| {
        let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
        x.total_cmp(&y)
    };
    Some(match func {
        AggregateFunc::Count => Value::Int(values.len() as i64),
        AggregateFunc::Min => values.iter().min_by(cmp).unwrap_or(first).clone(),
        AggregateFunc::Max => values.iter().max_by(cmp).unwrap_or(first).clone(),
        AggregateFunc::Sum => {
            let mut ints = values.iter().filter_map(|v| match v {
                Value::Int(i) | Value::Duration(i) => Some(*i),
                _ => None,
            });
            match (all_int, all_dur) {
                (true, _) => ints
                    .try_fold(0i64, i64::checked_add)
                    .map_or_else(|| Value::Float(floats().sum()), Value::Int),
                (_, true) => ints
                    .try_fold(0i64, i64::checked_add)
                    .map_or_else(|| Value::Float(floats().sum()), Value::Duration),
                _ => Value::Float(floats().sum()),
            }
        }
        AggregateFunc::Avg => {
            let avg = floats().sum::<f64>() / values.len() as f64;
            if all_dur {
                Value::Duration(avg.round() as i64)
            } else {
                Value::Float(avg)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_keep_types_where_uniform() {
        let ints = [Value::Int(2), Value::Int(4)];
        assert_eq!(
            fold_aggregate(AggregateFunc::Sum, &ints),
            Some(Value::Int(6))
        );
        assert_eq!(
            fold_aggregate(AggregateFunc::Avg, &ints),
            Some(Value::Float(3.0))
        );
        let durs = [Value::Duration(10), Value::Duration(20)];
        assert_eq!(
            fold_aggregate(AggregateFunc::Avg, &durs),
            Some(Value::Duration(15))
        );
        assert_eq!(
            fold_aggregate(AggregateFunc::Max, &[Value::Int(1), Value::Float(1.5)]),
            Some(Value::Float(1.5))
        );
        assert_eq!(fold_aggregate(AggregateFunc::Min, &[]), None);
    }

    #[test]
    fn span_local_queries_are_single_filters_without_trace_fields() {
        let local = |q: &str| Engine::compile(q).expect("valid").is_span_local();
        assert!(local(
            "{ status = error } | rate() by (resource.service.name)"
        ));
        assert!(local("{ }"));
        assert!(!local("{ rootName = \"x\" } | rate()"));
        assert!(!local("{ .a } >> { .b }"));
        assert!(!local("{ .a } | count() > 1"));
    }

    #[test]
    fn engine_can_be_shared_across_query_threads() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<Engine>();
    }

    #[test]
    fn regexes_are_anchored() {
        let re = compile_regex("bar").expect("compiles");
        assert!(re.is_match("bar"));
        assert!(!re.is_match("foobar"));
    }
}
