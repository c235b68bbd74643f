//! Translates a TraceQL query into the store's candidate search: which span predicates to test
//! (groups of conjunctions over typed columns) and which combinations of satisfied groups let a
//! trace match. Only the pipeline's first stage is used: every later stage keeps a subset of
//! what the first produced, so a trace the first stage rejects can never match.
//!
//! The translation may only widen: anything it cannot express (`||` of unpushable fields,
//! `!`, arithmetic, unscoped attributes, `nil`) becomes "always true", and the trace is then
//! evaluated in full.

use std::sync::Arc;

use sextant_store::genai::off;
use sextant_store::schema::col;
use sextant_store::search::{Accept, CmpOp, SpanPredicate, Test};
use sextant_traceql::ast::{
    AttributeScope, BinaryOp, FieldExpr, FieldRef, Intrinsic, Kind, Pipeline, Query, Root,
    SpansetExpr, SpansetOp, Stage, Static, Status,
};

use super::genai_exact;

/// Most alternative conjunctions a single filter expands to before giving up on it.
const MAX_DNF: usize = 16;
/// The store tests at most 64 groups per search.
const MAX_GROUPS: usize = 64;

/// When a trace may match, in terms of groups a span of it satisfied.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    /// No constraint.
    True,
    /// Some span satisfies group `i`.
    Group(usize),
    All(Vec<Need>),
    Any(Vec<Need>),
}

impl Need {
    /// Whether `mask` (bit `i` = group `i` satisfied) meets the need.
    pub fn holds(&self, mask: u64) -> bool {
        match self {
            Need::True => true,
            Need::Group(i) => *i < 64 && mask & (1 << i) != 0,
            Need::All(v) => v.iter().all(|n| n.holds(mask)),
            Need::Any(v) => v.iter().any(|n| n.holds(mask)),
        }
    }
}

/// Predicates for the store and the rule that decides candidates.
#[derive(Debug, Clone)]
pub struct Plan {
    pub groups: Vec<Vec<SpanPredicate>>,
    pub need: Need,
}

impl Plan {
    /// True when every trace is a candidate.
    pub fn is_unconstrained(&self) -> bool {
        self.need == Need::True
    }

    /// The rule as the store takes it.
    pub fn accept(&self) -> Accept {
        let need = self.need.clone();
        Arc::new(move |mask| need.holds(mask))
    }
}

/// The pushdown plan of a query (search or metrics).
pub fn plan(q: &Query) -> Plan {
    let pipeline = match &q.root {
        Root::Pipeline(p) => p,
        Root::Metrics(m) => &m.pipeline,
    };
    let mut groups = Vec::new();
    let need = pipeline_need(pipeline, &mut groups);
    Plan { groups, need }
}

fn pipeline_need(p: &Pipeline, groups: &mut Vec<Vec<SpanPredicate>>) -> Need {
    match p.stages.first() {
        Some(Stage::Spanset(e)) => spanset_need(e, groups),
        _ => Need::True,
    }
}

fn spanset_need(e: &SpansetExpr, groups: &mut Vec<Vec<SpanPredicate>>) -> Need {
    match e {
        SpansetExpr::Filter(None) => Need::True,
        SpansetExpr::Filter(Some(f)) => match dnf(f) {
            Some(alts) if groups.len() + alts.len() <= MAX_GROUPS => {
                let mut any = Vec::new();
                for alt in alts {
                    groups.push(alt);
                    any.push(Need::Group(groups.len() - 1));
                }
                Need::Any(any)
            }
            _ => Need::True,
        },
        SpansetExpr::Op(op, l, r) => {
            let (l, r) = (spanset_need(l, groups), spanset_need(r, groups));
            match op {
                SpansetOp::Or => Need::Any(vec![l, r]),
                // The negated forms return right-hand spans that lack the relation.
                SpansetOp::NotChild
                | SpansetOp::NotParent
                | SpansetOp::NotDescendant
                | SpansetOp::NotAncestor
                | SpansetOp::NotSibling => r,
                _ => Need::All(vec![l, r]),
            }
        }
        SpansetExpr::Pipeline(p) => pipeline_need(p, groups),
    }
}

/// The filter as alternatives of conjunctions a matching span satisfies one of; `None` when
/// it cannot be narrowed (some alternative is unconstrained).
fn dnf(e: &FieldExpr) -> Option<Vec<Vec<SpanPredicate>>> {
    match e {
        FieldExpr::Binary(BinaryOp::And, l, r) => match (dnf(l), dnf(r)) {
            (None, x) | (x, None) => x,
            (Some(a), Some(b)) if a.len() * b.len() <= MAX_DNF => Some(
                a.iter()
                    .flat_map(|x| b.iter().map(move |y| [x.clone(), y.clone()].concat()))
                    .collect(),
            ),
            (Some(a), Some(_)) => Some(a),
        },
        FieldExpr::Binary(BinaryOp::Or, l, r) => {
            let mut a = dnf(l)?;
            a.extend(dnf(r)?);
            (a.len() <= MAX_DNF).then_some(a)
        }
        FieldExpr::Binary(op, l, r) => match (&**l, &**r) {
            (FieldExpr::Field(f), FieldExpr::Static(s)) => {
                predicate(f, *op, s).map(|p| vec![vec![p]])
            }
            (FieldExpr::Static(s), FieldExpr::Field(f)) if !op.is_regex() => {
                predicate(f, flip(*op), s).map(|p| vec![vec![p]])
            }
            _ => None,
        },
        _ => None,
    }
}

/// The filter as alternatives of conjunctions that hold for exactly the spans the engine
/// keeps (not a widening), or `None` when some comparison is not answered by a column the
/// way the engine answers it: only span intrinsics, `resource.service.name =` a named
/// service (the column says `unknown_service` where the engine sees nil), and `=` or `=~` on
/// the GenAI strings of `genai_exact` — exact only on the rows its `RowCheck` vouches for.
pub fn exact_dnf(e: &FieldExpr) -> Option<Vec<Vec<SpanPredicate>>> {
    let alts = match e {
        FieldExpr::Binary(BinaryOp::And, l, r) => {
            let (a, b) = (exact_dnf(l)?, exact_dnf(r)?);
            if a.len() * b.len() > MAX_DNF {
                return None;
            }
            a.iter()
                .flat_map(|x| b.iter().map(move |y| [x.clone(), y.clone()].concat()))
                .collect()
        }
        FieldExpr::Binary(BinaryOp::Or, l, r) => [exact_dnf(l)?, exact_dnf(r)?].concat(),
        FieldExpr::Binary(op, l, r) => {
            let (f, op, s) = match (&**l, &**r) {
                (FieldExpr::Field(f), FieldExpr::Static(s)) => (f, *op, s),
                (FieldExpr::Static(s), FieldExpr::Field(f)) if !op.is_regex() => (f, flip(*op), s),
                _ => return None,
            };
            if !exact_field(f, op, s) {
                return None;
            }
            vec![vec![predicate(f, op, s)?]]
        }
        _ => return None,
    };
    (alts.len() <= MAX_DNF).then_some(alts)
}

fn exact_field(f: &FieldRef, op: BinaryOp, s: &Static) -> bool {
    match f {
        FieldRef::Intrinsic { intrinsic, .. } => matches!(
            intrinsic,
            Intrinsic::Name | Intrinsic::Duration | Intrinsic::Status | Intrinsic::Kind
        ),
        FieldRef::Attribute(a) if a.parent => false,
        FieldRef::Attribute(a) if a.scope == AttributeScope::Span => {
            genai_exact::column(&a.name).is_some()
                && matches!(op, BinaryOp::Eq | BinaryOp::Regex)
                && matches!(s, Static::Str(_))
        }
        FieldRef::Attribute(a) => {
            a.scope == AttributeScope::Resource
                && a.name == "service.name"
                && op == BinaryOp::Eq
                && matches!(s, Static::Str(v) if v != "unknown_service")
        }
    }
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

fn cmp(op: BinaryOp) -> Option<CmpOp> {
    Some(match op {
        BinaryOp::Eq => CmpOp::Eq,
        BinaryOp::Ne => CmpOp::Ne,
        BinaryOp::Lt => CmpOp::Lt,
        BinaryOp::Le => CmpOp::Le,
        BinaryOp::Gt => CmpOp::Gt,
        BinaryOp::Ge => CmpOp::Ge,
        _ => return None,
    })
}

/// Column kinds a field maps to.
enum Target {
    Text(usize),
    Number(usize),
    Enum(usize),
}

/// The column of a field, when the column holds exactly what the query would see (or more).
fn target(f: &FieldRef) -> Option<Target> {
    use Target::*;
    match f {
        FieldRef::Intrinsic { intrinsic, .. } => match intrinsic {
            Intrinsic::Name => Some(Text(col::NAME)),
            Intrinsic::StatusMessage => Some(Text(col::STATUS_MESSAGE)),
            Intrinsic::Duration => Some(Number(col::DURATION)),
            Intrinsic::Status => Some(Enum(col::STATUS_CODE)),
            Intrinsic::Kind => Some(Enum(col::KIND)),
            _ => None,
        },
        FieldRef::Attribute(a) if a.parent => None,
        FieldRef::Attribute(a) => match (a.scope, a.name.as_str()) {
            (AttributeScope::Resource, "service.name") => Some(Text(col::SERVICE)),
            (AttributeScope::Span, name) => genai_column(name),
            _ => None,
        },
    }
}

/// The string column holding `f` exactly, if it has one (`name`, `statusMessage`,
/// `resource.service.name`, the canonical GenAI strings).
pub fn text_column(f: &FieldRef) -> Option<usize> {
    match target(f)? {
        Target::Text(c) => Some(c),
        _ => None,
    }
}

/// Canonical GenAI attribute names and their columns.
pub const GENAI_ATTRIBUTES: &[(&str, usize, bool)] = &[
    ("gen_ai.operation.name", off::OPERATION, false),
    ("gen_ai.provider.name", off::PROVIDER, false),
    ("gen_ai.request.model", off::REQUEST_MODEL, false),
    ("gen_ai.response.model", off::RESPONSE_MODEL, false),
    ("gen_ai.agent.name", off::AGENT_NAME, false),
    ("gen_ai.agent.id", off::AGENT_ID, false),
    ("gen_ai.tool.name", off::TOOL_NAME, false),
    ("gen_ai.tool.call.id", off::TOOL_CALL_ID, false),
    ("gen_ai.conversation.id", off::CONVERSATION_ID, false),
    ("gen_ai.usage.input_tokens", off::INPUT_TOKENS, true),
    ("gen_ai.usage.output_tokens", off::OUTPUT_TOKENS, true),
    ("gen_ai.cost_usd", off::COST_USD, true),
    ("gen_ai.usage.cost", off::COST_USD, true),
];

fn genai_column(name: &str) -> Option<Target> {
    let (_, offset, numeric) = GENAI_ATTRIBUTES.iter().find(|(n, _, _)| *n == name)?;
    let c = col::GENAI + offset;
    Some(if *numeric {
        Target::Number(c)
    } else {
        Target::Text(c)
    })
}

fn predicate(f: &FieldRef, op: BinaryOp, s: &Static) -> Option<SpanPredicate> {
    let (column, test) = match (target(f)?, s) {
        (Target::Text(c), Static::Str(v)) if op.is_regex() => {
            let re = sextant_traceql::eval::compile_regex(v).ok()?;
            let negate = op == BinaryOp::NotRegex;
            let m = move |x: &str| re.is_match(x) != negate;
            (c, Test::StrMatch(Arc::new(m)))
        }
        (Target::Text(c), Static::Str(v)) => (c, Test::Str(cmp(op)?, v.clone())),
        (Target::Number(c), Static::Int(i) | Static::Duration(i)) => (c, Test::Int(cmp(op)?, *i)),
        (Target::Number(c), Static::Float(x)) => (c, Test::Float(cmp(op)?, *x)),
        (Target::Enum(c), Static::Status(st)) if matches!(op, BinaryOp::Eq | BinaryOp::Ne) => {
            let code = match st {
                Status::Unset => 0,
                Status::Ok => 1,
                Status::Error => 2,
            };
            (c, Test::Int(cmp(op)?, code))
        }
        (Target::Enum(c), Static::Kind(k)) if matches!(op, BinaryOp::Eq | BinaryOp::Ne) => {
            (c, Test::Int(cmp(op)?, kind_code(*k)))
        }
        _ => return None,
    };
    Some(SpanPredicate { column, test })
}

fn kind_code(k: Kind) -> i64 {
    match k {
        Kind::Unspecified => 0,
        Kind::Internal => 1,
        Kind::Server => 2,
        Kind::Client => 3,
        Kind::Producer => 4,
        Kind::Consumer => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_query(q: &str) -> Query {
        sextant_traceql::parse(q).expect("valid query")
    }

    fn plan_of(q: &str) -> Plan {
        plan(&sextant_traceql::parse(q).expect("valid query"))
    }

    #[test]
    fn selective_filter_is_one_group_of_two() {
        let p = plan_of(r#"{ span.gen_ai.request.model = "gpt-4o" && duration > 2s }"#);
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.groups[0].len(), 2);
        assert_eq!(p.groups[0][0].column, col::GENAI + off::REQUEST_MODEL);
        assert!(p.need.holds(1) && !p.need.holds(0));
    }

    #[test]
    fn structural_needs_both_sides() {
        let p = plan_of(r#"{ name =~ "invoke_agent.*" } >> { span.gen_ai.tool.name = "search" }"#);
        assert_eq!(p.groups.len(), 2);
        assert!(p.need.holds(0b11));
        assert!(!p.need.holds(0b01) && !p.need.holds(0b10));
        let Test::StrMatch(m) = &p.groups[0][0].test else {
            panic!("regex becomes a matcher");
        };
        assert!(m("invoke_agent planner") && !m("chat"));
    }

    #[test]
    fn exact_filters_are_intrinsics_and_named_services() {
        let exact = |q: &str| {
            let Root::Pipeline(p) = plan_query(q).root else {
                panic!("search query");
            };
            match p.stages.first() {
                Some(Stage::Spanset(SpansetExpr::Filter(Some(f)))) => exact_dnf(f),
                _ => panic!("a filter"),
            }
        };
        let d = exact(r#"{ (status = error || kind = server) && duration > 2s }"#).expect("exact");
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|g| g.len() == 2));
        assert!(exact(r#"{ resource.service.name = "api" && name =~ "GET.*" }"#).is_some());
        let d = exact(r#"{ span.gen_ai.operation.name = "chat" }"#).expect("checked per row");
        assert_eq!(d[0][0].column, col::GENAI + off::OPERATION);
        for q in [
            r#"{ resource.service.name != "api" }"#,
            r#"{ resource.service.name = "unknown_service" }"#,
            r#"{ span.gen_ai.request.model != "gpt-4o" }"#,
            r#"{ span.gen_ai.provider.name = "openai" }"#,
            r#"{ .gen_ai.request.model = "gpt-4o" }"#,
            r#"{ statusMessage = "" }"#,
            "{ !(status = error) }",
            "{ .a = 1 || status = error }",
        ] {
            assert!(exact(q).is_none(), "{q}");
        }
    }

    #[test]
    fn what_cannot_be_pushed_widens() {
        for q in [
            "{ }",
            "{ .a = 1 }",
            r#"{ span.x = "a" || name = "b" }"#,
            "{ !(status = error) }",
            "{ span.gen_ai.request.model = nil }",
            r#"{ name = "a" } !>> { .b = 1 }"#,
        ] {
            assert!(plan_of(q).is_unconstrained(), "{q}");
        }
        let p = plan_of(r#"{ name = "a" || status = error } && { kind = server }"#);
        assert_eq!(p.groups.len(), 3);
        assert!(p.need.holds(0b101) && p.need.holds(0b110) && !p.need.holds(0b011));
        let p = plan_of(r#"{ .a = 1 && status = error } | count() > 2"#);
        assert!(p.need.holds(1) && !p.need.holds(0));
    }
}
