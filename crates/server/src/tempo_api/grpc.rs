//! `tempopb.StreamingQuerier` over gRPC (h2c on the query port), which Grafana's Tempo data
//! source uses for streaming search, tag discovery and (from Tempo 2.7) metrics queries. Written by hand with tonic's server
//! plumbing; each call answers with one complete message (a stream of one), as a query
//! frontend does when every job finished at once.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::stream::{self, BoxStream, StreamExt};
use sextant_store::Store;
use tonic::codegen::Service;
use tonic::codegen::{Body, BoxFuture, StdError};
use tonic::server::{Grpc, NamedService, ServerStreamingService};
use tonic::{Request, Response, Status};

use super::search::{SearchParams, run as run_search};
use super::tempopb as pb;
use super::{metrics, tags};
use crate::error::ApiError;
use crate::state::AppState;

/// The service; add it to the query port with [`routes`].
#[derive(Clone)]
pub struct StreamingQuerier {
    state: AppState,
}

/// The gRPC routes of the query API, to merge into the query port's axum router
/// (`router.merge(routes(state).into_axum_router())` or alongside it).
pub fn routes(state: AppState) -> tonic::service::Routes {
    tonic::service::Routes::new(StreamingQuerier { state })
}

impl StreamingQuerier {
    /// The service over the query state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl NamedService for StreamingQuerier {
    const NAME: &'static str = "tempopb.StreamingQuerier";
}

type Handler<Req, Resp> = fn(&Store, &str, Req) -> Result<Resp, ApiError>;

/// A method that answers one request with one message.
struct OneShot<Req, Resp> {
    store: Arc<Store>,
    f: Handler<Req, Resp>,
    _m: PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp> OneShot<Req, Resp> {
    fn new(store: Arc<Store>, f: Handler<Req, Resp>) -> Self {
        Self {
            store,
            f,
            _m: PhantomData,
        }
    }
}

fn status(e: ApiError) -> Status {
    match e.status() {
        http::StatusCode::BAD_REQUEST => Status::invalid_argument(e.to_string()),
        http::StatusCode::NOT_FOUND => Status::not_found(e.to_string()),
        http::StatusCode::SERVICE_UNAVAILABLE => Status::unavailable(e.to_string()),
        _ => Status::internal(e.to_string()),
    }
}

fn tenant<T>(req: &Request<T>) -> Result<String, Status> {
    let t = match req.metadata().get("x-scope-orgid") {
        None => sextant_store::DEFAULT_TENANT.to_owned(),
        Some(v) => v
            .to_str()
            .map_err(|_| Status::invalid_argument("x-scope-orgid is not valid text"))?
            .trim()
            .to_owned(),
    };
    sextant_store::tenant::validate_tenant(&t)
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    Ok(t)
}

impl<Req, Resp> ServerStreamingService<Req> for OneShot<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
{
    type Response = Resp;
    type ResponseStream = BoxStream<'static, Result<Resp, Status>>;
    type Future = BoxFuture<Response<Self::ResponseStream>, Status>;

    fn call(&mut self, request: Request<Req>) -> Self::Future {
        let store = self.store.clone();
        let f = self.f;
        Box::pin(async move {
            let tenant = tenant(&request)?;
            let msg = request.into_inner();
            let result = tokio::task::spawn_blocking(move || f(&store, &tenant, msg))
                .await
                .map_err(|e| Status::internal(format!("query task failed: {e}")))?
                .map_err(status);
            Ok(Response::new(stream::once(async move { result }).boxed()))
        })
    }
}

async fn serve<Req, Resp, B>(
    svc: OneShot<Req, Resp>,
    req: http::Request<B>,
) -> http::Response<tonic::body::Body>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    let codec = tonic_prost::ProstCodec::<Resp, Req>::default();
    Grpc::new(codec).server_streaming(svc, req).await
}

fn search(
    store: &Store,
    tenant: &str,
    r: pb::SearchRequest,
) -> Result<pb::SearchResponse, ApiError> {
    run_search(store, tenant, &SearchParams::from_pb(&r)?)
}

fn tags_v2(
    store: &Store,
    tenant: &str,
    r: pb::SearchTagsRequest,
) -> Result<pb::SearchTagsV2Response, ApiError> {
    tags::names(
        store,
        tenant,
        &tags::TagArgs::from_pb(r.start, r.end, &r.scope, &r.query),
    )
}

fn tags_v1(
    store: &Store,
    tenant: &str,
    r: pb::SearchTagsRequest,
) -> Result<pb::SearchTagsResponse, ApiError> {
    Ok(tags::flatten(tags_v2(store, tenant, r)?))
}

fn values_v2(
    store: &Store,
    tenant: &str,
    r: pb::SearchTagValuesRequest,
) -> Result<pb::SearchTagValuesV2Response, ApiError> {
    let args = tags::TagArgs::from_pb(r.start, r.end, "", &r.query);
    tags::values(store, tenant, &r.tag_name, &args)
}

fn values_v1(
    store: &Store,
    tenant: &str,
    r: pb::SearchTagValuesRequest,
) -> Result<pb::SearchTagValuesResponse, ApiError> {
    let args = tags::TagArgs::from_pb(r.start, r.end, "", "");
    let field = tags::bare_tag_field(&r.tag_name);
    Ok(tags::untyped(tags::values(store, tenant, &field, &args)?))
}

fn metrics_range(
    store: &Store,
    tenant: &str,
    r: pb::QueryRangeRequest,
) -> Result<pb::QueryRangeResponse, ApiError> {
    let req = metrics::request_from_nanos(r.start, r.end, r.step, false)?;
    let (series, m) = metrics::run(store, tenant, &r.query, req)?;
    Ok(pb::QueryRangeResponse {
        series: metrics::time_series(&series),
        metrics: Some(m),
    })
}

fn metrics_instant(
    store: &Store,
    tenant: &str,
    r: pb::QueryInstantRequest,
) -> Result<pb::QueryInstantResponse, ApiError> {
    let req = metrics::request_from_nanos(r.start, r.end, 0, true)?;
    let (series, m) = metrics::run(store, tenant, &r.query, req)?;
    Ok(pb::QueryInstantResponse {
        series: metrics::instant_series(&series),
        metrics: Some(m),
    })
}

impl<B> Service<http::Request<B>> for StreamingQuerier
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let store = self.state.store.clone();
        let path = req
            .uri()
            .path()
            .trim_start_matches("/tempopb.StreamingQuerier/")
            .to_owned();
        Box::pin(async move {
            Ok(match path.as_str() {
                "Search" => serve(OneShot::new(store, search), req).await,
                "SearchTags" => serve(OneShot::new(store, tags_v1), req).await,
                "SearchTagsV2" => serve(OneShot::new(store, tags_v2), req).await,
                "SearchTagValues" => serve(OneShot::new(store, values_v1), req).await,
                "SearchTagValuesV2" => serve(OneShot::new(store, values_v2), req).await,
                "MetricsQueryRange" => serve(OneShot::new(store, metrics_range), req).await,
                "MetricsQueryInstant" => serve(OneShot::new(store, metrics_instant), req).await,
                _ => Status::unimplemented(format!("method {path} is not implemented")).into_http(),
            })
        })
    }
}
