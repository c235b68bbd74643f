//! The conditions a query places on span fields, for a storage layer to push down (in the
//! spirit of Tempo's `FetchSpansRequest`): which columns to read and, when `all` is true,
//! which comparisons every matching span satisfies at once, so whole traces can be skipped.

use crate::ast::{
    BinaryOp, FieldExpr, FieldRef, Pipeline, Query, Root, SpansetExpr, Stage, Static,
};

/// One field a query reads, with the comparison applied to it when it is a simple one.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The attribute or intrinsic.
    pub field: FieldRef,
    /// `field op operand`; `None` when the field is only fetched (or used in a complex way).
    pub op: Option<BinaryOp>,
    /// The literal on the other side, with `op` flipped so the field is on the left.
    pub operand: Option<Static>,
}

/// What [`conditions`] returns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conditions {
    /// Every field the query reads, comparisons first as written.
    pub conditions: Vec<Condition>,
    /// True when the query is a single `{ a op x && b op y ... }` filter: a trace can match
    /// only if one of its spans satisfies every condition, so a store may skip any trace
    /// where none does. When false the conditions are fetch hints only — pruning on them is
    /// not safe (they may sit under `||`, `!` or a structural operator).
    pub all: bool,
}

/// The conditions of a query.
pub fn conditions(q: &Query) -> Conditions {
    let mut out = Conditions::default();
    let pipeline = match &q.root {
        Root::Pipeline(p) => p,
        Root::Metrics(m) => &m.pipeline,
    };
    out.all = single_conjunction(pipeline);
    crate::walk::for_each_expr(q, &mut |e| simple_comparisons(e, &mut out.conditions));
    crate::walk::for_each_field(q, &mut |r| {
        if !out.conditions.iter().any(|c| c.field == *r) {
            out.conditions.push(Condition {
                field: r.clone(),
                op: None,
                operand: None,
            });
        }
    });
    if out.conditions.iter().any(|c| c.op.is_none()) {
        out.all = false;
    }
    out
}

fn single_conjunction(p: &Pipeline) -> bool {
    match p.stages.as_slice() {
        [Stage::Spanset(SpansetExpr::Filter(Some(e)))] => is_conjunction(e),
        _ => false,
    }
}

fn is_conjunction(e: &FieldExpr) -> bool {
    match e {
        FieldExpr::Binary(BinaryOp::And, l, r) => is_conjunction(l) && is_conjunction(r),
        other => as_simple(other).is_some(),
    }
}

/// `field op literal` or `literal op field`, as (field, op with field on the left, literal).
fn as_simple(e: &FieldExpr) -> Option<(FieldRef, BinaryOp, Static)> {
    let FieldExpr::Binary(op, l, r) = e else {
        return None;
    };
    if !(op.is_comparison() || op.is_regex()) {
        return None;
    }
    match (&**l, &**r) {
        (FieldExpr::Field(f), FieldExpr::Static(s)) => Some((f.clone(), *op, s.clone())),
        (FieldExpr::Static(s), FieldExpr::Field(f)) if !op.is_regex() => {
            let flipped = match op {
                BinaryOp::Lt => BinaryOp::Gt,
                BinaryOp::Le => BinaryOp::Ge,
                BinaryOp::Gt => BinaryOp::Lt,
                BinaryOp::Ge => BinaryOp::Le,
                other => *other,
            };
            Some((f.clone(), flipped, s.clone()))
        }
        _ => None,
    }
}

fn simple_comparisons(e: &FieldExpr, out: &mut Vec<Condition>) {
    if let Some((field, op, operand)) = as_simple(e) {
        let c = Condition {
            field,
            op: Some(op),
            operand: Some(operand),
        };
        if !out.contains(&c) {
            out.push(c);
        }
        return;
    }
    match e {
        FieldExpr::Binary(_, l, r) => {
            simple_comparisons(l, out);
            simple_comparisons(r, out);
        }
        FieldExpr::Neg(x) | FieldExpr::Not(x) => simple_comparisons(x, out),
        FieldExpr::Static(_) | FieldExpr::Field(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    #[test]
    fn conjunction_of_simple_comparisons_is_all() {
        let q =
            parse(r#"{ span.gen_ai.request.model = "gpt-4o" && 2s < duration }"#).expect("valid");
        let c = conditions(&q);
        assert!(c.all);
        assert_eq!(c.conditions.len(), 2);
        assert_eq!(c.conditions[1].op, Some(BinaryOp::Gt));
        assert_eq!(
            c.conditions[1].operand,
            Some(Static::Duration(2_000_000_000))
        );
    }

    #[test]
    fn or_structure_and_fetch_only_fields_are_not_all() {
        for q in [
            "{ .a = 1 || .b = 2 }",
            "{ .a = 1 } >> { .b = 2 }",
            "{ .a = 1 } | select(.c)",
            "{ !(.a = 1) }",
        ] {
            let c = conditions(&parse(q).expect("valid"));
            assert!(!c.all, "{q}");
            assert!(!c.conditions.is_empty(), "{q}");
        }
    }
}
