//! Metric metadata (type, help, unit) for the Prometheus API's `/api/v1/metadata`, which Grafana's
//! query builder reads: taken from OTLP exports as they arrive, and fixed for the span metrics.
//!
//! Kept in memory, as Prometheus keeps the metadata of scraped targets: after a restart an OTLP
//! family is described again by its next export.

use std::collections::{BTreeMap, HashMap};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data};
use parking_lot::Mutex;

use crate::naming::{Kind, metric_name, unit_name};

/// Families remembered per tenant; beyond it new families are not described (their samples
/// are still stored).
const MAX_FAMILIES: usize = 20_000;

/// What Prometheus says about one metric family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricMeta {
    /// `counter`, `gauge`, `histogram` or `summary`.
    pub kind: &'static str,
    pub help: String,
    pub unit: String,
}

impl MetricMeta {
    fn new(kind: &'static str, help: &str, unit: &str) -> Self {
        Self {
            kind,
            help: help.to_owned(),
            unit: unit.to_owned(),
        }
    }
}

/// The family name and metadata of one OTLP metric, named as its samples are.
fn describe(m: &Metric) -> Option<(String, MetricMeta)> {
    let (kind, name_kind) = match m.data.as_ref()? {
        Data::Gauge(_) => ("gauge", Kind::Gauge),
        Data::Sum(s) if s.is_monotonic => ("counter", Kind::Counter),
        Data::Sum(_) => ("gauge", Kind::Gauge),
        Data::Histogram(_) | Data::ExponentialHistogram(_) => ("histogram", Kind::Other),
        Data::Summary(_) => ("summary", Kind::Other),
    };
    let name = metric_name(&m.name, &m.unit, name_kind);
    let meta = MetricMeta {
        kind,
        help: m.description.clone(),
        unit: unit_name(&m.unit),
    };
    Some((name, meta))
}

/// The families of an OTLP export with their metadata.
pub fn otlp_metadata(req: &ExportMetricsServiceRequest) -> Vec<(String, MetricMeta)> {
    req.resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter_map(describe)
        .collect()
}

/// The span metrics' families (see [`crate::SpanMetrics`]).
pub fn span_metrics_metadata() -> Vec<(String, MetricMeta)> {
    [
        (
            "traces_spanmetrics_calls_total",
            "counter",
            "Spans by service, name, kind and status.",
            "",
        ),
        (
            "traces_spanmetrics_latency",
            "histogram",
            "Span durations.",
            "seconds",
        ),
        (
            "gen_ai_client_token_usage",
            "histogram",
            "Tokens per GenAI operation, by token type.",
            "",
        ),
        (
            "gen_ai_client_operation_duration_seconds",
            "histogram",
            "Duration of GenAI operations.",
            "seconds",
        ),
        (
            "gen_ai_server_time_to_first_token_seconds",
            "histogram",
            "Time to the first chunk of streamed GenAI responses.",
            "seconds",
        ),
        (
            "sextant_gen_ai_cost_usd_total",
            "counter",
            "Cost of GenAI calls in US dollars, as sent or priced from the catalog.",
            "usd",
        ),
        (
            "sextant_gen_ai_calls_total",
            "counter",
            "GenAI calls by provider, model, operation, agent, tool and status.",
            "",
        ),
        (
            "sextant_traces_total",
            "counter",
            "Traces (requests), counted by their root span, by service and root span status.",
            "",
        ),
        (
            "sextant_trace_duration_seconds",
            "histogram",
            "Durations of root spans (whole requests).",
            "seconds",
        ),
    ]
    .into_iter()
    .map(|(name, kind, help, unit)| (name.to_owned(), MetricMeta::new(kind, help, unit)))
    .collect()
}

/// Metadata per tenant and family.
#[derive(Debug, Default)]
pub struct MetadataStore {
    tenants: Mutex<HashMap<String, BTreeMap<String, MetricMeta>>>,
}

impl MetadataStore {
    /// Remembers (or updates) the metadata of `items` for `tenant`.
    pub fn record(&self, tenant: &str, items: Vec<(String, MetricMeta)>) {
        if items.is_empty() {
            return;
        }
        let mut tenants = self.tenants.lock();
        let families = tenants.entry(tenant.to_owned()).or_default();
        for (name, meta) in items {
            if families.len() < MAX_FAMILIES || families.contains_key(&name) {
                families.insert(name, meta);
            }
        }
    }

    /// Everything known about `tenant`'s families.
    pub fn get(&self, tenant: &str) -> BTreeMap<String, MetricMeta> {
        self.tenants.lock().get(tenant).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Histogram, ResourceMetrics, ScopeMetrics, Sum,
    };

    fn metric(name: &str, unit: &str, data: Data) -> Metric {
        Metric {
            name: name.into(),
            description: format!("about {name}"),
            unit: unit.into(),
            data: Some(data),
            ..Default::default()
        }
    }

    fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn otlp_metrics_are_described_under_their_prometheus_names() {
        let req = request(vec![
            metric(
                "http.server.requests",
                "1",
                Data::Sum(Sum {
                    is_monotonic: true,
                    ..Default::default()
                }),
            ),
            metric("queue.depth", "{item}", Data::Sum(Sum::default())),
            metric("cpu.utilization", "1", Data::Gauge(Gauge::default())),
            metric(
                "request.duration",
                "s",
                Data::Histogram(Histogram::default()),
            ),
            metric("net.io", "By/s", Data::Gauge(Gauge::default())),
        ]);
        let got: BTreeMap<String, MetricMeta> = otlp_metadata(&req).into_iter().collect();
        let want = [
            ("http_server_requests_total", "counter", ""),
            ("queue_depth", "gauge", ""),
            ("cpu_utilization_ratio", "gauge", ""),
            ("request_duration_seconds", "histogram", "seconds"),
            ("net_io_bytes_per_second", "gauge", "bytes_per_second"),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (name, kind, unit) in want {
            let m = got
                .get(name)
                .unwrap_or_else(|| panic!("{name} missing: {got:?}"));
            assert_eq!((m.kind, m.unit.as_str()), (kind, unit), "{name}");
            assert!(m.help.starts_with("about "), "{name}: {}", m.help);
        }
    }

    #[test]
    fn every_span_metrics_family_is_described_once() {
        let mut described: Vec<String> = span_metrics_metadata()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        described.sort();
        let mut families: Vec<String> = (crate::spanmetrics::family_names().into_iter())
            .map(str::to_owned)
            .collect();
        families.sort();
        assert_eq!(described, families);
    }

    #[test]
    fn metadata_is_per_tenant_and_updated_in_place() {
        let store = MetadataStore::default();
        store.record("a", span_metrics_metadata());
        store.record("a", vec![("x".into(), MetricMeta::new("gauge", "old", ""))]);
        store.record("a", vec![("x".into(), MetricMeta::new("gauge", "new", ""))]);
        let a = store.get("a");
        assert_eq!(a.len(), span_metrics_metadata().len() + 1);
        assert_eq!(a["x"].help, "new");
        assert_eq!(a["traces_spanmetrics_calls_total"].kind, "counter");
        assert!(store.get("b").is_empty());
    }
}
