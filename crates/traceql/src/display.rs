//! Prints a syntax tree as query text that parses back to the same tree. Every nested binary
//! expression is parenthesised, since grouping parentheses leave no trace in the tree.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::{
    Aggregate, Attribute, AttributeScope, FieldExpr, FieldRef, Hint, Kind, MetricsFunc,
    MetricsQuery, Pipeline, Query, Root, ScalarExpr, ScalarFilter, SecondStage, SpansetExpr, Stage,
    Static, Status,
};

fn join<T: Display>(items: &[T], sep: &str) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.root {
            Root::Pipeline(p) => write!(f, "{p}")?,
            Root::Metrics(m) => write!(f, "{m}")?,
        }
        if !self.hints.is_empty() {
            write!(f, " with ({})", join(&self.hints, ", "))?;
        }
        Ok(())
    }
}

impl Display for Hint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

impl Display for Pipeline {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&join(&self.stages, " | "))
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Spanset(s) => write!(f, "{s}"),
            Stage::ScalarFilter(s) => write!(f, "{s}"),
            Stage::By(e) => write!(f, "by({e})"),
            Stage::Select(fields) => write!(f, "select({})", join(fields, ", ")),
            Stage::Coalesce => f.write_str("coalesce()"),
            Stage::Aggregate(a) => write!(f, "{a}"),
        }
    }
}

impl Display for SpansetExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SpansetExpr::Filter(None) => f.write_str("{ }"),
            SpansetExpr::Filter(Some(e)) => write!(f, "{{ {e} }}"),
            SpansetExpr::Op(op, l, r) => {
                let side = |s: &SpansetExpr| match s {
                    SpansetExpr::Op(..) => format!("({s})"),
                    _ => s.to_string(),
                };
                write!(f, "{} {} {}", side(l), op.symbol(), side(r))
            }
            SpansetExpr::Pipeline(p) => write!(f, "({p})"),
        }
    }
}

impl Display for ScalarFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.lhs, self.op.symbol(), self.rhs)
    }
}

impl Display for ScalarExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ScalarExpr::Aggregate(a) => write!(f, "{a}"),
            ScalarExpr::Static(s) => write!(f, "{s}"),
            ScalarExpr::Binary(op, l, r) => {
                let side = |s: &ScalarExpr| match s {
                    ScalarExpr::Binary(..) => format!("({s})"),
                    _ => s.to_string(),
                };
                write!(f, "{} {} {}", side(l), op.symbol(), side(r))
            }
            ScalarExpr::Pipeline(p) => write!(f, "({p})"),
        }
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.arg {
            Some(e) => write!(f, "{}({e})", self.func.name()),
            None => write!(f, "{}()", self.func.name()),
        }
    }
}

impl Display for FieldExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let operand = |e: &FieldExpr| match e {
            FieldExpr::Binary(..) | FieldExpr::Neg(_) | FieldExpr::Not(_) => format!("({e})"),
            FieldExpr::Static(s) if s.is_negative() => format!("({s})"),
            _ => e.to_string(),
        };
        match self {
            FieldExpr::Static(s) => write!(f, "{s}"),
            FieldExpr::Field(r) => write!(f, "{r}"),
            FieldExpr::Binary(op, l, r) => {
                write!(f, "{} {} {}", operand(l), op.symbol(), operand(r))
            }
            FieldExpr::Neg(e) => write!(f, "-{}", paren_unless_field(e)),
            FieldExpr::Not(e) => write!(f, "!{}", paren_unless_field(e)),
        }
    }
}

fn paren_unless_field(e: &FieldExpr) -> String {
    match e {
        FieldExpr::Field(_) => e.to_string(),
        _ => format!("({e})"),
    }
}

impl Static {
    fn is_negative(&self) -> bool {
        match self {
            Static::Int(i) => *i < 0 && *i != i64::MIN,
            Static::Float(x) => x.is_sign_negative(),
            Static::Duration(d) => *d < 0,
            _ => false,
        }
    }
}

impl Display for Static {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Static::Nil => f.write_str("nil"),
            Static::Int(i64::MIN) => f.write_str("minInt"),
            Static::Int(i64::MAX) => f.write_str("maxInt"),
            Static::Int(i) => write!(f, "{i}"),
            Static::Float(x) => write!(f, "{x:?}"),
            Static::Str(s) => write_string(f, s),
            Static::Bool(b) => write!(f, "{b}"),
            Static::Duration(d) => f.write_str(&format_duration(*d)),
            Static::Status(s) => f.write_str(match s {
                Status::Ok => "ok",
                Status::Error => "error",
                Status::Unset => "unset",
            }),
            Static::Kind(k) => f.write_str(k.name()),
        }
    }
}

impl Kind {
    /// The keyword for the kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Unspecified => "unspecified",
            Kind::Internal => "internal",
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer => "producer",
            Kind::Consumer => "consumer",
        }
    }
}

fn write_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\U{:08x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// A duration in nanoseconds as `1h2m3s4ms5us6ns` (`0s` for zero).
pub fn format_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if ns < 0 {
        out.push('-');
    }
    let mut rest = ns.unsigned_abs();
    for (unit, size) in [
        ("h", 3_600_000_000_000u64),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

impl Display for FieldRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FieldRef::Attribute(a) => write!(f, "{a}"),
            FieldRef::Intrinsic { intrinsic, colon } => f.write_str(&intrinsic.spelling(*colon)),
        }
    }
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.parent {
            f.write_str("parent")?;
            if self.scope == AttributeScope::None {
                f.write_char('.')?;
            } else {
                f.write_char('.')?;
                f.write_str(self.scope.prefix())?;
            }
        } else {
            f.write_str(self.scope.prefix())?;
        }
        let plain = self
            .name
            .chars()
            .all(|c| !(c.is_whitespace() || "{}()=~!<>&|^,\"\\".contains(c)))
            && !self.name.starts_with(|c: char| c.is_ascii_digit());
        if plain {
            return f.write_str(&self.name);
        }
        f.write_char('"')?;
        for c in self.name.chars() {
            if c == '"' || c == '\\' {
                f.write_char('\\')?;
            }
            f.write_char(c)?;
        }
        f.write_char('"')
    }
}

impl Display for MetricsQuery {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} | {}", self.pipeline, self.func)?;
        if !self.by.is_empty() {
            write!(f, " by ({})", join(&self.by, ", "))?;
        }
        for s in &self.second {
            match s {
                SecondStage::TopK(k) => write!(f, " | topk({k})")?,
                SecondStage::BottomK(k) => write!(f, " | bottomk({k})")?,
                SecondStage::Filter(op, v) => write!(f, " {} {v}", op.symbol())?,
            }
        }
        Ok(())
    }
}

impl Display for MetricsFunc {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            MetricsFunc::Rate | MetricsFunc::CountOverTime => write!(f, "{name}()"),
            MetricsFunc::MinOverTime(r)
            | MetricsFunc::MaxOverTime(r)
            | MetricsFunc::SumOverTime(r)
            | MetricsFunc::AvgOverTime(r)
            | MetricsFunc::HistogramOverTime(r) => write!(f, "{name}({r})"),
            MetricsFunc::QuantileOverTime(r, qs) => {
                let qs: Vec<String> = qs.iter().map(|q| format!("{q:?}")).collect();
                write!(f, "{name}({r}, {})", qs.join(", "))
            }
            MetricsFunc::Compare {
                selection,
                top,
                window,
            } => {
                write!(f, "{name}({selection}")?;
                if let Some(t) = top {
                    write!(f, ", {t}")?;
                }
                if let Some((s, e)) = window {
                    write!(f, ", {s}, {e}")?;
                }
                f.write_char(')')
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_canonically() {
        assert_eq!(format_duration(3_723_004_005_006), "1h2m3s4ms5us6ns");
        assert_eq!(format_duration(-1_500_000_000), "-1s500ms");
        assert_eq!(format_duration(0), "0s");
    }
}
