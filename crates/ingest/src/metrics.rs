//! Ingest metrics: what arrived, what was kept, what was refused and why.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

type Labels = Vec<(&'static str, &'static str)>;

#[derive(Debug, Clone)]
pub struct IngestMetrics {
    pub requests: Family<Labels, Counter>,
    pub spans_received: Counter,
    pub spans_accepted: Counter,
    pub spans_rejected: Family<Labels, Counter>,
    pub request_seconds: Histogram,
    /// Prompt/completion attributes and events dropped by the content policy.
    pub content_dropped: Counter,
    /// Secrets and personal data replaced by a marker.
    pub content_redacted: Counter,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            spans_received: Counter::default(),
            spans_accepted: Counter::default(),
            spans_rejected: Family::default(),
            request_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 18)),
            content_dropped: Counter::default(),
            content_redacted: Counter::default(),
        }
    }
}

impl IngestMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "sextant_ingest_requests",
            "OTLP export requests by transport, signal and outcome",
            self.requests.clone(),
        );
        r.register(
            "sextant_spans_received",
            "Spans decoded from export requests",
            self.spans_received.clone(),
        );
        r.register(
            "sextant_spans_accepted",
            "Spans stored and acknowledged",
            self.spans_accepted.clone(),
        );
        r.register(
            "sextant_spans_rejected",
            "Spans refused, by reason",
            self.spans_rejected.clone(),
        );
        r.register(
            "sextant_content_dropped",
            "Prompt and completion attributes and events dropped before storage (content capture off)",
            self.content_dropped.clone(),
        );
        r.register(
            "sextant_content_redacted",
            "Values redacted before storage (secrets, emails, card numbers, user rules)",
            self.content_redacted.clone(),
        );
        r.register_with_unit(
            "sextant_ingest_request_duration",
            "Time from request decoded to acknowledged",
            Unit::Seconds,
            self.request_seconds.clone(),
        );
    }

    pub fn request(&self, transport: &'static str, signal: &'static str, outcome: &'static str) {
        self.requests
            .get_or_create(&vec![
                ("transport", transport),
                ("signal", signal),
                ("outcome", outcome),
            ])
            .inc();
    }

    pub fn rejected(&self, reason: &'static str, n: u64) {
        if n > 0 {
            self.spans_rejected
                .get_or_create(&vec![("reason", reason)])
                .inc_by(n);
        }
    }
}
