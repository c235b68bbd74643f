//! Series, labels, label values, metadata, exemplars, format_query and the status routes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::prom_api::MetricMetadata;

#[tokio::test]
async fn series_by_match_get_and_post() {
    let app = app();
    let m = enc("ai_platform_requests_total{service=\"gateway\"}");
    let (status, body) = get(&app, &format!("/api/v1/series?match[]={m}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = body["data"].as_array().expect("label sets");
    // /chat 200, /chat 500, /search 200.
    assert_eq!(data.len(), 3);
    assert_eq!(
        data[0],
        json!({"__name__":"ai_platform_requests_total","endpoint":"/chat","instance":"gateway-service:8000",
               "job":"gateway","method":"POST","service":"gateway","status_code":"200"})
    );
    let (_, posted) = post(&app, "/api/v1/series", &format!("match[]={m}")).await;
    assert_eq!(body, posted);
    // Two selectors are a union without duplicates.
    let two = format!(
        "match[]={m}&match[]={}",
        enc("{__name__=\"ai_platform_requests_total\"}")
    );
    let (_, body) = get(&app, &format!("/api/v1/series?{two}")).await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(4));
    // Outside the time range nothing matches.
    let (_, body) = get(
        &app,
        &format!("/api/v1/series?match[]={m}&start=7200&end=9000"),
    )
    .await;
    assert_eq!(body["data"], json!([]));
    // `limit` truncates with Prometheus's warning.
    let (_, body) = get(&app, &format!("/api/v1/series?match[]={m}&limit=1")).await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["warnings"], json!(["results truncated due to limit"]));
}

#[tokio::test]
async fn series_errors() {
    let app = app();
    assert_error(
        &get(&app, "/api/v1/series").await,
        400,
        "bad_data",
        "no match[] parameter provided",
    );
    let all = enc("{job=~\".*\"}");
    assert_error(
        &get(&app, &format!("/api/v1/series?match[]={all}")).await,
        400,
        "bad_data",
        "at least one non-empty matcher",
    );
    assert_error(
        &get(&app, "/api/v1/series?match[]=up%7B").await,
        400,
        "bad_data",
        "invalid parameter \"match[]\"",
    );
    assert_error(
        &get(&app, "/api/v1/series?match[]=up&start=x").await,
        400,
        "bad_data",
        "invalid parameter \"start\"",
    );
}

#[tokio::test]
async fn label_names_and_values() {
    let app = app();
    let (_, body) = get(&app, "/api/v1/labels").await;
    assert_eq!(
        body["data"],
        json!([
            "__name__",
            "endpoint",
            "instance",
            "job",
            "le",
            "method",
            "service",
            "status_code"
        ])
    );
    let (_, posted) = post(&app, "/api/v1/labels", "").await;
    assert_eq!(body, posted);
    let m = enc("ai_platform_request_duration_seconds_sum");
    let (_, body) = get(&app, &format!("/api/v1/labels?match[]={m}")).await;
    assert_eq!(
        body["data"],
        json!(["__name__", "endpoint", "instance", "job", "service"])
    );

    let (_, body) = get(&app, "/api/v1/label/__name__/values").await;
    assert_eq!(
        body["data"],
        json!([
            "ai_platform_request_duration_seconds_bucket",
            "ai_platform_request_duration_seconds_count",
            "ai_platform_request_duration_seconds_sum",
            "ai_platform_requests_total"
        ])
    );
    let sel = enc("ai_platform_requests_total{status_code=\"500\"}");
    let (_, body) = get(&app, &format!("/api/v1/label/service/values?match[]={sel}")).await;
    assert_eq!(body["data"], json!(["gateway"]));
    let (_, body) = get(&app, "/api/v1/label/no_such_label/values").await;
    assert_eq!(body["data"], json!([]));
    // Prometheus 3 escapes dotted names in the path as `U__`.
    let (_, body) = get(&app, "/api/v1/label/U__status__code/values").await;
    assert_eq!(body["data"], json!(["200", "500"]));
    let (_, body) = get(&app, "/api/v1/label/le/values?limit=2").await;
    assert_eq!(body["data"], json!(["+Inf", "0.1"]));
    assert_eq!(body["warnings"], json!(["results truncated due to limit"]));
    assert_error(
        &get(&app, "/api/v1/labels?limit=many").await,
        400,
        "bad_data",
        "limit must be a number",
    );
}

#[tokio::test]
async fn metadata_empty_or_from_the_provider() {
    let (status, body) = get(&app(), "/api/v1/metadata").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status":"success","data":{}}));

    let mut state = PromState::single(Arc::new(seed_002()));
    state.metadata = Some(Arc::new(|_tenant: &str| {
        let meta = |kind: &str, help: &str| MetricMetadata {
            kind: kind.into(),
            help: help.into(),
            unit: String::new(),
        };
        BTreeMap::from([
            (
                "ai_platform_requests_total".to_string(),
                vec![meta("counter", "Total requests")],
            ),
            (
                "ai_platform_request_duration_seconds".to_string(),
                vec![meta("histogram", "Request latency in seconds")],
            ),
        ])
    }));
    let app: Router = router(state);
    let (_, body) = get(&app, "/api/v1/metadata?metric=ai_platform_requests_total").await;
    assert_eq!(
        body["data"],
        json!({"ai_platform_requests_total":[{"type":"counter","help":"Total requests","unit":""}]})
    );
    let (_, body) = get(&app, "/api/v1/metadata?limit=1").await;
    assert_eq!(body["data"].as_object().map(|o| o.len()), Some(1));
}

#[tokio::test]
async fn exemplars_and_format_query() {
    let app = app();
    let (status, body) = get(&app, "/api/v1/query_exemplars?query=up&start=0&end=10").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status":"success","data":[]}));
    assert_error(
        &get(&app, "/api/v1/query_exemplars?query=sum(").await,
        400,
        "bad_data",
        "",
    );
    assert_error(
        &get(&app, "/api/v1/query_exemplars?query=up&start=10&end=0").await,
        400,
        "bad_data",
        "end timestamp must not be before start timestamp",
    );
    let q = enc("sum   by(service)(rate(x[5m]))");
    let (_, body) = get(&app, &format!("/api/v1/format_query?query={q}")).await;
    assert_eq!(body["data"], "sum by (service) (rate(x[5m]))");
    let (_, posted) = post(&app, "/api/v1/format_query", &format!("query={q}")).await;
    assert_eq!(body, posted);
    assert_error(
        &get(&app, "/api/v1/format_query?query=sum(").await,
        400,
        "bad_data",
        "invalid parameter \"query\"",
    );
}

#[tokio::test]
async fn status_routes_have_prometheus_fields() {
    let app = app();
    let (_, body) = get(&app, "/api/v1/status/buildinfo").await;
    for field in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(body["data"][field].is_string(), "buildinfo.{field}: {body}");
    }
    // Grafana takes a buildinfo with `features` for Mimir and expects a ruler.
    assert!(body["data"].get("features").is_none());
    assert_eq!(body["data"]["version"], "3.0.0");
    let (_, body) = get(&app, "/api/v1/status/runtimeinfo").await;
    for field in [
        "startTime",
        "CWD",
        "lastConfigTime",
        "storageRetention",
        "GOGC",
        "GODEBUG",
    ] {
        assert!(
            body["data"][field].is_string(),
            "runtimeinfo.{field}: {body}"
        );
    }
    assert!(body["data"]["GOMAXPROCS"].as_u64().is_some_and(|n| n >= 1));
    let (_, body) = get(&app, "/api/v1/status/flags").await;
    assert_eq!(body["data"]["query.timeout"], "120s");
    let (_, body) = get(&app, "/api/v1/rules").await;
    assert_eq!(body["data"], json!({"groups": []}));
    let (_, body) = get(&app, "/api/v1/alerts").await;
    assert_eq!(body["data"], json!({"alerts": []}));
}
