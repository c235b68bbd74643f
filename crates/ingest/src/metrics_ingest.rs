//! OTLP metrics and Prometheus remote write into the series store, and the span metrics that
//! ingest derives from every accepted span batch.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use parking_lot::Mutex;
use prost::Message;
use sextant_metrics::{DeltaState, LabelCache, SeriesStore, SpanMetrics};

use crate::decode::Format;
use crate::error::IngestError;

/// Series per tenant whose delta points are being turned into cumulative ones.
const MAX_DELTA_SERIES: usize = 100_000;
/// Data points per tenant whose translated labels are kept between exports.
const MAX_CACHED_POINTS: usize = 200_000;

/// What OTLP translation keeps per tenant between exports.
struct OtlpTenant {
    delta: DeltaState,
    labels: LabelCache,
}

/// Where metric samples go.
pub struct MetricsIngest {
    pub store: Arc<SeriesStore>,
    pub spans: Arc<SpanMetrics>,
    /// Type, help and unit per family, for `/api/v1/metadata`.
    pub metadata: sextant_metrics::MetadataStore,
    otlp: Mutex<HashMap<String, OtlpTenant>>,
}

/// What a metrics export kept and refused.
#[derive(Debug, Default, Clone)]
pub struct MetricsOutcome {
    pub accepted: u64,
    pub rejected: i64,
    pub message: String,
}

impl MetricsIngest {
    pub fn new(store: Arc<SeriesStore>, spans: Arc<SpanMetrics>) -> Self {
        Self {
            store,
            spans,
            metadata: Default::default(),
            otlp: Mutex::new(HashMap::new()),
        }
    }

    /// Decodes and stores an OTLP metrics export (blocking: run off the executor).
    pub fn export_otlp(
        &self,
        tenant: &str,
        req: &ExportMetricsServiceRequest,
    ) -> Result<MetricsOutcome, IngestError> {
        let (samples, rej) = {
            let mut otlp = self.otlp.lock();
            let state = otlp.entry(tenant.to_owned()).or_insert_with(|| OtlpTenant {
                delta: DeltaState::new(MAX_DELTA_SERIES),
                labels: LabelCache::new(MAX_CACHED_POINTS),
            });
            sextant_metrics::otlp_to_samples_cached(req, &mut state.delta, &mut state.labels)
        };
        let stats = self.append(tenant, &samples)?;
        self.metadata
            .record(tenant, sextant_metrics::otlp_metadata(req));
        let refused = (samples.len() as u64).saturating_sub(stats.0);
        let rejected = rej.rejected_data_points.saturating_add(refused);
        let message = [rej.message.unwrap_or_default(), stats.1]
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        Ok(MetricsOutcome {
            accepted: stats.0,
            rejected: i64::try_from(rejected).unwrap_or(i64::MAX),
            message,
        })
    }

    /// Stores a remote-write body (snappy + protobuf) for `tenant`.
    pub fn export_remote_write(
        &self,
        tenant: &str,
        body: &[u8],
    ) -> Result<MetricsOutcome, IngestError> {
        let samples =
            sextant_metrics::decode_remote_write(body).map_err(|e| IngestError::Malformed {
                format: "remote-write",
                reason: e.to_string(),
            })?;
        let (accepted, message) = self.append(tenant, &samples)?;
        Ok(MetricsOutcome {
            accepted,
            rejected: (samples.len() as u64 - accepted) as i64,
            message,
        })
    }

    fn append(
        &self,
        tenant: &str,
        samples: &[sextant_metrics::Sample],
    ) -> Result<(u64, String), IngestError> {
        if samples.is_empty() {
            return Ok((0, String::new()));
        }
        let stats = self
            .store
            .append(tenant, samples)
            .map_err(|e| IngestError::Series {
                client: e.is_client_error(),
                reason: e.to_string(),
            })?;
        let message = stats.error().map(|e| e.to_string()).unwrap_or_default();
        Ok((stats.accepted as u64, message))
    }

    /// Counts an acknowledged span batch into the span metrics.
    pub fn observe_spans(&self, tenant: &str, batch: &RecordBatch) {
        self.spans.observe_batch(tenant, batch);
    }

    /// Appends the current span metrics to the series store (called every scrape interval).
    pub fn flush_span_metrics(&self, now_ms: i64) {
        let mut by_tenant: HashMap<String, Vec<sextant_metrics::Sample>> = HashMap::new();
        for (tenant, labels, t, v) in self.spans.snapshot(now_ms) {
            by_tenant.entry(tenant).or_default().push((labels, t, v));
        }
        for (tenant, samples) in by_tenant {
            self.metadata
                .record(&tenant, sextant_metrics::span_metrics_metadata());
            if let Err(e) = self.store.append(&tenant, &samples) {
                tracing::warn!(tenant, error = %e, "cannot store span metrics");
            }
        }
    }
}

/// Decodes an OTLP/HTTP metrics body.
pub fn decode_metrics(
    body: &Bytes,
    format: Format,
) -> Result<ExportMetricsServiceRequest, IngestError> {
    let malformed = |reason: String| IngestError::Malformed {
        format: format.name(),
        reason,
    };
    match format {
        Format::Protobuf => {
            ExportMetricsServiceRequest::decode(body.clone()).map_err(|e| malformed(e.to_string()))
        }
        Format::Json => serde_json::from_slice(body).map_err(|e| malformed(e.to_string())),
    }
}
