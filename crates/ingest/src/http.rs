//! OTLP/HTTP: `POST /v1/traces` and `POST /v1/metrics` (protobuf or JSON, optionally gzip),
//! Prometheus remote write at `POST /api/v1/write`, and a clear refusal for logs, which are not
//! built yet.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use sextant_store::DEFAULT_TENANT;

use crate::decode::{Format, decompress};
use crate::error::IngestError;
use crate::pipeline::{Ingestor, TraceExport};
use crate::validate::Rejections;

/// Seconds a refused client is told to wait.
const RETRY_AFTER_SECS: &str = "2";

/// `google.rpc.Status`, the body of OTLP/HTTP error responses.
#[derive(Clone, PartialEq, Message, serde::Serialize)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The OTLP/HTTP routes.
pub fn router(ingestor: Arc<Ingestor>) -> Router {
    let limit = ingestor.limits().max_request_bytes;
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics_export))
        .route("/api/v1/write", post(remote_write))
        .route("/v1/logs", post(|h: HeaderMap| not_implemented(h, "logs")))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(ingestor)
}

/// Remote write alone, for the query port (where Prometheus users point `remote_write`, as they
/// do at Mimir).
pub fn remote_write_router(ingestor: Arc<Ingestor>) -> Router {
    let limit = ingestor.limits().max_request_bytes;
    Router::new()
        .route("/api/v1/write", post(remote_write))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(ingestor)
}

/// The tenant named by `X-Scope-OrgID`, or the default one.
pub fn tenant_of(headers: &HeaderMap) -> Result<String, IngestError> {
    match headers.get("x-scope-orgid") {
        None => Ok(DEFAULT_TENANT.to_owned()),
        Some(v) => v
            .to_str()
            .map(|s| s.trim().to_owned())
            .map_err(|_| IngestError::BadTenant("X-Scope-OrgID is not valid text".into())),
    }
}

async fn traces(State(ing): State<Arc<Ingestor>>, headers: HeaderMap, body: Body) -> Response {
    let format = Format::from_content_type(header_str(&headers, header::CONTENT_TYPE));
    let reply_format = *format.as_ref().unwrap_or(&Format::Protobuf);
    match export(&ing, &headers, body, format).await {
        Ok(rej) => {
            ing.metrics().request("http", "traces", "ok");
            success(reply_format, &rej)
        }
        Err(e) => {
            ing.metrics().request("http", "traces", e.reason());
            tracing::debug!(error = %e, "otlp/http traces refused");
            error_response(&e, reply_format)
        }
    }
}

async fn export(
    ing: &Ingestor,
    headers: &HeaderMap,
    body: Body,
    format: Result<Format, IngestError>,
) -> Result<Rejections, IngestError> {
    let format = format?;
    let tenant = tenant_of(headers)?;
    let limits = ing.limits();
    let raw = axum::body::to_bytes(body, limits.max_request_bytes)
        .await
        .map_err(|_| IngestError::TooLarge {
            what: "request body",
            limit: limits.max_request_bytes,
        })?;
    let encoding = header_str(headers, header::CONTENT_ENCODING);
    let body = decompress(raw, encoding, limits.max_decompressed_bytes)?;
    ing.export_traces(&tenant, TraceExport::Body(body, format))
        .await
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn success(format: Format, rej: &Rejections) -> Response {
    let partial = (rej.spans > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: rej.spans,
        error_message: rej.message(),
    });
    let msg = ExportTraceServiceResponse {
        partial_success: partial,
    };
    let body = match format {
        Format::Protobuf => msg.encode_to_vec(),
        Format::Json => serde_json::to_vec(&msg).unwrap_or_else(|_| b"{}".to_vec()),
    };
    respond(StatusCode::OK, format, body)
}

/// An OTLP/HTTP error: the status the spec asks for, a `google.rpc.Status` body in the request's
/// format, and `Retry-After` when the client should retry.
pub fn error_response(e: &IngestError, format: Format) -> Response {
    let status = RpcStatus {
        code: e.grpc_code() as i32,
        message: e.to_string(),
    };
    let body = match format {
        Format::Protobuf => status.encode_to_vec(),
        Format::Json => serde_json::to_vec(&status).unwrap_or_default(),
    };
    let mut resp = respond(e.http_status(), format, body);
    if e.is_retryable() {
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    resp
}

fn respond(status: StatusCode, format: Format, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        body,
    )
        .into_response()
}

async fn not_implemented(headers: HeaderMap, signal: &'static str) -> Response {
    let format = Format::from_content_type(header_str(&headers, header::CONTENT_TYPE))
        .unwrap_or(Format::Protobuf);
    error_response(&IngestError::NotImplemented(signal), format)
}

async fn metrics_export(
    State(ing): State<Arc<Ingestor>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = Format::from_content_type(header_str(&headers, header::CONTENT_TYPE));
    let reply_format = *format.as_ref().unwrap_or(&Format::Protobuf);
    match export_metrics(&ing, &headers, body, format).await {
        Ok(out) => {
            ing.metrics().request("http", "metrics", "ok");
            let partial = (out.rejected > 0).then_some(ExportMetricsPartialSuccess {
                rejected_data_points: out.rejected,
                error_message: out.message,
            });
            let msg = ExportMetricsServiceResponse {
                partial_success: partial,
            };
            let body = match reply_format {
                Format::Protobuf => msg.encode_to_vec(),
                Format::Json => serde_json::to_vec(&msg).unwrap_or_else(|_| b"{}".to_vec()),
            };
            respond(StatusCode::OK, reply_format, body)
        }
        Err(e) => {
            ing.metrics().request("http", "metrics", e.reason());
            error_response(&e, reply_format)
        }
    }
}

async fn read_body(
    ing: &Ingestor,
    headers: &HeaderMap,
    body: Body,
) -> Result<bytes::Bytes, IngestError> {
    let limits = ing.limits();
    let raw = axum::body::to_bytes(body, limits.max_request_bytes)
        .await
        .map_err(|_| IngestError::TooLarge {
            what: "request body",
            limit: limits.max_request_bytes,
        })?;
    let encoding = header_str(headers, header::CONTENT_ENCODING);
    decompress(raw, encoding, limits.max_decompressed_bytes)
}

async fn export_metrics(
    ing: &Arc<Ingestor>,
    headers: &HeaderMap,
    body: Body,
    format: Result<Format, IngestError>,
) -> Result<crate::metrics_ingest::MetricsOutcome, IngestError> {
    let format = format?;
    let tenant = tenant_of(headers)?;
    sextant_store::tenant::validate_tenant(&tenant)
        .map_err(|e| IngestError::BadTenant(e.to_string()))?;
    let series = ing
        .series()
        .cloned()
        .ok_or(IngestError::NotImplemented("metrics"))?;
    let body = read_body(ing, headers, body).await?;
    tokio::task::spawn_blocking(move || {
        let req = crate::metrics_ingest::decode_metrics(&body, format)?;
        series.export_otlp(&tenant, &req)
    })
    .await
    .map_err(|e| IngestError::Malformed {
        format: "otlp",
        reason: format!("decoder failed: {e}"),
    })?
}

/// Prometheus remote write 1.0 (`Content-Encoding: snappy`, protobuf `WriteRequest`); answers
/// 204 like Prometheus and Mimir, 400 for samples the store refuses.
async fn remote_write(
    State(ing): State<Arc<Ingestor>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let tenant = tenant_of(&headers)?;
        sextant_store::tenant::validate_tenant(&tenant)
            .map_err(|e| IngestError::BadTenant(e.to_string()))?;
        let series = ing
            .series()
            .cloned()
            .ok_or(IngestError::NotImplemented("remote write"))?;
        let limit = ing.limits().max_request_bytes;
        let raw = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| IngestError::TooLarge {
                what: "request body",
                limit,
            })?;
        tokio::task::spawn_blocking(move || series.export_remote_write(&tenant, &raw))
            .await
            .map_err(|e| IngestError::Malformed {
                format: "remote-write",
                reason: format!("decoder failed: {e}"),
            })?
    }
    .await;
    match result {
        Ok(out) if out.rejected == 0 => {
            ing.metrics().request("http", "remote_write", "ok");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(out) => {
            ing.metrics().request("http", "remote_write", "partial");
            (
                StatusCode::BAD_REQUEST,
                format!("{} samples rejected: {}\n", out.rejected, out.message),
            )
                .into_response()
        }
        Err(e) => {
            ing.metrics().request("http", "remote_write", e.reason());
            let mut resp = (e.http_status(), format!("{e}\n")).into_response();
            if e.is_retryable() {
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECS),
                );
            }
            resp
        }
    }
}
