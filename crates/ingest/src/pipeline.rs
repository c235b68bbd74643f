//! The transport-independent ingest path: decode, validate, encode for the WAL, build the
//! columnar batch (off the async executor), then hand both to the store and wait for the fsync.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use sextant_genai::{ContentPolicy, ContentStats};
use sextant_store::{RawAttributes, SpanBatchBuilder, SpanEnricher, Store, WalBody};
use tokio::sync::Semaphore;

use crate::decode::{Format, decode_traces};
use crate::error::IngestError;
use crate::metrics::IngestMetrics;
use crate::validate::{Rejections, span_count, validate};

/// Size limits of the ingest path.
#[derive(Debug, Clone)]
pub struct IngestLimits {
    /// Largest request body accepted as sent (compressed).
    pub max_request_bytes: usize,
    /// Largest body after decompression.
    pub max_decompressed_bytes: usize,
    /// Decoded bytes allowed in flight at once; beyond it clients are told to retry.
    pub max_inflight_bytes: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_request_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            max_inflight_bytes: 256 << 20,
        }
    }
}

/// A trace export as it arrives from a transport.
pub enum TraceExport {
    /// An HTTP body, already decompressed.
    Body(Bytes, Format),
    /// A message tonic decoded.
    Message(ExportTraceServiceRequest),
}

impl TraceExport {
    fn len(&self) -> usize {
        match self {
            TraceExport::Body(b, _) => b.len(),
            TraceExport::Message(m) => m.encoded_len(),
        }
    }
}

/// Ingests OTLP exports into the store.
pub struct Ingestor {
    store: Arc<Store>,
    enricher: Arc<dyn SpanEnricher>,
    content: Arc<ContentPolicies>,
    series: Option<Arc<crate::metrics_ingest::MetricsIngest>>,
    limits: IngestLimits,
    metrics: IngestMetrics,
    /// One permit per KiB of decoded data in flight.
    inflight: Semaphore,
    /// One permit per core: decoding is CPU-bound, so more at once only adds threads, each with
    /// its own allocator cache (memory) and context switches, without finishing sooner.
    decoders: Arc<Semaphore>,
}

/// The result of one prepared export: what goes to the WAL, the batch, and what was dropped.
struct Prepared {
    wal_body: WalBody,
    batch: arrow_array::RecordBatch,
    spans: usize,
    rejected: Rejections,
    content: ContentStats,
}

impl Ingestor {
    pub fn new(
        store: Arc<Store>,
        enricher: Arc<dyn SpanEnricher>,
        content: ContentPolicies,
        limits: IngestLimits,
        metrics: IngestMetrics,
    ) -> Self {
        let permits = (limits.max_inflight_bytes >> 10).max(1);
        Self {
            store,
            enricher,
            content: Arc::new(content),
            series: None,
            limits,
            metrics,
            inflight: Semaphore::new(permits),
            decoders: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        }
    }

    /// Stores OTLP metrics and remote-write samples, and derives span metrics from spans.
    pub fn with_series(mut self, series: Arc<crate::metrics_ingest::MetricsIngest>) -> Self {
        self.series = Some(series);
        self
    }

    /// The metrics path, when the server has a series store.
    pub fn series(&self) -> Option<&Arc<crate::metrics_ingest::MetricsIngest>> {
        self.series.as_ref()
    }

    pub fn limits(&self) -> &IngestLimits {
        &self.limits
    }

    pub fn metrics(&self) -> &IngestMetrics {
        &self.metrics
    }

    /// Stores an export for `tenant`; returns the spans rejected as invalid.
    pub async fn export_traces(
        &self,
        tenant: &str,
        export: TraceExport,
    ) -> Result<Rejections, IngestError> {
        sextant_store::tenant::validate_tenant(tenant)
            .map_err(|e| IngestError::BadTenant(e.to_string()))?;
        let kib = ((export.len() >> 10) + 1)
            .min(self.limits.max_inflight_bytes >> 10)
            .max(1);
        let _permit = tokio::time::timeout(
            Duration::from_secs(2),
            self.inflight.acquire_many(kib as u32),
        )
        .await
        .map_err(|_| IngestError::Busy)?
        .map_err(|_| IngestError::Busy)?;
        let t0 = Instant::now();
        let enricher = self.enricher.clone();
        let content = self.content.clone();
        let tenant_name = tenant.to_owned();
        let core = self
            .decoders
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| IngestError::Busy)?;
        let prepared = tokio::task::spawn_blocking(move || {
            let prepared = prepare(export, enricher.as_ref(), content.for_tenant(&tenant_name));
            drop(core);
            prepared
        })
        .await
        .map_err(|e| IngestError::Malformed {
            format: "otlp",
            reason: format!("decoder failed: {e}"),
        })??;
        self.metrics
            .spans_received
            .inc_by((prepared.spans + prepared.rejected.spans as usize) as u64);
        self.metrics
            .rejected("invalid", prepared.rejected.spans as u64);
        self.metrics
            .content_dropped
            .inc_by(prepared.content.attributes_dropped as u64);
        self.metrics
            .content_dropped
            .inc_by(prepared.content.events_dropped as u64);
        self.metrics
            .content_redacted
            .inc_by(prepared.content.values_redacted as u64);
        if prepared.spans > 0 {
            let batch = self.series.is_some().then(|| prepared.batch.clone());
            if let Err(e) = self
                .store
                .write_logged(tenant, prepared.wal_body, prepared.batch)
                .await
            {
                let e = IngestError::from(e);
                self.metrics.rejected(e.reason(), prepared.spans as u64);
                return Err(e);
            }
            // Span metrics count acknowledged spans only, before any sampling.
            if let (Some(series), Some(batch)) = (&self.series, batch) {
                series.observe_spans(tenant, &batch);
            }
        }
        self.metrics.spans_accepted.inc_by(prepared.spans as u64);
        self.metrics
            .request_seconds
            .observe(t0.elapsed().as_secs_f64());
        Ok(prepared.rejected)
    }
}

fn prepare(
    export: TraceExport,
    enricher: &dyn SpanEnricher,
    policy: &ContentPolicy,
) -> Result<Prepared, IngestError> {
    let (mut req, original, spliced) = match export {
        TraceExport::Body(body, Format::Protobuf) => {
            // The usual body: content is cut from the bytes, and the rest decoded once.
            let (body, spliced) = match policy.splice_otlp(&body) {
                Some(s) => (
                    s.body.map(Bytes::from).unwrap_or(body),
                    Some((s.stats, s.attributes)),
                ),
                None => (body, None),
            };
            (decode_traces(&body, Format::Protobuf)?, Some(body), spliced)
        }
        TraceExport::Body(body, format) => (decode_traces(&body, format)?, None, None),
        TraceExport::Message(m) => (m, None, None),
    };
    let rejected = validate(&mut req);
    let spans = span_count(&req);
    let content = match &spliced {
        Some((stats, _)) => *stats,
        None => policy.apply_request(&mut req),
    };
    // The spans' attribute bytes line up with the decoded spans unless validation removed some.
    let raw = match (&original, &spliced) {
        (Some(body), Some((_, runs))) if rejected.spans == 0 && runs.len() == spans => {
            Some(RawAttributes { body, runs })
        }
        _ => None,
    };
    let mut builder = SpanBatchBuilder::with_capacity(spans);
    builder
        .push_request_raw(&req, enricher, raw)
        .map_err(|e| IngestError::Malformed {
            format: "otlp",
            reason: e.to_string(),
        })?;
    let batch = builder.finish().map_err(|e| IngestError::Malformed {
        format: "otlp",
        reason: e.to_string(),
    })?;
    // The protobuf bytes (the client's own, or with content cut out) go to the WAL unless
    // validation or the decoding path of the content policy changed the request (or it came as
    // JSON or gRPC); then the batch does, which costs a copy where re-encoding the protobuf
    // costs a walk over every attribute.
    let wal_body = match original {
        Some(body) if rejected.spans == 0 && (spliced.is_some() || !content.changed()) => {
            WalBody::Otlp(body)
        }
        _ => WalBody::arrow(&batch).map_err(IngestError::from)?,
    };
    Ok(Prepared {
        wal_body,
        batch,
        spans,
        rejected,
        content,
    })
}

/// The content policy of each tenant: a default, and tenants that configure their own.
#[derive(Debug, Clone)]
pub struct ContentPolicies {
    pub default: ContentPolicy,
    pub tenants: HashMap<String, ContentPolicy>,
}

impl ContentPolicies {
    pub fn for_tenant(&self, tenant: &str) -> &ContentPolicy {
        self.tenants.get(tenant).unwrap_or(&self.default)
    }
}
