//! `compare({selection}, topN, start, end)`: for every attribute value of the matching spans,
//! how many spans per interval fall inside the selection and how many outside (the baseline).
//!
//! Output, as Tempo emits it: per attribute, the top-N values of each side as series labelled
//! `__meta_type="baseline"|"selection"` plus the attribute; per attribute a total series
//! (`baseline_total`, `selection_total`) whose attribute label has no value; and a
//! `__meta_error="__too_many_values__"` series (no points) for attributes with more than N values.

use std::collections::HashMap;

use crate::ast::{FieldExpr, FieldRef, Intrinsic, SpansetExpr};
use crate::error::EvalError;
use crate::eval::Engine;
use crate::trace::TraceView;
use crate::value::Value;

use super::Series;

/// Counts per interval for one side (baseline or selection).
#[derive(Debug, Default)]
struct Side {
    /// attribute -> value key -> (value, counts).
    values: HashMap<String, HashMap<String, (Value, Vec<f64>)>>,
    /// attribute -> counts.
    totals: HashMap<String, Vec<f64>>,
}

/// Accumulates a `compare()` query.
#[derive(Debug)]
pub(super) struct Compare {
    filter: Option<FieldExpr>,
    top: usize,
    window: Option<(u64, u64)>,
    steps: usize,
    baseline: Side,
    selection: Side,
}

/// Intrinsics that take part in the comparison (durations, ids and nested-set numbers do not).
const INTRINSICS: &[Intrinsic] = &[
    Intrinsic::Name,
    Intrinsic::Status,
    Intrinsic::StatusMessage,
    Intrinsic::Kind,
    Intrinsic::RootName,
    Intrinsic::RootServiceName,
];

impl Compare {
    pub(super) fn new(
        selection: &SpansetExpr,
        top: Option<i64>,
        window: Option<(i64, i64)>,
        steps: usize,
    ) -> Self {
        let filter = match selection {
            SpansetExpr::Filter(f) => f.clone(),
            _ => None,
        };
        let window =
            window.and_then(|(s, e)| Some((u64::try_from(s).ok()?, u64::try_from(e).ok()?)));
        Compare {
            filter,
            top: top.and_then(|t| usize::try_from(t).ok()).unwrap_or(10),
            window,
            steps,
            baseline: Side::default(),
            selection: Side::default(),
        }
    }

    pub(super) fn observe(
        &mut self,
        engine: &Engine,
        view: &TraceView<'_>,
        i: usize,
        step: usize,
    ) -> Result<(), EvalError> {
        let s = &view.spans[i];
        let ts = s.span.start_time_unix_nano;
        let in_window = self.window.is_none_or(|(a, b)| ts > a && ts <= b);
        let selected = in_window
            && match &self.filter {
                None => true,
                Some(f) => engine.filter_matches(view, f, i)?,
            };
        let mut attrs: Vec<(String, Value)> = Vec::new();
        for kv in &s.span.attributes {
            attrs.push((
                format!("span.{}", kv.key),
                kv.value.as_ref().map_or(Value::Nil, Value::from_any),
            ));
        }
        for kv in &s.resource.attributes {
            attrs.push((
                format!("resource.{}", kv.key),
                kv.value.as_ref().map_or(Value::Nil, Value::from_any),
            ));
        }
        for &intrinsic in INTRINSICS {
            let r = FieldRef::Intrinsic {
                intrinsic,
                colon: false,
            };
            attrs.push((intrinsic.spelling(false), engine.field_value(view, &r, i)?));
        }
        let side = if selected {
            &mut self.selection
        } else {
            &mut self.baseline
        };
        let steps = self.steps;
        for (name, v) in attrs {
            if matches!(v, Value::Nil | Value::Duration(_) | Value::Array(_)) {
                continue;
            }
            let key = format!("{v:?}");
            let counts = side
                .values
                .entry(name.clone())
                .or_default()
                .entry(key)
                .or_insert_with(|| (v, vec![0.0; steps]));
            counts.1[step] += 1.0;
            side.totals.entry(name).or_insert_with(|| vec![0.0; steps])[step] += 1.0;
        }
        Ok(())
    }

    /// The series; `stamp` gives each interval's timestamp in ms.
    pub(super) fn finish(&self, stamp: &dyn Fn(usize) -> i64) -> Vec<Series> {
        let points = |counts: &[f64]| -> Vec<(i64, f64)> {
            counts
                .iter()
                .enumerate()
                .map(|(s, c)| (stamp(s), *c))
                .collect()
        };
        let meta = |t: &str| ("__meta_type".to_string(), Value::Str(t.to_string()));
        let mut out = Vec::new();
        let mut too_many: Vec<&String> = Vec::new();
        for (kind, side) in [("baseline", &self.baseline), ("selection", &self.selection)] {
            for (attr, values) in &side.values {
                let mut ranked: Vec<&(Value, Vec<f64>)> = values.values().collect();
                ranked.sort_by(|a, b| {
                    let (x, y) = (a.1.iter().sum::<f64>(), b.1.iter().sum::<f64>());
                    y.total_cmp(&x)
                        .then_with(|| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)))
                });
                for (v, counts) in ranked.into_iter().take(self.top) {
                    out.push(Series {
                        labels: vec![meta(kind), (attr.clone(), v.clone())],
                        points: points(counts),
                    });
                }
                if values.len() > self.top && !too_many.contains(&attr) {
                    too_many.push(attr);
                }
            }
        }
        for attr in too_many {
            out.push(Series {
                labels: vec![
                    (
                        "__meta_error".to_string(),
                        Value::Str("__too_many_values__".to_string()),
                    ),
                    (attr.clone(), Value::Nil),
                ],
                points: Vec::new(),
            });
        }
        for (kind, side) in [
            ("baseline_total", &self.baseline),
            ("selection_total", &self.selection),
        ] {
            for (attr, counts) in &side.totals {
                out.push(Series {
                    labels: vec![meta(kind), (attr.clone(), Value::Nil)],
                    points: points(counts),
                });
            }
        }
        out
    }
}
