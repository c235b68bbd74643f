//! OTLP/gRPC: the collector's `TraceService`, plus `MetricsService` and `LogsService` that answer
//! UNIMPLEMENTED with a reason until those signals are built.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::error::IngestError;
use crate::pipeline::{Ingestor, TraceExport};

#[derive(Clone)]
pub struct OtlpGrpc {
    ingestor: Arc<Ingestor>,
}

/// All OTLP gRPC services as routes that can be merged into an axum router.
pub fn routes(ingestor: Arc<Ingestor>) -> tonic::service::Routes {
    let limit = ingestor.limits().max_decompressed_bytes;
    let svc = OtlpGrpc { ingestor };
    tonic::service::Routes::new(
        TraceServiceServer::new(svc.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(limit),
    )
    .add_service(
        MetricsServiceServer::new(svc.clone()).accept_compressed(CompressionEncoding::Gzip),
    )
    .add_service(LogsServiceServer::new(svc).accept_compressed(CompressionEncoding::Gzip))
}

fn tenant_of<T>(req: &Request<T>) -> Result<String, IngestError> {
    match req.metadata().get("x-scope-orgid") {
        None => Ok(sextant_store::DEFAULT_TENANT.to_owned()),
        Some(v) => v
            .to_str()
            .map(|s| s.trim().to_owned())
            .map_err(|_| IngestError::BadTenant("x-scope-orgid is not valid text".into())),
    }
}

#[tonic::async_trait]
impl TraceService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let m = self.ingestor.metrics();
        let result = match tenant_of(&request) {
            Ok(tenant) => {
                self.ingestor
                    .export_traces(&tenant, TraceExport::Message(request.into_inner()))
                    .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(rej) => {
                m.request("grpc", "traces", "ok");
                let partial_success = (rej.spans > 0).then(|| ExportTracePartialSuccess {
                    rejected_spans: rej.spans,
                    error_message: rej.message(),
                });
                Ok(Response::new(ExportTraceServiceResponse {
                    partial_success,
                }))
            }
            Err(e) => {
                m.request("grpc", "traces", e.reason());
                Err(e.into())
            }
        }
    }
}

#[tonic::async_trait]
impl MetricsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let result = async {
            let tenant = request
                .metadata()
                .get("x-scope-orgid")
                .map(|v| v.to_str().map(|s| s.trim().to_owned()))
                .transpose()
                .map_err(|_| IngestError::BadTenant("X-Scope-OrgID is not valid text".into()))?
                .unwrap_or_else(|| sextant_store::DEFAULT_TENANT.to_owned());
            sextant_store::tenant::validate_tenant(&tenant)
                .map_err(|e| IngestError::BadTenant(e.to_string()))?;
            let series = self
                .ingestor
                .series()
                .cloned()
                .ok_or(IngestError::NotImplemented("metrics"))?;
            let req = request.into_inner();
            tokio::task::spawn_blocking(move || series.export_otlp(&tenant, &req))
                .await
                .map_err(|e| IngestError::Malformed {
                    format: "otlp",
                    reason: format!("decoder failed: {e}"),
                })?
        }
        .await;
        match result {
            Ok(out) => {
                self.ingestor.metrics().request("grpc", "metrics", "ok");
                Ok(Response::new(ExportMetricsServiceResponse {
                    partial_success: (out.rejected > 0).then_some(
                        opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsPartialSuccess {
                            rejected_data_points: out.rejected,
                            error_message: out.message,
                        },
                    ),
                }))
            }
            Err(e) => {
                self.ingestor
                    .metrics()
                    .request("grpc", "metrics", e.reason());
                Err(e.into())
            }
        }
    }
}

#[tonic::async_trait]
impl LogsService for OtlpGrpc {
    async fn export(
        &self,
        _: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.ingestor
            .metrics()
            .request("grpc", "logs", "not_implemented");
        Err(IngestError::NotImplemented("logs").into())
    }
}
