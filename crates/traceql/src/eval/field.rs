//! Per-span evaluation of field expressions: attribute lookup (with the fallback hook) and
//! intrinsics.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};

use super::Ctx;
use crate::ast::{Attribute, AttributeScope, BinaryOp, FieldExpr, FieldRef, Intrinsic, Static};
use crate::error::EvalError;
use crate::value::{Value, arith, compare, compare_nil, hex};

fn find(attrs: &[KeyValue], name: &str) -> Option<Value> {
    attrs
        .iter()
        .find(|kv| kv.key == name)
        .map(|kv| kv.value.as_ref().map_or(Value::Nil, Value::from_any))
}

impl Ctx<'_, '_> {
    /// The value of `e` for span `i`.
    pub(crate) fn field(&self, e: &FieldExpr, i: usize) -> Result<Value, EvalError> {
        match e {
            FieldExpr::Static(s) => Ok(Value::from_static(s)),
            FieldExpr::Field(r) => self.field_ref(r, i),
            FieldExpr::Neg(x) => Ok(match self.field(x, i)? {
                Value::Int(v) => v.checked_neg().map(Value::Int).ok_or(EvalError::Overflow)?,
                Value::Duration(v) => v
                    .checked_neg()
                    .map(Value::Duration)
                    .ok_or(EvalError::Overflow)?,
                Value::Float(v) => Value::Float(-v),
                _ => Value::Nil,
            }),
            FieldExpr::Not(x) => Ok(match self.field(x, i)? {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Nil,
            }),
            FieldExpr::Binary(op, l, r) => self.binary(*op, l, r, i),
        }
    }

    fn binary(
        &self,
        op: BinaryOp,
        l: &FieldExpr,
        r: &FieldExpr,
        i: usize,
    ) -> Result<Value, EvalError> {
        if let (FieldExpr::Field(f), FieldExpr::Static(Static::Str(lit))) = (l, r)
            && (op.is_comparison() || op.is_regex())
            && let Some(v) = self.str_field(f, i)
        {
            return Ok(Value::Bool(self.compare_str(op, v, lit)));
        }
        match op {
            BinaryOp::And => Ok(Value::Bool(
                self.field(l, i)?.is_true() && self.field(r, i)?.is_true(),
            )),
            BinaryOp::Or => Ok(Value::Bool(
                self.field(l, i)?.is_true() || self.field(r, i)?.is_true(),
            )),
            _ if op.is_arithmetic() => arith(op, &self.field(l, i)?, &self.field(r, i)?),
            _ if matches!(r, FieldExpr::Static(Static::Nil)) => {
                Ok(Value::Bool(compare_nil(op, &self.field(l, i)?)))
            }
            _ if matches!(l, FieldExpr::Static(Static::Nil)) => {
                Ok(Value::Bool(compare_nil(op, &self.field(r, i)?)))
            }
            _ => {
                let re = match r {
                    FieldExpr::Static(Static::Str(p)) if op.is_regex() => {
                        self.engine.regexes.get(p)
                    }
                    _ => None,
                };
                Ok(Value::Bool(compare(
                    op,
                    &self.field(l, i)?,
                    &self.field(r, i)?,
                    re,
                )))
            }
        }
    }

    /// Fast path for the most common filter, `field op "literal"`: the field's string, borrowed,
    /// when the span has it as a string. `None` sends the caller down the general path.
    fn str_field(&self, r: &FieldRef, i: usize) -> Option<&str> {
        let s = &self.view.spans[i];
        let attrs = match r {
            FieldRef::Intrinsic {
                intrinsic: Intrinsic::Name,
                ..
            } => return Some(&s.span.name),
            FieldRef::Attribute(a) if !a.parent => match a.scope {
                AttributeScope::Span | AttributeScope::None => &s.span.attributes,
                AttributeScope::Resource => &s.resource.attributes,
                _ => return None,
            },
            _ => return None,
        };
        let FieldRef::Attribute(a) = r else {
            return None;
        };
        let kv = attrs.iter().find(|kv| kv.key == a.name)?;
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(v) => Some(v),
            _ => None,
        }
    }

    fn compare_str(&self, op: BinaryOp, v: &str, lit: &str) -> bool {
        match op {
            BinaryOp::Eq => v == lit,
            BinaryOp::Ne => v != lit,
            BinaryOp::Lt => v < lit,
            BinaryOp::Le => v <= lit,
            BinaryOp::Gt => v > lit,
            BinaryOp::Ge => v >= lit,
            BinaryOp::Regex => self
                .engine
                .regexes
                .get(lit)
                .is_some_and(|re| re.is_match(v)),
            BinaryOp::NotRegex => self
                .engine
                .regexes
                .get(lit)
                .is_some_and(|re| !re.is_match(v)),
            _ => false,
        }
    }

    pub(crate) fn field_ref(&self, r: &FieldRef, i: usize) -> Result<Value, EvalError> {
        match r {
            FieldRef::Attribute(a) => self.attribute(a, i),
            FieldRef::Intrinsic { intrinsic, .. } => self.intrinsic(*intrinsic, i),
        }
    }

    fn attribute(&self, a: &Attribute, i: usize) -> Result<Value, EvalError> {
        if a.parent {
            return Err(EvalError::Unsupported("parent".into()));
        }
        let s = &self.view.spans[i];
        let name = a.name.as_str();
        let span_attr = || {
            find(&s.span.attributes, name)
                .or_else(|| self.engine.fallback.fallback(s.span, s.resource, name))
        };
        let resource = || find(&s.resource.attributes, name);
        let event = || {
            let vals: Vec<Value> = s
                .span
                .events
                .iter()
                .filter_map(|e| find(&e.attributes, name))
                .collect();
            (!vals.is_empty()).then(|| Value::collect(vals))
        };
        let link = || {
            let vals: Vec<Value> = s
                .span
                .links
                .iter()
                .filter_map(|l| find(&l.attributes, name))
                .collect();
            (!vals.is_empty()).then(|| Value::collect(vals))
        };
        let scope = || s.scope.and_then(|sc| find(&sc.attributes, name));
        let v = match a.scope {
            AttributeScope::Span => span_attr(),
            AttributeScope::Resource => resource(),
            AttributeScope::Event => event(),
            AttributeScope::Link => link(),
            AttributeScope::Instrumentation => scope(),
            AttributeScope::None => span_attr()
                .or_else(resource)
                .or_else(event)
                .or_else(link)
                .or_else(scope),
        };
        Ok(v.unwrap_or(Value::Nil))
    }

    fn intrinsic(&self, which: Intrinsic, i: usize) -> Result<Value, EvalError> {
        let view = self.view;
        let s = &view.spans[i];
        let span = s.span;
        let opt_str = |o: Option<&str>| o.map_or(Value::Nil, |v| Value::Str(v.to_string()));
        Ok(match which {
            Intrinsic::Duration => {
                Value::Duration(i64::try_from(s.duration_nanos()).unwrap_or(i64::MAX))
            }
            Intrinsic::Name => Value::Str(span.name.clone()),
            Intrinsic::Status => Value::Status(crate::value::status_of_code(
                span.status.as_ref().map_or(0, |st| st.code),
            )),
            Intrinsic::StatusMessage => Value::Str(
                span.status
                    .as_ref()
                    .map(|st| st.message.clone())
                    .unwrap_or_default(),
            ),
            Intrinsic::Kind => Value::Kind(crate::value::kind_of_code(span.kind)),
            Intrinsic::Parent => return Err(EvalError::Unsupported("parent".into())),
            Intrinsic::RootName => opt_str(view.root_name()),
            Intrinsic::RootServiceName => opt_str(view.root_service_name()),
            Intrinsic::TraceDuration => {
                Value::Duration(i64::try_from(view.duration_nanos()).unwrap_or(i64::MAX))
            }
            Intrinsic::TraceId => Value::Str(hex(&span.trace_id)),
            Intrinsic::SpanId => Value::Str(hex(&span.span_id)),
            Intrinsic::SpanParentId if span.parent_span_id.is_empty() => Value::Nil,
            Intrinsic::SpanParentId => Value::Str(hex(&span.parent_span_id)),
            Intrinsic::ChildCount => Value::Int(s.child_count),
            Intrinsic::NestedSetLeft => Value::Int(s.left),
            Intrinsic::NestedSetRight => Value::Int(s.right),
            Intrinsic::NestedSetParent => Value::Int(s.parent.map_or(-1, |p| view.spans[p].left)),
            Intrinsic::EventName => Value::collect(
                span.events
                    .iter()
                    .map(|e| Value::Str(e.name.clone()))
                    .collect(),
            ),
            Intrinsic::EventTimeSinceStart => Value::collect(
                span.events
                    .iter()
                    .map(|e| {
                        let d = e.time_unix_nano as i128 - span.start_time_unix_nano as i128;
                        Value::Duration(i64::try_from(d).unwrap_or(0))
                    })
                    .collect(),
            ),
            Intrinsic::LinkTraceId => Value::collect(
                span.links
                    .iter()
                    .map(|l| Value::Str(hex(&l.trace_id)))
                    .collect(),
            ),
            Intrinsic::LinkSpanId => Value::collect(
                span.links
                    .iter()
                    .map(|l| Value::Str(hex(&l.span_id)))
                    .collect(),
            ),
            Intrinsic::InstrumentationName => opt_str(s.scope.map(|sc| sc.name.as_str())),
            Intrinsic::InstrumentationVersion => opt_str(s.scope.map(|sc| sc.version.as_str())),
        })
    }
}
