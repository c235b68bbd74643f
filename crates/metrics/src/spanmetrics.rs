//! Span metrics with no configuration, computed from the span batches ingest builds (before any
//! sampling, so totals are exact): Tempo metrics-generator RED metrics, and GenAI metrics named
//! after the OpenTelemetry GenAI metric conventions. Ids (user, conversation, tool call, trace,
//! span) are never labels; every family has a cardinality guard ([`crate::family`]).

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use parking_lot::Mutex;
use sextant_promql::Labels;
use sextant_store::genai::{GenAiColumns, off};
use sextant_store::schema::col;

use crate::family::{Family, LabelHash, Limits, Shape};
use crate::genai_family::{GenAiFamilies, Metric};

/// Tempo's default span-metrics latency buckets (seconds).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
    16.384,
];
/// `gen_ai.client.token.usage` advisory buckets.
pub const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// `gen_ai.client.operation.duration` advisory buckets (seconds).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// `gen_ai.server.time_to_first_token` advisory buckets (seconds).
pub const TTFT_BUCKETS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

const RED_LABELS: &[&str] = &["service", "span_name", "span_kind", "status_code"];
const TRACE_LABELS: &[&str] = &["service", "status_code"];
const TRACE_DURATION_LABELS: &[&str] = &["service"];
/// Cardinality limits of the span metrics.
#[derive(Debug, Clone, Copy)]
pub struct SpanMetricsConfig {
    /// Series per metric and tenant (default 10,000).
    pub max_series_per_metric: usize,
    /// Distinct values per label, metric and tenant (default 1,000).
    pub max_values_per_label: usize,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        SpanMetricsConfig {
            max_series_per_metric: 10_000,
            max_values_per_label: 1_000,
        }
    }
}

/// The families of one tenant.
struct TenantFamilies {
    calls: Family,
    latency: Family,
    traces: Family,
    trace_duration: Family,
    genai: GenAiFamilies,
}

impl TenantFamilies {
    fn new() -> Self {
        TenantFamilies {
            calls: Family::new("traces_spanmetrics_calls_total", RED_LABELS, Shape::Counter),
            latency: Family::new(
                "traces_spanmetrics_latency",
                RED_LABELS,
                Shape::Histogram(&LATENCY_BUCKETS),
            ),
            traces: Family::new("sextant_traces_total", TRACE_LABELS, Shape::Counter),
            trace_duration: Family::new(
                "sextant_trace_duration_seconds",
                TRACE_DURATION_LABELS,
                Shape::Histogram(&LATENCY_BUCKETS),
            ),
            genai: GenAiFamilies::new(),
        }
    }

    /// The families with their own series (the GenAI ones are in `genai`).
    fn red(&self) -> [&Family; 4] {
        [
            &self.calls,
            &self.latency,
            &self.traces,
            &self.trace_duration,
        ]
    }
}

/// The span-metrics generator: feed it span batches, read cumulative samples.
pub struct SpanMetrics {
    limits: Limits,
    tenants: Mutex<HashMap<String, TenantFamilies>>,
}

/// `SPAN_KIND_*` name of an OTLP span kind.
pub fn span_kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_UNSPECIFIED",
    }
}

/// `STATUS_CODE_*` name of an OTLP status code.
pub fn status_code_name(code: i32) -> &'static str {
    match code {
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => "STATUS_CODE_UNSET",
    }
}

impl Default for SpanMetrics {
    fn default() -> Self {
        SpanMetrics::new(SpanMetricsConfig::default())
    }
}

/// The names of the span-metrics families (for checking their metadata).
#[cfg(test)]
pub(crate) fn family_names() -> Vec<&'static str> {
    let red = TenantFamilies::new().red().map(|f| f.name());
    red.into_iter()
        .chain(crate::genai_family::names())
        .collect()
}

impl SpanMetrics {
    /// A generator with these limits.
    pub fn new(config: SpanMetricsConfig) -> Self {
        SpanMetrics {
            limits: Limits {
                max_series: config.max_series_per_metric,
                max_label_values: config.max_values_per_label,
            },
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Adds the spans of one batch (span format v1 or v2) to `tenant`'s metrics; returns the
    /// number of spans observed (0 for a batch that is not a span batch).
    pub fn observe_batch(&self, tenant: &str, batch: &RecordBatch) -> usize {
        let Some(cols) = SpanCols::of(batch) else {
            tracing::warn!(
                columns = batch.num_columns(),
                "span metrics: not a span batch"
            );
            return 0;
        };
        let genai = GenAiColumns::of(batch);
        let mut tenants = self.tenants.lock();
        let fams = tenants
            .entry(tenant.to_owned())
            .or_insert_with(TenantFamilies::new);
        for row in 0..batch.num_rows() {
            self.observe_red(fams, &cols, row);
            if let Some(g) = &genai {
                self.observe_genai(fams, &cols, g, row);
            }
        }
        batch.num_rows()
    }

    fn observe_red(&self, f: &mut TenantFamilies, c: &SpanCols<'_>, row: usize) {
        let service = c.service.value(row);
        let status = status_code_name(c.status.value(row));
        let values = [
            service,
            c.name.value(row),
            span_kind_name(c.kind.value(row)),
            status,
        ];
        let hash = LabelHash::of(&values);
        f.calls.observe_hashed(hash, &values, 1.0, self.limits);
        let secs = c.duration.value(row) as f64 / 1e9;
        f.latency.observe_hashed(hash, &values, secs, self.limits);
        if c.parent.is_null(row) {
            // A root span stands for its whole trace: one request.
            let by_service = LabelHash::of(&[service]);
            let by_status = by_service.then(status);
            f.traces
                .observe_hashed(by_status, &[service, status], 1.0, self.limits);
            f.trace_duration
                .observe_hashed(by_service, &[service], secs, self.limits);
        }
    }

    fn observe_genai(
        &self,
        f: &mut TenantFamilies,
        c: &SpanCols<'_>,
        g: &GenAiColumns<'_>,
        row: usize,
    ) {
        let llm_call = g.llm_call(row);
        let op = g.str(off::OPERATION, row);
        if !llm_call && op.is_none() {
            return;
        }
        let s = |o| g.str(o, row).unwrap_or("");
        let labels = [
            c.service.value(row),
            s(off::PROVIDER),
            s(off::REQUEST_MODEL),
            op.unwrap_or(""),
            s(off::AGENT_NAME),
            s(off::TOOL_NAME),
        ];
        let hash = LabelHash::of_fixed(&labels);
        let mut t = f.genai.target(hash, &labels, self.limits);
        t.observe(Metric::Duration, c.duration.value(row) as f64 / 1e9);
        if let Some(ttfc) = g.u64(off::TTFC, row) {
            t.observe(Metric::Ttft, ttfc as f64 / 1e9);
        }
        if llm_call && let Some(cost) = g.cost_usd(row) {
            t.observe(Metric::Cost, cost);
        }
        let error = c.status.value(row) == 2 || g.str(off::ERROR_TYPE, row).is_some();
        t.observe(Metric::Calls(error), 1.0);
        if !llm_call {
            // Agent and workflow spans repeat their children's usage; count model calls only.
            return;
        }
        let types = [
            off::INPUT_TOKENS,
            off::OUTPUT_TOKENS,
            off::CACHE_READ_TOKENS,
            off::CACHE_WRITE_TOKENS,
            off::REASONING_TOKENS,
        ];
        for (i, o) in types.into_iter().enumerate() {
            if let Some(n) = g.u64(o, row) {
                t.observe(Metric::Tokens(i), n as f64);
            }
        }
    }

    /// Cumulative samples of every tenant's span metrics at `now_ms`, plus
    /// `sextant_spanmetrics_overflow_total{metric}` counting observations sent to overflow.
    pub fn snapshot(&self, now_ms: i64) -> Vec<(String, Labels, i64, f64)> {
        let tenants = self.tenants.lock();
        let mut out = Vec::new();
        let mut samples = Vec::new();
        for (tenant, fams) in tenants.iter() {
            samples.clear();
            for fam in fams.red() {
                fam.snapshot(now_ms, &mut samples);
                if fam.overflowed > 0 {
                    let l = Labels::from_pairs(&[
                        ("__name__", "sextant_spanmetrics_overflow_total"),
                        ("metric", fam.name()),
                    ]);
                    samples.push((l, now_ms, fam.overflowed as f64));
                }
            }
            fams.genai.snapshot(now_ms, &mut samples);
            out.extend(samples.drain(..).map(|(l, t, v)| (tenant.clone(), l, t, v)));
        }
        out
    }
}

/// The base span columns span metrics read.
struct SpanCols<'b> {
    name: &'b arrow_array::StringArray,
    service: &'b arrow_array::StringArray,
    kind: &'b arrow_array::Int32Array,
    status: &'b arrow_array::Int32Array,
    duration: &'b arrow_array::UInt64Array,
    parent: &'b arrow_array::ArrayRef,
}

impl<'b> SpanCols<'b> {
    fn of(batch: &'b RecordBatch) -> Option<Self> {
        if batch.num_columns() < col::GENAI {
            return None;
        }
        Some(SpanCols {
            name: batch.column(col::NAME).as_string_opt::<i32>()?,
            service: batch.column(col::SERVICE).as_string_opt::<i32>()?,
            kind: batch.column(col::KIND).as_primitive_opt::<Int32Type>()?,
            status: batch
                .column(col::STATUS_CODE)
                .as_primitive_opt::<Int32Type>()?,
            duration: batch
                .column(col::DURATION)
                .as_primitive_opt::<UInt64Type>()?,
            parent: batch.column(col::PARENT_SPAN_ID),
        })
    }
}

#[cfg(test)]
#[path = "spanmetrics_tests.rs"]
mod tests;
