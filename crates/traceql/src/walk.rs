//! Visits every attribute and intrinsic a query mentions.

use crate::ast::{
    FieldExpr, FieldRef, MetricsFunc, Pipeline, Query, Root, ScalarExpr, SpansetExpr, Stage,
};

/// Calls `f` for every field reference in the query, in source order.
pub fn for_each_field(q: &Query, f: &mut dyn FnMut(&FieldRef)) {
    match &q.root {
        Root::Pipeline(p) => pipeline(p, f),
        Root::Metrics(m) => {
            pipeline(&m.pipeline, f);
            match &m.func {
                MetricsFunc::MinOverTime(r)
                | MetricsFunc::MaxOverTime(r)
                | MetricsFunc::SumOverTime(r)
                | MetricsFunc::AvgOverTime(r)
                | MetricsFunc::HistogramOverTime(r)
                | MetricsFunc::QuantileOverTime(r, _) => f(r),
                MetricsFunc::Compare { selection, .. } => spanset(selection, f),
                MetricsFunc::Rate | MetricsFunc::CountOverTime => {}
            }
            m.by.iter().for_each(&mut *f);
        }
    }
}

pub(crate) fn pipeline(p: &Pipeline, f: &mut dyn FnMut(&FieldRef)) {
    for s in &p.stages {
        match s {
            Stage::Spanset(e) => spanset(e, f),
            Stage::ScalarFilter(sf) => {
                scalar(&sf.lhs, f);
                scalar(&sf.rhs, f);
            }
            Stage::By(e) => field(e, f),
            Stage::Select(refs) => refs.iter().for_each(&mut *f),
            Stage::Coalesce => {}
            Stage::Aggregate(a) => {
                if let Some(e) = &a.arg {
                    field(e, f);
                }
            }
        }
    }
}

pub(crate) fn spanset(e: &SpansetExpr, f: &mut dyn FnMut(&FieldRef)) {
    match e {
        SpansetExpr::Filter(Some(x)) => field(x, f),
        SpansetExpr::Filter(None) => {}
        SpansetExpr::Op(_, l, r) => {
            spanset(l, f);
            spanset(r, f);
        }
        SpansetExpr::Pipeline(p) => pipeline(p, f),
    }
}

fn scalar(e: &ScalarExpr, f: &mut dyn FnMut(&FieldRef)) {
    match e {
        ScalarExpr::Aggregate(a) => {
            if let Some(x) = &a.arg {
                field(x, f);
            }
        }
        ScalarExpr::Static(_) => {}
        ScalarExpr::Binary(_, l, r) => {
            scalar(l, f);
            scalar(r, f);
        }
        ScalarExpr::Pipeline(p) => pipeline(p, f),
    }
}

pub(crate) fn field(e: &FieldExpr, f: &mut dyn FnMut(&FieldRef)) {
    match e {
        FieldExpr::Static(_) => {}
        FieldExpr::Field(r) => f(r),
        FieldExpr::Binary(_, l, r) => {
            field(l, f);
            field(r, f);
        }
        FieldExpr::Neg(x) | FieldExpr::Not(x) => field(x, f),
    }
}

/// Calls `f` for every top-level field expression (filters, `by()`, aggregate arguments).
pub fn for_each_expr(q: &Query, f: &mut dyn FnMut(&FieldExpr)) {
    match &q.root {
        Root::Pipeline(p) => pipeline_exprs(p, f),
        Root::Metrics(m) => {
            pipeline_exprs(&m.pipeline, f);
            if let MetricsFunc::Compare { selection, .. } = &m.func {
                spanset_exprs(selection, f);
            }
        }
    }
}

fn pipeline_exprs(p: &Pipeline, f: &mut dyn FnMut(&FieldExpr)) {
    for s in &p.stages {
        match s {
            Stage::Spanset(e) => spanset_exprs(e, f),
            Stage::ScalarFilter(sf) => {
                scalar_exprs(&sf.lhs, f);
                scalar_exprs(&sf.rhs, f);
            }
            Stage::By(e) => f(e),
            Stage::Aggregate(a) => a.arg.iter().for_each(&mut *f),
            Stage::Select(_) | Stage::Coalesce => {}
        }
    }
}

fn spanset_exprs(e: &SpansetExpr, f: &mut dyn FnMut(&FieldExpr)) {
    match e {
        SpansetExpr::Filter(Some(x)) => f(x),
        SpansetExpr::Filter(None) => {}
        SpansetExpr::Op(_, l, r) => {
            spanset_exprs(l, f);
            spanset_exprs(r, f);
        }
        SpansetExpr::Pipeline(p) => pipeline_exprs(p, f),
    }
}

fn scalar_exprs(e: &ScalarExpr, f: &mut dyn FnMut(&FieldExpr)) {
    match e {
        ScalarExpr::Aggregate(a) => a.arg.iter().for_each(&mut *f),
        ScalarExpr::Static(_) => {}
        ScalarExpr::Binary(_, l, r) => {
            scalar_exprs(l, f);
            scalar_exprs(r, f);
        }
        ScalarExpr::Pipeline(p) => pipeline_exprs(p, f),
    }
}
