//! OTLP metrics to Prometheus samples, following the OpenTelemetry-to-Prometheus compatibility
//! spec: names and units via [`crate::naming`], `job`/`instance` from the resource, the other
//! resource attributes on a `target_info` series, scope name/version as `otel_scope_*` labels,
//! delta temporality accumulated into cumulative series ([`DeltaState`]), and exponential
//! histograms converted to classic `le` buckets (Prometheus native histograms are not stored;
//! each exponential bucket boundary becomes one `le` bound, so no precision is lost).

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
    metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sextant_promql::{Labels, METRIC_NAME, stale_nan};

use std::sync::Arc;

use crate::delta::{DeltaError, DeltaState};
use crate::naming::{Kind, label_name, metric_name};
use crate::otlp_cache::{Common, LabelCache};

/// One Prometheus sample: labels (with `__name__`), ms timestamp, value.
pub type Sample = (Labels, i64, f64);

/// Data points that could not be translated, for OTLP's `partial_success`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejections {
    /// Number of rejected data points.
    pub rejected_data_points: u64,
    /// The first reason, for the response's `error_message`.
    pub message: Option<String>,
}

impl Rejections {
    fn add(&mut self, metric: &str, why: &str) {
        self.rejected_data_points += 1;
        self.message
            .get_or_insert_with(|| format!("metric {metric:?}: {why}"));
    }
}

const DELTA: i32 = 1;
/// `DataPointFlags.NO_RECORDED_VALUE`: the series ended; written as a staleness marker.
const NO_RECORDED_VALUE: u32 = 1;

/// Resource-derived labels shared by all points of a `ResourceMetrics`.
struct ResourceCtx {
    /// `job` and `instance`.
    identity: Vec<(String, String)>,
    /// The other attributes, for `target_info`.
    info: Vec<(String, String)>,
}

fn resource_ctx(resource: Option<&Resource>) -> ResourceCtx {
    let attrs = resource.map_or(&[][..], |r| &r.attributes[..]);
    let get = |k: &str| {
        attrs
            .iter()
            .find(|kv| kv.key == k)
            .map(|kv| value_string(kv.value.as_ref()))
    };
    let job = match (get("service.namespace"), get("service.name")) {
        (Some(ns), Some(name)) if !ns.is_empty() => format!("{ns}/{name}"),
        (_, Some(name)) => name,
        (Some(ns), None) => ns,
        (None, None) => String::new(),
    };
    let identity = vec![
        ("job".to_owned(), job),
        (
            "instance".to_owned(),
            get("service.instance.id").unwrap_or_default(),
        ),
    ];
    let others: Vec<&KeyValue> = attrs
        .iter()
        .filter(|kv| {
            !matches!(
                kv.key.as_str(),
                "service.name" | "service.namespace" | "service.instance.id"
            )
        })
        .collect();
    ResourceCtx {
        identity,
        info: attr_pairs(others.into_iter()),
    }
}

/// An attribute value as a label value (arrays and maps as JSON).
fn value_string(v: Option<&AnyValue>) -> String {
    let mut out = String::new();
    write_value(v.and_then(|v| v.value.as_ref()), &mut out, false);
    out
}

fn write_value(v: Option<&any_value::Value>, out: &mut String, quoted: bool) {
    use any_value::Value as V;
    match v {
        None => out.push_str(if quoted { "null" } else { "" }),
        Some(V::StringValue(s)) if quoted => out.push_str(&format!("{s:?}")),
        Some(V::StringValue(s)) => out.push_str(s),
        Some(V::BoolValue(b)) => out.push_str(&b.to_string()),
        Some(V::IntValue(i)) => out.push_str(&i.to_string()),
        Some(V::DoubleValue(d)) => out.push_str(&d.to_string()),
        Some(V::BytesValue(b)) => {
            for byte in b {
                out.push_str(&format!("{byte:02x}"));
            }
        }
        Some(V::ArrayValue(a)) => {
            out.push('[');
            for (i, x) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(x.value.as_ref(), out, true);
            }
            out.push(']');
        }
        // A profiles-only dictionary reference; metrics never carry one.
        Some(V::StringValueStrindex(i)) => out.push_str(&i.to_string()),
        Some(V::KvlistValue(kv)) => {
            out.push('{');
            for (i, x) in kv.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!("{:?}:", x.key));
                write_value(x.value.as_ref().and_then(|v| v.value.as_ref()), out, true);
            }
            out.push('}');
        }
    }
}

/// Attributes as sanitized label pairs; keys that sanitize to the same name have their values
/// joined with `;` in the order of the original keys.
fn attr_pairs<'a>(attrs: impl Iterator<Item = &'a KeyValue>) -> Vec<(String, String)> {
    let mut named: Vec<(String, &str, String)> = attrs
        .map(|kv| {
            (
                label_name(&kv.key),
                kv.key.as_str(),
                value_string(kv.value.as_ref()),
            )
        })
        .collect();
    named.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut out: Vec<(String, String)> = Vec::with_capacity(named.len());
    for (name, _, value) in named {
        match out.last_mut() {
            Some(last) if last.0 == name => {
                last.1.push(';');
                last.1.push_str(&value);
            }
            _ => out.push((name, value)),
        }
    }
    out
}

/// Formats a bound or quantile as Prometheus does (`+Inf`, shortest decimal otherwise).
pub fn format_float(f: f64) -> String {
    if f == f64::INFINITY {
        "+Inf".to_owned()
    } else if f == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{f}")
    }
}

/// Translates one export request. Delta series are accumulated in `state`, which the caller
/// keeps between requests (per tenant).
pub fn otlp_to_samples(
    req: &ExportMetricsServiceRequest,
    state: &mut DeltaState,
) -> (Vec<Sample>, Rejections) {
    otlp_to_samples_cached(req, state, &mut LabelCache::new(usize::MAX))
}

/// [`otlp_to_samples`] with the label sets of points kept in `cache` between requests (per
/// tenant, like `state`), so a series seen before is not translated again.
pub fn otlp_to_samples_cached(
    req: &ExportMetricsServiceRequest,
    state: &mut DeltaState,
    cache: &mut LabelCache,
) -> (Vec<Sample>, Rejections) {
    let points: usize = req
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(point_count)
        .sum();
    let mut t = Translator {
        out: Vec::with_capacity(points),
        rejections: Rejections::default(),
        state,
        cache,
    };
    for rm in &req.resource_metrics {
        let res = resource_ctx(rm.resource.as_ref());
        let mut newest: Option<i64> = None;
        for sm in &rm.scope_metrics {
            let mut pairs = res.identity.clone();
            if let Some(scope) = &sm.scope {
                pairs.push(("otel_scope_name".to_owned(), scope.name.clone()));
                pairs.push(("otel_scope_version".to_owned(), scope.version.clone()));
            }
            let common = t.cache.common(pairs);
            for m in &sm.metrics {
                let before = t.out.len();
                t.metric(m, &common);
                newest = t.out[before..].iter().map(|s| s.1).chain(newest).max();
            }
        }
        if let Some(ts) = newest
            && !res.info.is_empty()
        {
            let mut pairs = res.info.clone();
            pairs.extend(res.identity.iter().cloned());
            pairs.push((METRIC_NAME.to_owned(), "target_info".to_owned()));
            t.out.push((Labels::new(pairs), ts, 1.0));
        }
    }
    (t.out, t.rejections)
}

/// Samples a metric yields at least (histograms and summaries yield more per point).
fn point_count(m: &Metric) -> usize {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len() * 3,
        Some(Data::ExponentialHistogram(h)) => h.data_points.len() * 3,
        Some(Data::Summary(s)) => s.data_points.len() * 2,
        None => 0,
    }
}

struct Translator<'s> {
    out: Vec<Sample>,
    rejections: Rejections,
    state: &'s mut DeltaState,
    cache: &'s mut LabelCache,
}

/// Labels of one data point: attributes, then scope and resource labels (which win).
fn point_labels(attrs: &[KeyValue], common: &[(String, String)]) -> Vec<(String, String)> {
    let mut pairs = attr_pairs(attrs.iter());
    pairs.extend(common.iter().cloned());
    pairs
}

fn with(pairs: &[(String, String)], extra: &[(&str, &str)]) -> Labels {
    let mut p = pairs.to_vec();
    p.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    Labels::new(p)
}

/// The label sets of a histogram point, in the order they are emitted: one per finite bucket,
/// `+Inf`, `_sum` (when present), `_count`, then the series key for the delta state.
fn histogram_labels(
    name: &str,
    base: &[(String, String)],
    bounds: &[f64],
    buckets: usize,
    has_sum: bool,
) -> Vec<Labels> {
    let bucket_name = format!("{name}_bucket");
    let mut out: Vec<Labels> = bounds[..buckets]
        .iter()
        .map(|b| {
            with(
                base,
                &[(METRIC_NAME, &bucket_name), ("le", &format_float(*b))],
            )
        })
        .collect();
    out.push(with(base, &[(METRIC_NAME, &bucket_name), ("le", "+Inf")]));
    if has_sum {
        out.push(with(base, &[(METRIC_NAME, &format!("{name}_sum"))]));
    }
    out.push(with(base, &[(METRIC_NAME, &format!("{name}_count"))]));
    out.push(with(base, &[(METRIC_NAME, name)]));
    out
}

fn time_ms(nanos: u64) -> i64 {
    (nanos / 1_000_000) as i64
}

impl Translator<'_> {
    fn metric(&mut self, m: &Metric, common: &Arc<Common>) {
        match &m.data {
            None => self.rejections.add(&m.name, "no data"),
            Some(Data::Gauge(g)) => {
                let name = metric_name(&m.name, &m.unit, Kind::Gauge);
                for p in &g.data_points {
                    self.number(&name, p, common, false);
                }
            }
            Some(Data::Sum(s)) => {
                let kind = if s.is_monotonic {
                    Kind::Counter
                } else {
                    Kind::Gauge
                };
                let name = metric_name(&m.name, &m.unit, kind);
                let delta = s.aggregation_temporality == DELTA;
                for p in &s.data_points {
                    self.number(&name, p, common, delta);
                }
            }
            Some(Data::Histogram(h)) => {
                let name = metric_name(&m.name, &m.unit, Kind::Other);
                let delta = h.aggregation_temporality == DELTA;
                for p in &h.data_points {
                    self.histogram(&name, p, common, delta);
                }
            }
            Some(Data::ExponentialHistogram(h)) => {
                let name = metric_name(&m.name, &m.unit, Kind::Other);
                let delta = h.aggregation_temporality == DELTA;
                for p in &h.data_points {
                    let classic = exponential_to_classic(p);
                    self.histogram(&name, &classic, common, delta);
                }
            }
            Some(Data::Summary(s)) => {
                let name = metric_name(&m.name, &m.unit, Kind::Other);
                for p in &s.data_points {
                    self.summary(&name, p, &common.pairs);
                }
            }
        }
    }

    fn number(&mut self, name: &str, p: &NumberDataPoint, common: &Arc<Common>, delta: bool) {
        let t = time_ms(p.time_unix_nano);
        let built = self.cache.get(common, name, &p.attributes, &[], || {
            vec![with(
                &point_labels(&p.attributes, &common.pairs),
                &[(METRIC_NAME, name)],
            )]
        });
        let labels = built[0].clone();
        if p.flags & NO_RECORDED_VALUE != 0 {
            self.out.push((labels, t, stale_nan()));
            return;
        }
        let v = match p.value {
            Some(number_data_point::Value::AsDouble(d)) => d,
            Some(number_data_point::Value::AsInt(i)) => i as f64,
            None => return self.rejections.add(name, "data point without a value"),
        };
        let v = if delta {
            match self.state.accumulate(&labels, &[], t, &[v]) {
                Ok(acc) => acc[0],
                Err(e) => return self.rejections.add(name, delta_reason(e)),
            }
        } else {
            v
        };
        self.out.push((labels, t, v));
    }

    fn histogram(&mut self, name: &str, p: &HistogramDataPoint, common: &Arc<Common>, delta: bool) {
        let t = time_ms(p.time_unix_nano);
        let bounds = &p.explicit_bounds;
        if !p.bucket_counts.is_empty() && p.bucket_counts.len() != bounds.len() + 1 {
            return self
                .rejections
                .add(name, "bucket counts do not match the bounds");
        }
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        // Per-bucket counts, then sum and count: the layout the delta state accumulates.
        let mut values: Vec<f64> = p.bucket_counts.iter().map(|c| *c as f64).collect();
        values.push(p.sum.unwrap_or(0.0));
        values.push(p.count as f64);
        let buckets = bounds.len().min(values.len() - 2);
        let has_sum = p.sum.is_some();
        let mut layout: Vec<u64> = bounds[..buckets].iter().map(|b| b.to_bits()).collect();
        layout.push(u64::from(has_sum));
        let labels = self.cache.get(common, name, &p.attributes, &layout, || {
            histogram_labels(
                name,
                &point_labels(&p.attributes, &common.pairs),
                bounds,
                buckets,
                has_sum,
            )
        });
        if delta && !stale {
            // The last label set is the series key: the point's labels with `__name__` = name.
            let key = &labels[labels.len() - 1];
            match self.state.accumulate(key, bounds, t, &values) {
                Ok(acc) => values = acc.to_vec(),
                Err(e) => return self.rejections.add(name, delta_reason(e)),
            }
        }
        let value = |v: f64| if stale { stale_nan() } else { v };
        let mut cumulative = 0.0;
        for (i, l) in labels[..buckets].iter().enumerate() {
            cumulative += values[i];
            self.out.push((l.clone(), t, value(cumulative)));
        }
        let count = values[values.len() - 1];
        let mut rest = labels[buckets..].iter();
        let mut emit = |v: f64| {
            if let Some(l) = rest.next() {
                self.out.push((l.clone(), t, value(v)));
            }
        };
        emit(count);
        if has_sum {
            emit(values[values.len() - 2]);
        }
        emit(count);
    }

    fn summary(&mut self, name: &str, p: &SummaryDataPoint, common: &[(String, String)]) {
        let t = time_ms(p.time_unix_nano);
        let base = point_labels(&p.attributes, common);
        let stale = p.flags & NO_RECORDED_VALUE != 0;
        let value = |v: f64| if stale { stale_nan() } else { v };
        for q in &p.quantile_values {
            let quantile = format_float(q.quantile);
            let l = with(&base, &[(METRIC_NAME, name), ("quantile", &quantile)]);
            self.out.push((l, t, value(q.value)));
        }
        let l = with(&base, &[(METRIC_NAME, &format!("{name}_sum"))]);
        self.out.push((l, t, value(p.sum)));
        let l = with(&base, &[(METRIC_NAME, &format!("{name}_count"))]);
        self.out.push((l, t, value(p.count as f64)));
    }
}

fn delta_reason(e: DeltaError) -> &'static str {
    match e {
        DeltaError::Full => "too many delta series to accumulate",
        DeltaError::OutOfOrder => "delta point older than the last one of its series",
    }
}

/// An exponential histogram point as a classic one: every exponential bucket boundary becomes
/// an explicit bound (negative buckets, then the zero bucket, then positive buckets).
pub fn exponential_to_classic(p: &ExponentialHistogramDataPoint) -> HistogramDataPoint {
    let width = (-f64::from(p.scale)).exp2();
    let bound = |index: i64| (index as f64 * width).exp2();
    let mut pairs: Vec<(f64, u64)> = Vec::new();
    if let Some(neg) = &p.negative {
        // Bucket `i` holds values in [-base^(i+1), -base^i): its upper bound is -base^i.
        for (k, c) in neg.bucket_counts.iter().enumerate().rev() {
            pairs.push((-bound(i64::from(neg.offset) + k as i64), *c));
        }
    }
    if p.zero_count > 0 || p.zero_threshold > 0.0 {
        pairs.push((p.zero_threshold, p.zero_count));
    }
    if let Some(pos) = &p.positive {
        // Bucket `i` holds values in (base^i, base^(i+1)].
        for (k, c) in pos.bucket_counts.iter().enumerate() {
            pairs.push((bound(i64::from(pos.offset) + k as i64 + 1), *c));
        }
    }
    let mut bounds: Vec<f64> = Vec::with_capacity(pairs.len());
    let mut counts: Vec<u64> = Vec::with_capacity(pairs.len() + 1);
    for (b, c) in pairs {
        match (bounds.last(), counts.last_mut()) {
            // Bounds must increase; a bucket that does not (rounding) joins the previous one.
            (Some(prev), Some(last)) if b <= *prev => *last += c,
            _ => {
                bounds.push(b);
                counts.push(c);
            }
        }
    }
    let in_buckets: u64 = counts.iter().sum();
    counts.push(p.count.saturating_sub(in_buckets));
    HistogramDataPoint {
        attributes: p.attributes.clone(),
        start_time_unix_nano: p.start_time_unix_nano,
        time_unix_nano: p.time_unix_nano,
        count: p.count,
        sum: p.sum,
        bucket_counts: counts,
        explicit_bounds: bounds,
        exemplars: Vec::new(),
        flags: p.flags,
        min: p.min,
        max: p.max,
    }
}

#[cfg(test)]
#[path = "otlp_tests.rs"]
mod tests;
