//! The `tempopb.StreamingQuerier` gRPC service as Grafana streams from it: search, tags and
//! metrics over the same fixture as the HTTP tests.

use super::*;

/// Calls a `tempopb.StreamingQuerier` method with one framed message; the response body and
/// the `grpc-status` (from the trailers, or the headers of an immediate error).
async fn grpc_exchange<Req: Message>(f: &Fixture, method: &str, msg: &Req) -> (Vec<u8>, String) {
    use tonic::codegen::{Body as _, Service};
    let mut frame = vec![0u8];
    let body = msg.encode_to_vec();
    frame.extend((body.len() as u32).to_be_bytes());
    frame.extend(body);
    let req = Request::post(format!("/tempopb.StreamingQuerier/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::from(frame))
        .expect("request");
    let state = AppState {
        store: f.store.clone(),
        registry: Arc::new(Default::default()),
        metrics: QueryMetrics::default(),
        ready: Arc::new(AtomicBool::new(true)),
    };
    let mut svc = crate::tempo_api::grpc::StreamingQuerier::new(state);
    let resp = svc.call(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    let status =
        |h: &http::HeaderMap| (h.get("grpc-status")).map(|v| v.to_str().expect("ascii").to_owned());
    let mut code = status(resp.headers());
    let mut body = Box::pin(resp.into_body());
    let mut data = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        match frame.expect("frame").into_data() {
            Ok(d) => data.extend_from_slice(&d),
            Err(f) => code = code.or(f.into_trailers().ok().as_ref().and_then(status)),
        }
    }
    (data, code.expect("grpc-status"))
}

/// Calls a `tempopb.StreamingQuerier` method that succeeds; the messages streamed back.
async fn grpc_call<Req: Message, Resp: Message + Default>(
    f: &Fixture,
    method: &str,
    msg: &Req,
) -> Vec<Resp> {
    let (bytes, code) = grpc_exchange(f, method, msg).await;
    assert_eq!(code, "0", "{method}");
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 5 {
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        out.push(Resp::decode(&rest[5..5 + len]).expect("message"));
        rest = &rest[5 + len..];
    }
    out
}

#[tokio::test]
async fn streaming_querier_answers_search_and_tags() {
    let f = setup(true);
    let req = pb::SearchRequest {
        query: r#"{ span.gen_ai.tool.name = "search" }"#.into(),
        limit: 5,
        ..Default::default()
    };
    let got: Vec<pb::SearchResponse> = grpc_call(&f, "Search", &req).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].traces.len(), 1);
    assert_eq!(got[0].traces[0].trace_id, id(1));
    let req = pb::SearchTagValuesRequest {
        tag_name: "resource.service.name".into(),
        ..Default::default()
    };
    let got: Vec<pb::SearchTagValuesV2Response> = grpc_call(&f, "SearchTagValuesV2", &req).await;
    let values: Vec<&str> = got[0].tag_values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["agent-svc", "oi-app", "web"]);
    let got: Vec<pb::SearchTagsV2Response> =
        grpc_call(&f, "SearchTagsV2", &pb::SearchTagsRequest::default()).await;
    assert!(got[0].scopes.iter().any(|s| s.name == "intrinsic"));
}

#[tokio::test]
async fn streaming_querier_answers_metrics() {
    let f = setup(true);
    let req = pb::QueryRangeRequest {
        query: "{ } | count_over_time() by (resource.service.name)".into(),
        start: BASE,
        end: BASE + 600 * SEC,
        step: 60 * SEC,
        ..Default::default()
    };
    let got: Vec<pb::QueryRangeResponse> = grpc_call(&f, "MetricsQueryRange", &req).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].series.len(), 3);
    let total: f64 = (got[0].series.iter())
        .flat_map(|s| s.samples.iter().map(|p| p.value))
        .sum();
    assert_eq!(total, 5.0, "every span counted once");
    let steps: Vec<i64> = got[0].series[0]
        .samples
        .iter()
        .map(|p| p.timestamp_ms)
        .collect();
    assert!(steps.iter().all(|t| t % 60_000 == 0), "{steps:?}");
    let req = pb::QueryInstantRequest {
        query: r#"{ span.http.method = "GET" } | count_over_time()"#.into(),
        start: BASE,
        end: BASE + 600 * SEC,
    };
    let got: Vec<pb::QueryInstantResponse> = grpc_call(&f, "MetricsQueryInstant", &req).await;
    assert_eq!(got[0].series.len(), 1);
    assert_eq!(got[0].series[0].value, 1.0);
    let bad = pb::QueryRangeRequest {
        query: "{ }".into(),
        ..Default::default()
    };
    let (_, code) = grpc_exchange(&f, "MetricsQueryRange", &bad).await;
    assert_eq!(code, (tonic::Code::InvalidArgument as i32).to_string());
}
