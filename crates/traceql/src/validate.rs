//! Semantic checks between parsing and execution: static types of field expressions, operators
//! allowed per type, regexes that compile, arguments in range — and the features that parse
//! but are not executed (`parent`, scalar filters other than `aggregate op number`).

use crate::ast::{
    Aggregate, AttributeScope, BinaryOp, FieldExpr, FieldRef, Intrinsic, MetricsFunc, MetricsQuery,
    Pipeline, Query, Root, ScalarExpr, ScalarFilter, SecondStage, SpansetExpr, Stage, Static,
};
use crate::error::ValidateError;

/// Static type of a field expression; `Attr` is unknown until run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Nil,
    Int,
    Float,
    Duration,
    Str,
    Bool,
    Status,
    Kind,
    Attr,
}

impl Ty {
    fn numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Duration)
    }
}

fn invalid(msg: impl Into<String>) -> ValidateError {
    ValidateError::Invalid(msg.into())
}

/// Checks a parsed query; `Ok` means the engine can execute it.
pub fn validate(q: &Query) -> Result<(), ValidateError> {
    match &q.root {
        Root::Pipeline(p) => pipeline(p)?,
        Root::Metrics(m) => metrics(m)?,
    }
    if uses_parent(q) {
        return Err(ValidateError::Unsupported("parent is not supported".into()));
    }
    scalar_shapes(&q.root)
}

fn pipeline(p: &Pipeline) -> Result<(), ValidateError> {
    p.stages.iter().try_for_each(stage)
}

fn stage(s: &Stage) -> Result<(), ValidateError> {
    match s {
        Stage::Spanset(e) => spanset(e),
        Stage::ScalarFilter(f) => {
            scalar(&f.lhs)?;
            scalar(&f.rhs)
        }
        Stage::By(e) => {
            field_type(e)?;
            if !references_span(e) {
                return Err(invalid(format!("by({e}) must reference the span")));
            }
            Ok(())
        }
        Stage::Select(_) | Stage::Coalesce => Ok(()),
        Stage::Aggregate(a) => aggregate(a),
    }
}

fn spanset(e: &SpansetExpr) -> Result<(), ValidateError> {
    match e {
        SpansetExpr::Filter(None) => Ok(()),
        SpansetExpr::Filter(Some(f)) => match field_type(f)? {
            Ty::Bool | Ty::Attr => Ok(()),
            t => Err(invalid(format!(
                "filter {{ {f} }} must be a boolean, not {t:?}"
            ))),
        },
        SpansetExpr::Op(_, l, r) => {
            spanset(l)?;
            spanset(r)
        }
        SpansetExpr::Pipeline(p) => pipeline(p),
    }
}

fn scalar(e: &ScalarExpr) -> Result<(), ValidateError> {
    match e {
        ScalarExpr::Aggregate(a) => aggregate(a),
        ScalarExpr::Static(_) => Ok(()),
        ScalarExpr::Binary(_, l, r) => {
            scalar(l)?;
            scalar(r)
        }
        ScalarExpr::Pipeline(p) => pipeline(p),
    }
}

fn aggregate(a: &Aggregate) -> Result<(), ValidateError> {
    let Some(arg) = &a.arg else {
        return Ok(());
    };
    let t = field_type(arg)?;
    if !(t.numeric() || t == Ty::Attr) {
        return Err(invalid(format!("{a} needs a numeric argument")));
    }
    if !references_span(arg) {
        return Err(invalid(format!("{a} must reference the span")));
    }
    Ok(())
}

fn references_span(e: &FieldExpr) -> bool {
    match e {
        FieldExpr::Static(_) => false,
        FieldExpr::Field(_) => true,
        FieldExpr::Binary(_, l, r) => references_span(l) || references_span(r),
        FieldExpr::Neg(x) | FieldExpr::Not(x) => references_span(x),
    }
}

fn static_type(s: &Static) -> Ty {
    match s {
        Static::Nil => Ty::Nil,
        Static::Int(_) => Ty::Int,
        Static::Float(_) => Ty::Float,
        Static::Str(_) => Ty::Str,
        Static::Bool(_) => Ty::Bool,
        Static::Duration(_) => Ty::Duration,
        Static::Status(_) => Ty::Status,
        Static::Kind(_) => Ty::Kind,
    }
}

fn intrinsic_type(i: Intrinsic) -> Ty {
    match i {
        Intrinsic::Duration | Intrinsic::TraceDuration | Intrinsic::EventTimeSinceStart => {
            Ty::Duration
        }
        Intrinsic::Status => Ty::Status,
        Intrinsic::Kind => Ty::Kind,
        Intrinsic::Parent => Ty::Attr,
        Intrinsic::ChildCount
        | Intrinsic::NestedSetLeft
        | Intrinsic::NestedSetRight
        | Intrinsic::NestedSetParent => Ty::Int,
        Intrinsic::Name
        | Intrinsic::StatusMessage
        | Intrinsic::RootName
        | Intrinsic::RootServiceName
        | Intrinsic::TraceId
        | Intrinsic::SpanId
        | Intrinsic::SpanParentId
        | Intrinsic::EventName
        | Intrinsic::LinkTraceId
        | Intrinsic::LinkSpanId
        | Intrinsic::InstrumentationName
        | Intrinsic::InstrumentationVersion => Ty::Str,
    }
}

fn field_type(e: &FieldExpr) -> Result<Ty, ValidateError> {
    match e {
        FieldExpr::Static(s) => Ok(static_type(s)),
        FieldExpr::Field(FieldRef::Attribute(_)) => Ok(Ty::Attr),
        FieldExpr::Field(FieldRef::Intrinsic { intrinsic, .. }) => Ok(intrinsic_type(*intrinsic)),
        FieldExpr::Neg(x) => match field_type(x)? {
            t if t.numeric() || t == Ty::Attr => Ok(t),
            t => Err(invalid(format!("unary - needs a number, not {t:?}"))),
        },
        FieldExpr::Not(x) => match field_type(x)? {
            Ty::Bool | Ty::Attr => Ok(Ty::Bool),
            t => Err(invalid(format!("! needs a boolean, not {t:?}"))),
        },
        FieldExpr::Binary(op, l, r) => binary_type(*op, l, r),
    }
}

fn binary_type(op: BinaryOp, l: &FieldExpr, r: &FieldExpr) -> Result<Ty, ValidateError> {
    let (lt, rt) = (field_type(l)?, field_type(r)?);
    let mismatch = || {
        invalid(format!(
            "operator {} cannot apply to {lt:?} and {rt:?}",
            op.symbol()
        ))
    };
    if op.is_arithmetic() {
        let ok = |t: Ty| t.numeric() || t == Ty::Attr;
        if !(ok(lt) && ok(rt)) {
            return Err(mismatch());
        }
        return Ok(if lt == Ty::Attr || rt == Ty::Attr {
            Ty::Attr
        } else if lt == Ty::Float || rt == Ty::Float {
            Ty::Float
        } else if lt == Ty::Duration || rt == Ty::Duration {
            Ty::Duration
        } else {
            Ty::Int
        });
    }
    if matches!(op, BinaryOp::And | BinaryOp::Or) {
        let ok = |t: Ty| matches!(t, Ty::Bool | Ty::Attr);
        return if ok(lt) && ok(rt) {
            Ok(Ty::Bool)
        } else {
            Err(mismatch())
        };
    }
    let compatible = lt == rt
        || (lt.numeric() && rt.numeric())
        || [lt, rt].iter().any(|t| matches!(t, Ty::Nil | Ty::Attr));
    if !compatible {
        return Err(mismatch());
    }
    // The operator must suit the known side's type.
    let known = if lt == Ty::Attr { rt } else { lt };
    let allowed = match known {
        Ty::Attr => true,
        Ty::Nil | Ty::Status | Ty::Kind | Ty::Bool => matches!(op, BinaryOp::Eq | BinaryOp::Ne),
        Ty::Str => true,
        Ty::Int | Ty::Float | Ty::Duration => op.is_comparison(),
    };
    let nil_side = lt == Ty::Nil || rt == Ty::Nil;
    if !allowed || (nil_side && !matches!(op, BinaryOp::Eq | BinaryOp::Ne)) {
        return Err(mismatch());
    }
    if op == BinaryOp::Eq
        && (always_present(l) && rt == Ty::Nil || always_present(r) && lt == Ty::Nil)
    {
        return Err(invalid("an intrinsic is never nil"));
    }
    if op.is_regex() {
        check_regex(r)?;
    }
    Ok(Ty::Bool)
}

/// Fields every span has, for which `= nil` can never hold.
fn always_present(e: &FieldExpr) -> bool {
    match e {
        FieldExpr::Field(FieldRef::Intrinsic { intrinsic, .. }) => *intrinsic != Intrinsic::Parent,
        FieldExpr::Field(FieldRef::Attribute(a)) => {
            a.scope == AttributeScope::Resource && a.name == "service.name" && !a.parent
        }
        _ => false,
    }
}

fn check_regex(r: &FieldExpr) -> Result<(), ValidateError> {
    let FieldExpr::Static(Static::Str(pattern)) = r else {
        return Err(invalid("the right side of =~ and !~ must be a string"));
    };
    crate::eval::compile_regex(pattern)
        .map(|_| ())
        .map_err(|e| invalid(format!("bad regex: {e}")))
}

fn metrics(m: &MetricsQuery) -> Result<(), ValidateError> {
    pipeline(&m.pipeline)?;
    match &m.func {
        MetricsFunc::QuantileOverTime(_, qs) => {
            if let Some(q) = qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                return Err(invalid(format!("quantile {q} is not within [0, 1]")));
            }
        }
        MetricsFunc::Compare { selection, .. } => {
            spanset(selection)?;
            if !m.second.is_empty() {
                return Err(invalid(
                    "compare() cannot be followed by topk, bottomk or filters",
                ));
            }
        }
        _ => {}
    }
    for s in &m.second {
        match s {
            SecondStage::TopK(k) | SecondStage::BottomK(k) if *k < 1 => {
                return Err(invalid("topk and bottomk need k >= 1"));
            }
            _ => {}
        }
    }
    let max_by = match m.func {
        MetricsFunc::QuantileOverTime(..) | MetricsFunc::HistogramOverTime(_) => 4,
        _ => 5,
    };
    if m.by.len() > max_by {
        return Err(ValidateError::Unsupported(format!(
            "more than {max_by} by() labels"
        )));
    }
    Ok(())
}

/// Only `aggregate op number` scalar filters execute.
fn scalar_shapes(root: &Root) -> Result<(), ValidateError> {
    let p = match root {
        Root::Pipeline(p) => p,
        Root::Metrics(m) => &m.pipeline,
    };
    pipeline_shapes(p)
}

fn pipeline_shapes(p: &Pipeline) -> Result<(), ValidateError> {
    for s in &p.stages {
        match s {
            Stage::ScalarFilter(f) => filter_shape(f)?,
            Stage::Spanset(e) => spanset_shapes(e)?,
            _ => {}
        }
    }
    Ok(())
}

fn spanset_shapes(e: &SpansetExpr) -> Result<(), ValidateError> {
    match e {
        SpansetExpr::Filter(_) => Ok(()),
        SpansetExpr::Op(_, l, r) => {
            spanset_shapes(l)?;
            spanset_shapes(r)
        }
        SpansetExpr::Pipeline(p) => pipeline_shapes(p),
    }
}

fn filter_shape(f: &ScalarFilter) -> Result<(), ValidateError> {
    match (&f.lhs, &f.rhs) {
        (ScalarExpr::Aggregate(_), ScalarExpr::Static(_)) => Ok(()),
        _ => Err(ValidateError::Unsupported(format!(
            "scalar filter {f}: only aggregate op number is supported"
        ))),
    }
}

fn uses_parent(q: &Query) -> bool {
    let mut found = false;
    crate::walk::for_each_field(q, &mut |r| {
        found |= match r {
            FieldRef::Attribute(a) => a.parent,
            FieldRef::Intrinsic { intrinsic, .. } => *intrinsic == Intrinsic::Parent,
        }
    });
    found
}
