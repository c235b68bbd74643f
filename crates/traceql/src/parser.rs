//! Recursive-descent parser for TraceQL queries.
//!
//! Written by hand because no maintained, permissively licensed Rust TraceQL parser exists (the
//! `traceql-parser` crate is AGPL, and Tempo's own is a goyacc grammar). A hand-written parser
//! also gives the error positions and "expected ..." messages the API returns.
//!
//! Pipeline stages are parsed with one Pratt loop over four kinds of operand — spansets,
//! scalars (aggregates and numbers), scalar pipelines `( ... | count())`, and scalar filters —
//! because `>` and `<` mean "child"/"parent" between spansets and "greater"/"less" between
//! scalars, and only the operand on the left tells which.

mod field;
mod metrics;

use crate::ast::{
    Aggregate, AggregateFunc, BinaryOp, FieldRef, Hint, Pipeline, Query, Root, ScalarExpr,
    ScalarFilter, SpansetExpr, SpansetOp, Stage,
};
use crate::error::ParseError;
use crate::lexer::{self, Spanned, Tok};

/// Parses query text into a syntax tree without validating it; see [`crate::validate`].
pub fn parse_syntax(src: &str) -> Result<Query, ParseError> {
    let toks = lexer::lex(src)?;
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    let q = p.query()?;
    Ok(q)
}

/// Parses a lone attribute or intrinsic such as `resource.service.name`, `.x` or `span:kind`
/// (the tag of Tempo's `/api/v2/search/tag/<tag>/values`).
pub fn parse_field_ref(src: &str) -> Result<FieldRef, ParseError> {
    let mut p = Parser {
        toks: lexer::lex(src)?,
        i: 0,
        depth: 0,
    };
    let r = p.field_ref()?;
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected("end of query"));
    }
    Ok(r)
}

/// Deepest nesting of parentheses and operators accepted, so hostile input cannot exhaust the
/// stack of this recursive parser (or of the recursive passes over the tree after it).
const MAX_DEPTH: usize = 100;

pub(crate) struct Parser {
    toks: Vec<Spanned>,
    i: usize,
    pub(crate) depth: usize,
}

/// What a stage-level operand is, which decides what the operators after it mean.
enum Node {
    Spanset(SpansetExpr),
    Scalar(ScalarExpr),
    Filter(ScalarFilter),
}

/// A stage as parsed, before deciding whether a bare scalar is allowed where it stands.
enum Parsed {
    Stage(Stage),
    Bare(ScalarExpr),
}

fn structural(tok: &Tok) -> Option<SpansetOp> {
    Some(match tok {
        Tok::And => SpansetOp::And,
        Tok::Or => SpansetOp::Or,
        Tok::Gt => SpansetOp::Child,
        Tok::Lt => SpansetOp::Parent,
        Tok::Desc => SpansetOp::Descendant,
        Tok::Anc => SpansetOp::Ancestor,
        Tok::Tilde => SpansetOp::Sibling,
        Tok::NotChild => SpansetOp::NotChild,
        Tok::NotParent => SpansetOp::NotParent,
        Tok::NotDesc => SpansetOp::NotDescendant,
        Tok::NotAnc => SpansetOp::NotAncestor,
        Tok::NRe => SpansetOp::NotSibling,
        Tok::UnionChild => SpansetOp::UnionChild,
        Tok::UnionParent => SpansetOp::UnionParent,
        Tok::UnionDesc => SpansetOp::UnionDescendant,
        Tok::UnionAnc => SpansetOp::UnionAncestor,
        Tok::UnionSibling => SpansetOp::UnionSibling,
        _ => return None,
    })
}

/// Operators between scalars with their binding power.
fn scalar_infix(tok: &Tok) -> Option<(BinaryOp, u8)> {
    Some(match tok {
        Tok::Eq => (BinaryOp::Eq, 3),
        Tok::Ne => (BinaryOp::Ne, 3),
        Tok::Lt => (BinaryOp::Lt, 3),
        Tok::Le => (BinaryOp::Le, 3),
        Tok::Gt => (BinaryOp::Gt, 3),
        Tok::Ge => (BinaryOp::Ge, 3),
        Tok::Add => (BinaryOp::Add, 4),
        Tok::Sub => (BinaryOp::Sub, 4),
        Tok::Mul => (BinaryOp::Mul, 6),
        Tok::Div => (BinaryOp::Div, 6),
        Tok::Mod => (BinaryOp::Mod, 6),
        Tok::Pow => (BinaryOp::Pow, 7),
        _ => return None,
    })
}

/// Scalars built from parenthesised pipelines may only be combined with each other.
fn is_pipeline_family(e: &ScalarExpr) -> bool {
    match e {
        ScalarExpr::Pipeline(_) => true,
        ScalarExpr::Binary(_, l, _) => is_pipeline_family(l),
        ScalarExpr::Aggregate(_) | ScalarExpr::Static(_) => false,
    }
}

fn aggregate_func(word: &str) -> Option<AggregateFunc> {
    Some(match word {
        "count" => AggregateFunc::Count,
        "avg" => AggregateFunc::Avg,
        "min" => AggregateFunc::Min,
        "max" => AggregateFunc::Max,
        "sum" => AggregateFunc::Sum,
        _ => return None,
    })
}

impl Parser {
    pub(crate) fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    pub(crate) fn peek_at(&self, n: usize) -> &Tok {
        let last = self.toks.len().saturating_sub(1);
        self.toks
            .get((self.i + n).min(last))
            .map_or(&Tok::Eof, |t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(0, |t| t.pos)
    }

    pub(crate) fn bump(&mut self) {
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
    }

    pub(crate) fn unexpected(&self, expected: &str) -> ParseError {
        ParseError::new(self.pos(), expected, self.peek().describe())
    }

    pub(crate) fn expect(&mut self, tok: &Tok) -> Result<(), ParseError> {
        if self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(&tok.describe()))
        }
    }

    fn is_word(&self, n: usize, word: &str) -> bool {
        matches!(self.peek_at(n), Tok::Ident(w) if w == word)
    }

    fn query(&mut self) -> Result<Query, ParseError> {
        let root = self.root()?;
        let hints = if self.is_word(0, "with") {
            self.hints()?
        } else {
            Vec::new()
        };
        if self.peek() != &Tok::Eof {
            return Err(self.unexpected("\"|\" or end of query"));
        }
        Ok(Query { root, hints })
    }

    /// The top-level pipeline, which may end in a metrics function.
    fn root(&mut self) -> Result<Root, ParseError> {
        let mut stages = Vec::new();
        loop {
            if !stages.is_empty() && self.is_metrics_function() {
                let pipeline = Pipeline { stages };
                return self.metrics(pipeline).map(Root::Metrics);
            }
            let first = stages.is_empty();
            match self.stage(first)? {
                Parsed::Stage(s) => stages.push(s),
                // Sextant extension: `... | avg(x)` as the last stage (see EXTENSIONS.md).
                Parsed::Bare(ScalarExpr::Aggregate(a))
                    if a.func != AggregateFunc::Count && !first && self.peek() != &Tok::Pipe =>
                {
                    stages.push(Stage::Aggregate(a));
                }
                Parsed::Bare(_) => return Err(self.unexpected("a comparison operator")),
            }
            if self.peek() != &Tok::Pipe {
                return Ok(Root::Pipeline(Pipeline { stages }));
            }
            self.bump();
        }
    }

    /// A pipeline inside parentheses; it may end in a bare aggregate (a scalar pipeline).
    fn inner_pipeline(&mut self) -> Result<Node, ParseError> {
        let mut stages = Vec::new();
        loop {
            let first = stages.is_empty();
            match self.stage(first)? {
                Parsed::Stage(s) => stages.push(s),
                Parsed::Bare(e) if first && self.peek() != &Tok::Pipe => {
                    return Ok(Node::Scalar(e));
                }
                Parsed::Bare(ScalarExpr::Aggregate(a)) if self.peek() != &Tok::Pipe => {
                    stages.push(Stage::Aggregate(a));
                    return Ok(Node::Scalar(ScalarExpr::Pipeline(Box::new(Pipeline {
                        stages,
                    }))));
                }
                Parsed::Bare(_) => return Err(self.unexpected("a comparison operator")),
            }
            if self.peek() != &Tok::Pipe {
                break;
            }
            self.bump();
        }
        if stages.len() == 1
            && let Some(Stage::Spanset(_)) = stages.first()
            && let Some(Stage::Spanset(s)) = stages.pop()
        {
            return Ok(Node::Spanset(s));
        }
        Ok(Node::Spanset(SpansetExpr::Pipeline(Box::new(Pipeline {
            stages,
        }))))
    }

    fn stage(&mut self, first: bool) -> Result<Parsed, ParseError> {
        if self.peek_at(1) == &Tok::LParen {
            if self.is_word(0, "by") {
                self.bump();
                self.bump();
                let e = self.field_expr(0)?;
                self.expect(&Tok::RParen)?;
                return Ok(Parsed::Stage(Stage::By(e)));
            }
            if self.is_word(0, "select") {
                self.bump();
                self.bump();
                let fields = self.field_ref_list()?;
                self.expect(&Tok::RParen)?;
                return Ok(Parsed::Stage(Stage::Select(fields)));
            }
            if self.is_word(0, "coalesce") && !first {
                self.bump();
                self.bump();
                self.expect(&Tok::RParen)?;
                return Ok(Parsed::Stage(Stage::Coalesce));
            }
        }
        Ok(match self.stage_expr(0)? {
            Node::Spanset(s) => Parsed::Stage(Stage::Spanset(s)),
            Node::Filter(f) => Parsed::Stage(Stage::ScalarFilter(f)),
            Node::Scalar(e) => Parsed::Bare(e),
        })
    }

    /// Counts one level of nesting; fails past [`MAX_DEPTH`].
    pub(crate) fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.unexpected("at most 100 levels of nesting"));
        }
        Ok(())
    }

    fn stage_expr(&mut self, min_bp: u8) -> Result<Node, ParseError> {
        self.enter()?;
        let r = self.stage_expr_inner(min_bp);
        self.depth -= 1;
        r
    }

    fn stage_expr_inner(&mut self, min_bp: u8) -> Result<Node, ParseError> {
        let mut lhs = self.stage_primary()?;
        loop {
            lhs = match lhs {
                Node::Spanset(l) => {
                    let Some(op) = structural(self.peek()) else {
                        return Ok(Node::Spanset(l));
                    };
                    let bp = if op.is_logical() { 1 } else { 3 };
                    if bp < min_bp {
                        return Ok(Node::Spanset(l));
                    }
                    self.bump();
                    let at = self.pos();
                    match self.stage_expr(bp + 1)? {
                        Node::Spanset(r) => {
                            Node::Spanset(SpansetExpr::Op(op, Box::new(l), Box::new(r)))
                        }
                        _ => return Err(self.mismatch(at, "a spanset expression")),
                    }
                }
                Node::Scalar(l) => {
                    let Some((op, bp)) = scalar_infix(self.peek()) else {
                        return Ok(Node::Scalar(l));
                    };
                    if bp < min_bp {
                        return Ok(Node::Scalar(l));
                    }
                    self.bump();
                    let at = self.pos();
                    let next = if op == BinaryOp::Pow { bp } else { bp + 1 };
                    let Node::Scalar(r) = self.stage_expr(next)? else {
                        return Err(self.mismatch(at, "a scalar expression"));
                    };
                    self.combine_scalars(op, l, r, at)?
                }
                Node::Filter(f) => return Ok(Node::Filter(f)),
            };
        }
    }

    fn combine_scalars(
        &self,
        op: BinaryOp,
        l: ScalarExpr,
        r: ScalarExpr,
        at: usize,
    ) -> Result<Node, ParseError> {
        let (lp, rp) = (is_pipeline_family(&l), is_pipeline_family(&r));
        if op.is_comparison() {
            // `(pipeline) op (pipeline)` or `(pipeline) op number`; otherwise both plain scalars.
            let ok = if lp {
                rp || matches!(r, ScalarExpr::Static(_))
            } else {
                !rp
            };
            if !ok {
                return Err(self.mismatch(at, "a number"));
            }
            return Ok(Node::Filter(ScalarFilter { op, lhs: l, rhs: r }));
        }
        if lp != rp {
            return Err(self.mismatch(at, "a scalar of the same kind"));
        }
        Ok(Node::Scalar(ScalarExpr::Binary(
            op,
            Box::new(l),
            Box::new(r),
        )))
    }

    /// An error pointing back at the start of an operand that has the wrong kind.
    fn mismatch(&self, at: usize, expected: &str) -> ParseError {
        let found = self
            .toks
            .iter()
            .find(|t| t.pos == at)
            .map_or_else(|| "end of query".to_string(), |t| t.tok.describe());
        ParseError::new(at, expected, found)
    }

    fn stage_primary(&mut self) -> Result<Node, ParseError> {
        match self.peek().clone() {
            Tok::LBrace => {
                self.bump();
                if self.peek() == &Tok::RBrace {
                    self.bump();
                    return Ok(Node::Spanset(SpansetExpr::Filter(None)));
                }
                let e = self.field_expr(0)?;
                self.expect(&Tok::RBrace)?;
                Ok(Node::Spanset(SpansetExpr::Filter(Some(e))))
            }
            Tok::LParen => {
                self.bump();
                let node = self.inner_pipeline()?;
                self.expect(&Tok::RParen)?;
                Ok(node)
            }
            Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) | Tok::Sub => {
                Ok(Node::Scalar(ScalarExpr::Static(self.signed_number()?)))
            }
            Tok::Ident(w) if self.peek_at(1) == &Tok::LParen => match aggregate_func(&w) {
                Some(func) => self
                    .aggregate(func)
                    .map(|a| Node::Scalar(ScalarExpr::Aggregate(a))),
                None => Err(self.unexpected("a spanset expression")),
            },
            _ => Err(self.unexpected("a spanset expression")),
        }
    }

    fn aggregate(&mut self, func: AggregateFunc) -> Result<Aggregate, ParseError> {
        self.bump();
        self.bump();
        let arg = if func == AggregateFunc::Count {
            None
        } else {
            Some(self.field_expr(0)?)
        };
        self.expect(&Tok::RParen)?;
        Ok(Aggregate { func, arg })
    }

    /// `with (name = value, ...)`.
    fn hints(&mut self) -> Result<Vec<Hint>, ParseError> {
        self.bump();
        self.expect(&Tok::LParen)?;
        let mut hints = Vec::new();
        loop {
            let Tok::Ident(name) = self.peek().clone() else {
                return Err(self.unexpected("a hint name"));
            };
            self.bump();
            self.expect(&Tok::Eq)?;
            let value = match self.peek().clone() {
                Tok::Str(s) => {
                    self.bump();
                    crate::ast::Static::Str(s)
                }
                Tok::Ident(w) if w == "true" || w == "false" => {
                    self.bump();
                    crate::ast::Static::Bool(w == "true")
                }
                _ => self.signed_number()?,
            };
            hints.push(Hint { name, value });
            if self.peek() != &Tok::Comma {
                break;
            }
            self.bump();
        }
        self.expect(&Tok::RParen)?;
        Ok(hints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{FieldExpr, Static};

    #[test]
    fn error_names_position_and_expectation() {
        let e = parse_syntax("{ .a = 1 } | by(.a").expect_err("unclosed");
        assert_eq!(e.to_string(), "expected \")\" at 18, found end of query");
        let e = parse_syntax("{ .a = 1 (").expect_err("bad");
        assert_eq!(e.to_string(), "expected \"}\" at 9, found \"(\"");
    }

    #[test]
    fn logical_spanset_ops_bind_looser_than_structural() {
        let q = parse_syntax("{ .a } && { .b } >> { .c }").expect("parses");
        let Root::Pipeline(p) = q.root else { panic!() };
        let Stage::Spanset(SpansetExpr::Op(SpansetOp::And, _, rhs)) = &p.stages[0] else {
            panic!("{p:?}")
        };
        assert!(matches!(
            **rhs,
            SpansetExpr::Op(SpansetOp::Descendant, _, _)
        ));
    }

    #[test]
    fn negative_literal_is_one_node() {
        let q = parse_syntax("{ .a > -1 }").expect("parses");
        let Root::Pipeline(p) = q.root else { panic!() };
        let Stage::Spanset(SpansetExpr::Filter(Some(FieldExpr::Binary(_, _, r)))) = &p.stages[0]
        else {
            panic!()
        };
        assert_eq!(**r, FieldExpr::Static(Static::Int(-1)));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{{ {}.a{} }}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse_syntax(&deep).is_err());
        let deep = format!("{}{{ }}{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse_syntax(&deep).is_err());
        let deep = format!("{{ {}1 }}", "-".repeat(100_000));
        assert!(parse_syntax(&deep).is_err());
        let ok = format!("{{ {}.a{} }}", "(".repeat(40), ")".repeat(40));
        assert!(parse_syntax(&ok).is_ok());
    }

    #[test]
    fn lone_field_refs_parse() {
        assert!(parse_field_ref("resource.service.name").is_ok());
        assert!(parse_field_ref("span:kind").is_ok());
        assert!(parse_field_ref("status").is_ok());
        assert!(parse_field_ref("bogus").is_err());
        assert!(parse_field_ref(".a .b").is_err());
    }

    #[test]
    fn bare_aggregate_extension_only_at_the_end() {
        assert!(parse_syntax("{ } | avg(span.cost)").is_ok());
        assert!(parse_syntax("{ } | avg(span.cost) | { }").is_err());
        assert!(parse_syntax("{ } | count()").is_err());
        assert!(parse_syntax("avg(span.cost)").is_err());
    }
}
