//! OTLP receivers: the `ingest` stage of the flow
//! (**ingest** -> normalize -> store -> query -> serve).
//!
//! Both transports share one router, so OTLP/HTTP (HTTP/1.1 or h2c) and OTLP/gRPC (h2c) are
//! accepted on every port it is served on: a client pointed at the "wrong" OTLP port still lands.
//! Bodies are capped before and after decompression, decoding runs off the async executor, and
//! overload is answered the OTLP way (HTTP 429/503 + Retry-After, gRPC UNAVAILABLE).

pub mod decode;
pub mod enrich;
pub mod error;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod metrics_ingest;
pub mod pipeline;
pub mod validate;

use std::sync::Arc;

pub use enrich::GenAiEnricher;
pub use error::IngestError;
pub use metrics::IngestMetrics;
pub use pipeline::{ContentPolicies, IngestLimits, Ingestor};

/// OTLP over HTTP and gRPC in one router.
pub fn otlp_router(ingestor: Arc<Ingestor>) -> axum::Router {
    grpc::routes(ingestor.clone())
        .into_axum_router()
        .merge(http::router(ingestor))
}
