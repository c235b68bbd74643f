//! Field expressions (what goes inside `{ }`, `by()` and aggregates), literals and field
//! references. A Pratt parser: precedence from lowest to highest is `&& ||`, comparisons and
//! regex, `+ -`, unary `! -`, `* / %`, `^` (right-associative).

use super::Parser;
use crate::ast::{Attribute, BinaryOp, FieldExpr, FieldRef, Intrinsic, Kind, Static, Status};
use crate::error::ParseError;
use crate::lexer::Tok;

/// Binding power of the unary operators: their operand takes `* / % ^` but not `+ -`.
const UNARY_BP: u8 = 5;

fn infix(tok: &Tok) -> Option<(BinaryOp, u8)> {
    let op = match tok {
        Tok::And => (BinaryOp::And, 1),
        Tok::Or => (BinaryOp::Or, 1),
        Tok::Eq => (BinaryOp::Eq, 2),
        Tok::Ne => (BinaryOp::Ne, 2),
        Tok::Lt => (BinaryOp::Lt, 2),
        Tok::Le => (BinaryOp::Le, 2),
        Tok::Gt => (BinaryOp::Gt, 2),
        Tok::Ge => (BinaryOp::Ge, 2),
        Tok::Re => (BinaryOp::Regex, 2),
        Tok::NRe => (BinaryOp::NotRegex, 2),
        Tok::Add => (BinaryOp::Add, 3),
        Tok::Sub => (BinaryOp::Sub, 3),
        Tok::Mul => (BinaryOp::Mul, 5),
        Tok::Div => (BinaryOp::Div, 5),
        Tok::Mod => (BinaryOp::Mod, 5),
        Tok::Pow => (BinaryOp::Pow, 6),
        _ => return None,
    };
    Some(op)
}

/// Keywords that are literals.
pub(crate) fn keyword_static(word: &str) -> Option<Static> {
    Some(match word {
        "true" => Static::Bool(true),
        "false" => Static::Bool(false),
        "nil" => Static::Nil,
        "ok" => Static::Status(Status::Ok),
        "error" => Static::Status(Status::Error),
        "unset" => Static::Status(Status::Unset),
        "unspecified" => Static::Kind(Kind::Unspecified),
        "internal" => Static::Kind(Kind::Internal),
        "server" => Static::Kind(Kind::Server),
        "client" => Static::Kind(Kind::Client),
        "producer" => Static::Kind(Kind::Producer),
        "consumer" => Static::Kind(Kind::Consumer),
        "minInt" => Static::Int(i64::MIN),
        "maxInt" => Static::Int(i64::MAX),
        _ => return None,
    })
}

/// `-x` of a numeric literal is folded into the literal, so `-1` is one node.
fn negate(e: FieldExpr) -> FieldExpr {
    match e {
        FieldExpr::Static(Static::Int(i)) => match i.checked_neg() {
            Some(n) => FieldExpr::Static(Static::Int(n)),
            None => FieldExpr::Neg(Box::new(FieldExpr::Static(Static::Int(i)))),
        },
        FieldExpr::Static(Static::Float(f)) => FieldExpr::Static(Static::Float(-f)),
        FieldExpr::Static(Static::Duration(d)) => match d.checked_neg() {
            Some(n) => FieldExpr::Static(Static::Duration(n)),
            None => FieldExpr::Neg(Box::new(FieldExpr::Static(Static::Duration(d)))),
        },
        other => FieldExpr::Neg(Box::new(other)),
    }
}

impl Parser {
    /// A field expression whose operators bind at least as tightly as `min_bp`.
    pub(crate) fn field_expr(&mut self, min_bp: u8) -> Result<FieldExpr, ParseError> {
        self.enter()?;
        let r = self.field_expr_inner(min_bp);
        self.depth -= 1;
        r
    }

    fn field_expr_inner(&mut self, min_bp: u8) -> Result<FieldExpr, ParseError> {
        let mut lhs = self.field_primary()?;
        while let Some((op, bp)) = infix(self.peek()) {
            if bp < min_bp {
                break;
            }
            self.bump();
            let next = if op == BinaryOp::Pow { bp } else { bp + 1 };
            let rhs = self.field_expr(next)?;
            lhs = FieldExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn field_primary(&mut self) -> Result<FieldExpr, ParseError> {
        match self.peek().clone() {
            Tok::LParen => {
                self.bump();
                let e = self.field_expr(0)?;
                self.expect(&Tok::RParen)?;
                Ok(e)
            }
            Tok::Not => {
                self.bump();
                Ok(FieldExpr::Not(Box::new(self.field_expr(UNARY_BP)?)))
            }
            Tok::Sub => {
                self.bump();
                Ok(negate(self.field_expr(UNARY_BP)?))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(FieldExpr::Static(Static::Str(s)))
            }
            Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) => Ok(FieldExpr::Static(self.number()?)),
            Tok::Ident(w) => {
                if let Some(s) = keyword_static(&w) {
                    self.bump();
                    return Ok(FieldExpr::Static(s));
                }
                self.field_ref().map(FieldExpr::Field)
            }
            Tok::Colon(..) | Tok::Attr(_) => self.field_ref().map(FieldExpr::Field),
            _ => Err(self.unexpected("a field expression")),
        }
    }

    /// An unsigned number or duration literal.
    pub(crate) fn number(&mut self) -> Result<Static, ParseError> {
        let s = match self.peek() {
            Tok::Int(i) => Static::Int(*i),
            Tok::Float(f) => Static::Float(*f),
            Tok::Duration(d) => Static::Duration(*d),
            _ => return Err(self.unexpected("a number")),
        };
        self.bump();
        Ok(s)
    }

    /// A number or duration with an optional leading `-`.
    pub(crate) fn signed_number(&mut self) -> Result<Static, ParseError> {
        if self.peek() != &Tok::Sub {
            return self.number();
        }
        self.bump();
        Ok(match self.number()? {
            Static::Int(i) => Static::Int(-i),
            Static::Float(f) => Static::Float(-f),
            Static::Duration(d) => Static::Duration(-d),
            other => other,
        })
    }

    /// An attribute or intrinsic.
    pub(crate) fn field_ref(&mut self) -> Result<FieldRef, ParseError> {
        let r = match self.peek() {
            Tok::Attr(a) => FieldRef::Attribute(Attribute::clone(a)),
            Tok::Colon(scope, name) => match Intrinsic::from_colon(scope, name) {
                Some(intrinsic) => FieldRef::Intrinsic {
                    intrinsic,
                    colon: true,
                },
                None => return Err(self.unexpected("an intrinsic")),
            },
            Tok::Ident(w) => match Intrinsic::from_unscoped(w) {
                Some(intrinsic) => FieldRef::Intrinsic {
                    intrinsic,
                    colon: false,
                },
                None => return Err(self.unexpected("an attribute or intrinsic")),
            },
            _ => return Err(self.unexpected("an attribute or intrinsic")),
        };
        self.bump();
        Ok(r)
    }

    /// `a, b, ...` up to (not including) `)`; at least one.
    pub(crate) fn field_ref_list(&mut self) -> Result<Vec<FieldRef>, ParseError> {
        let mut out = vec![self.field_ref()?];
        while self.peek() == &Tok::Comma {
            self.bump();
            out.push(self.field_ref()?);
        }
        Ok(out)
    }
}
