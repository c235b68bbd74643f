//! The metrics part of a query: `| rate() by (...) | topk(5) > 10`.

use super::Parser;
use crate::ast::{BinaryOp, MetricsFunc, MetricsQuery, Pipeline, SecondStage, SpansetExpr, Static};
use crate::error::ParseError;
use crate::lexer::Tok;

const FUNCTIONS: &[&str] = &[
    "rate",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "avg_over_time",
    "histogram_over_time",
    "quantile_over_time",
    "compare",
];

fn cmp_op(tok: &Tok) -> Option<BinaryOp> {
    Some(match tok {
        Tok::Eq => BinaryOp::Eq,
        Tok::Ne => BinaryOp::Ne,
        Tok::Lt => BinaryOp::Lt,
        Tok::Le => BinaryOp::Le,
        Tok::Gt => BinaryOp::Gt,
        Tok::Ge => BinaryOp::Ge,
        _ => return None,
    })
}

impl Parser {
    pub(crate) fn is_metrics_function(&self) -> bool {
        matches!(self.peek(), Tok::Ident(w) if FUNCTIONS.contains(&w.as_str()))
            && self.peek_at(1) == &Tok::LParen
    }

    /// The function, its `by`, and the second stages; `pipeline` is what came before.
    pub(crate) fn metrics(&mut self, pipeline: Pipeline) -> Result<MetricsQuery, ParseError> {
        let Tok::Ident(name) = self.peek().clone() else {
            return Err(self.unexpected("a metrics function"));
        };
        self.bump();
        self.bump();
        let func = self.metrics_args(&name)?;
        self.expect(&Tok::RParen)?;
        let mut by = Vec::new();
        if matches!(self.peek(), Tok::Ident(w) if w == "by") {
            self.bump();
            self.expect(&Tok::LParen)?;
            by = self.field_ref_list()?;
            self.expect(&Tok::RParen)?;
        }
        let second = self.second_stages()?;
        Ok(MetricsQuery {
            pipeline,
            func,
            by,
            second,
        })
    }

    fn metrics_args(&mut self, name: &str) -> Result<MetricsFunc, ParseError> {
        Ok(match name {
            "rate" => MetricsFunc::Rate,
            "count_over_time" => MetricsFunc::CountOverTime,
            "min_over_time" => MetricsFunc::MinOverTime(self.field_ref()?),
            "max_over_time" => MetricsFunc::MaxOverTime(self.field_ref()?),
            "sum_over_time" => MetricsFunc::SumOverTime(self.field_ref()?),
            "avg_over_time" => MetricsFunc::AvgOverTime(self.field_ref()?),
            "histogram_over_time" => MetricsFunc::HistogramOverTime(self.field_ref()?),
            "quantile_over_time" => {
                let field = self.field_ref()?;
                let mut qs = Vec::new();
                self.expect(&Tok::Comma)?;
                loop {
                    qs.push(match self.signed_number()? {
                        Static::Int(i) => i as f64,
                        Static::Float(f) => f,
                        _ => return Err(self.unexpected("a quantile")),
                    });
                    if self.peek() != &Tok::Comma {
                        break;
                    }
                    self.bump();
                }
                MetricsFunc::QuantileOverTime(field, qs)
            }
            _ => self.compare_args()?,
        })
    }

    /// `compare({filter} [, topN [, start, end]])`.
    fn compare_args(&mut self) -> Result<MetricsFunc, ParseError> {
        self.expect(&Tok::LBrace)?;
        let selection = if self.peek() == &Tok::RBrace {
            SpansetExpr::Filter(None)
        } else {
            SpansetExpr::Filter(Some(self.field_expr(0)?))
        };
        self.expect(&Tok::RBrace)?;
        let mut ints = Vec::new();
        while self.peek() == &Tok::Comma && ints.len() < 3 {
            self.bump();
            ints.push(self.int()?);
        }
        let (top, window) = match ints[..] {
            [] => (None, None),
            [t] => (Some(t), None),
            [t, s, e] => (Some(t), Some((s, e))),
            _ => return Err(self.unexpected("\",\"")),
        };
        Ok(MetricsFunc::Compare {
            selection,
            top,
            window,
        })
    }

    fn int(&mut self) -> Result<i64, ParseError> {
        let Tok::Int(i) = self.peek() else {
            return Err(self.unexpected("an integer"));
        };
        let i = *i;
        self.bump();
        Ok(i)
    }

    fn second_stages(&mut self) -> Result<Vec<SecondStage>, ParseError> {
        let mut out = Vec::new();
        loop {
            if let Some(op) = cmp_op(self.peek()) {
                self.bump();
                let value = self.signed_number()?;
                out.push(SecondStage::Filter(op, value));
                continue;
            }
            let is_k = |w: &str| w == "topk" || w == "bottomk";
            if self.peek() == &Tok::Pipe && matches!(self.peek_at(1), Tok::Ident(w) if is_k(w)) {
                self.bump();
                let top = matches!(self.peek(), Tok::Ident(w) if w == "topk");
                self.bump();
                self.expect(&Tok::LParen)?;
                let k = self.int()?;
                self.expect(&Tok::RParen)?;
                out.push(if top {
                    SecondStage::TopK(k)
                } else {
                    SecondStage::BottomK(k)
                });
                continue;
            }
            return Ok(out);
        }
    }
}
