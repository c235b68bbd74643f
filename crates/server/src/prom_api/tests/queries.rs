//! `/api/v1/query` and `/api/v1/query_range`: the seed's queries, parameter formats, errors.

use std::sync::Arc;
use std::time::Duration;

use sextant_promql::{Labels, Matcher, MemSource, Series, SeriesSource};

use super::*;

const P95: &str = "histogram_quantile(0.95, sum(rate(ai_platform_request_duration_seconds_bucket[5m])) by (service, le))";

fn p95_want() -> Vec<(String, f64)> {
    vec![
        (r#"{"service":"agent-service"}"#.into(), 26.0),
        (r#"{"service":"gateway"}"#.into(), 7.5),
    ]
}

fn assert_vector(got: Vec<(String, f64)>, want: Vec<(String, f64)>) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((gl, gv), (wl, wv)) in got.iter().zip(&want) {
        assert_eq!(gl, wl);
        assert_close(*gv, *wv, gl);
    }
}

#[tokio::test]
async fn seed_002_p95_latency_by_service() {
    let app = app();
    let (status, body) = get(&app, &format!("/api/v1/query?query={}&time=1800", enc(P95))).await;
    assert_eq!(status, StatusCode::OK);
    assert_vector(vector(&body), p95_want());
    assert_eq!(body["data"]["result"][0]["value"][0], 1800);
}

#[tokio::test]
async fn seed_002_rates_and_averages() {
    let app = app();
    let at = |q: &str| format!("/api/v1/query?query={}&time={}", enc(q), T / 1000);
    // 10 + 10 + 4 requests every 15 s.
    let (_, body) = get(&app, &at("sum(rate(ai_platform_requests_total[5m]))")).await;
    assert_vector(vector(&body), vec![("{}".into(), 24.0 / 15.0)]);
    // Average latency: seconds over requests per interval.
    let avg = "rate(ai_platform_request_duration_seconds_sum[5m]) / rate(ai_platform_request_duration_seconds_count[5m])";
    let (_, body) = get(&app, &at(avg)).await;
    let got: Vec<f64> = vector(&body).into_iter().map(|(_, v)| v).collect();
    let mut want = vec![48.0 / 4.0, 30.0 / 10.0, 5.0 / 10.0];
    want.sort_by(f64::total_cmp);
    let mut got_sorted = got.clone();
    got_sorted.sort_by(f64::total_cmp);
    for (g, w) in got_sorted.iter().zip(&want) {
        assert_close(*g, *w, avg);
    }
    // The seed's error-rate query matches on every label, status_code included, so as
    // written it yields 100 for the one 5xx series (Prometheus gives the same).
    let err_rate = "rate(ai_platform_requests_total{status_code=~\"5..\"}[5m]) / rate(ai_platform_requests_total[5m]) * 100";
    let (_, body) = get(&app, &at(err_rate)).await;
    let v = vector(&body);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].0.contains("\"status_code\":\"500\""));
    assert_close(v[0].1, 100.0, err_rate);
}

#[tokio::test]
async fn range_query_over_get_and_post() {
    let app = app();
    let params = format!("query={}&start=1200&end=1800&step=60", enc(P95));
    let (status, got) = get(&app, &format!("/api/v1/query_range?{params}")).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let (_, posted) = post(&app, "/api/v1/query_range", &params).await;
    assert_eq!(got, posted);
    assert_eq!(got["data"]["resultType"], "matrix");
    let result = got["data"]["result"].as_array().expect("series");
    assert_eq!(result.len(), 2);
    for (series, (labels, want)) in result.iter().zip(p95_want()) {
        assert_eq!(series["metric"].to_string(), labels);
        let values = series["values"].as_array().expect("points");
        assert_eq!(values.len(), 11);
        for (i, p) in values.iter().enumerate() {
            assert_eq!(p[0], 1200 + 60 * i as i64);
            assert_close(sample_value(p), want, &labels);
        }
    }
}

#[tokio::test]
async fn times_and_steps_in_every_format() {
    let app = app();
    let q = enc(P95);
    let unix = get(&app, &format!("/api/v1/query?query={q}&time=1800.000")).await;
    let rfc = get(
        &app,
        &format!("/api/v1/query?query={q}&time=1970-01-01T00:30:00Z"),
    )
    .await;
    let offset = get(
        &app,
        &format!(
            "/api/v1/query?query={q}&time={}",
            enc("1970-01-01T01:30:00+01:00")
        ),
    )
    .await;
    assert_eq!(unix, rfc);
    assert_eq!(unix, offset);
    let base = format!("/api/v1/query_range?query={q}&start=1200&end=1800");
    let secs = get(&app, &format!("{base}&step=60")).await;
    let dur = get(&app, &format!("{base}&step=1m")).await;
    let float = get(&app, &format!("{base}&step=60.0")).await;
    assert_eq!(secs, dur);
    assert_eq!(secs, float);
    let (_, frac) = get(&app, "/api/v1/query?query=time()&time=1800.123").await;
    assert_eq!(
        frac["data"]["result"],
        serde_json::json!([1800.123, "1800.123"])
    );
}

#[tokio::test]
async fn grafana_health_check_and_special_values() {
    let app = app();
    let (status, body) = get(&app, "/api/v1/query?query=1%2B1&time=100").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        serde_json::json!({"status":"success","data":{"resultType":"scalar","result":[100,"2"]}})
    );
    for (q, want) in [
        ("1/0", "+Inf"),
        ("-1/0", "-Inf"),
        ("0/0", "NaN"),
        ("1e-7", "1e-07"),
    ] {
        let (_, body) = get(&app, &format!("/api/v1/query?query={}&time=1", enc(q))).await;
        assert_eq!(body["data"]["result"][1], want, "{q}");
    }
    let (_, body) = get(&app, "/api/v1/query?query=%22hi%22&time=1").await;
    assert_eq!(
        body["data"],
        serde_json::json!({"resultType":"string","result":[1,"hi"]})
    );
    // Grafana's "Save & test": an instant `1+1` at 4 s, posted as a form.
    let (status, body) = post(&app, "/api/v1/query", "query=1%2B1&time=4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"],
        serde_json::json!({"resultType":"scalar","result":[4,"2"]})
    );
    // A range selector at an instant is a matrix; the window (T-60s, T] holds 4 scrapes.
    let sel = enc("ai_platform_requests_total{status_code=\"500\"}[1m]");
    let (_, body) = get(&app, &format!("/api/v1/query?query={sel}&time=1800")).await;
    assert_eq!(body["data"]["resultType"], "matrix");
    assert_eq!(
        body["data"]["result"][0]["values"],
        serde_json::json!([[1755, "117"], [1770, "118"], [1785, "119"], [1800, "120"]])
    );
    let (_, body) = get(&app, "/api/v1/query?query=no_such_metric&time=1").await;
    assert_eq!(
        body["data"],
        serde_json::json!({"resultType":"vector","result":[]})
    );
}

#[tokio::test]
async fn instant_query_defaults_to_now() {
    let app = app();
    let (status, body) = get(&app, "/api/v1/query?query=time()").await;
    assert_eq!(status, StatusCode::OK);
    let t = body["data"]["result"][0].as_f64().expect("time");
    let now = super::super::now_ms() as f64 / 1000.0;
    assert!((now - t).abs() < 60.0, "{t} vs {now}");
}

#[tokio::test]
async fn parameter_errors_are_bad_data() {
    let app = app();
    let cases = [
        ("/api/v1/query", "invalid parameter \"query\""),
        ("/api/v1/query?query=sum(", "invalid parameter \"query\""),
        (
            "/api/v1/query?query=up&time=soon",
            "invalid parameter \"time\": cannot parse \"soon\" to a valid timestamp",
        ),
        (
            "/api/v1/query?query=up&timeout=fast",
            "invalid parameter \"timeout\"",
        ),
        (
            "/api/v1/query_range?query=up&end=10&step=1",
            "invalid parameter \"start\"",
        ),
        (
            "/api/v1/query_range?query=up&start=10&step=1",
            "invalid parameter \"end\"",
        ),
        (
            "/api/v1/query_range?query=up&start=10&end=5&step=1",
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=5",
            "invalid parameter \"step\"",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=5&step=0",
            "zero or negative query resolution step widths are not accepted",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=11001&step=1",
            "exceeded maximum resolution of 11,000 points per timeseries",
        ),
        (
            "/api/v1/query_range?query=up%5B5m%5D&start=0&end=5&step=1",
            "invalid expression type \"range vector\" for range query",
        ),
    ];
    for (uri, msg) in cases {
        assert_error(&get(&app, uri).await, 400, "bad_data", msg);
    }
    // Exactly 11,000 steps is still allowed.
    let (status, _) = get(&app, "/api/v1/query_range?query=1&start=0&end=11000&step=1").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn evaluation_errors_are_execution() {
    let app = app();
    // `_sum` and `_count` collide once `rate` drops the metric name.
    let q = "rate({__name__=~\"ai_platform_request_duration_seconds_(sum|count)\"}[5m])";
    let resp = get(&app, &format!("/api/v1/query?query={}&time=1800", enc(q))).await;
    assert_error(&resp, 422, "execution", "same labelset");
}

#[tokio::test]
async fn tenants_are_separate_and_validated() {
    let data = Arc::new(seed_002());
    let empty = Arc::new(MemSource::new());
    let state = PromState::new(Arc::new(move |tenant: &str| -> Arc<dyn SeriesSource> {
        if tenant == "team-b" {
            empty.clone()
        } else {
            data.clone()
        }
    }));
    let app: Router = router(state);
    let uri = "/api/v1/query?query=count(ai_platform_requests_total)&time=1800";
    let (_, body) = get(&app, uri).await;
    assert_eq!(vector(&body), vec![("{}".to_string(), 4.0)]);
    let req = |tenant: &str| {
        Request::get(uri)
            .header("X-Scope-OrgID", tenant)
            .body(Body::empty())
            .expect("request")
    };
    let (_, body) = send(&app, req("team-b")).await;
    assert_eq!(vector(&body), vec![]);
    assert_error(&send(&app, req("../etc")).await, 400, "bad_data", "");
}

/// A source that fails or stalls, for the error paths.
struct Faulty {
    delay: Duration,
    fail: bool,
}

impl SeriesSource for Faulty {
    fn select(&self, _: &[Matcher], _: i64, _: i64) -> sextant_promql::Result<Vec<Series>> {
        std::thread::sleep(self.delay);
        if self.fail {
            return Err(sextant_promql::Error::Storage("disk on fire".into()));
        }
        Ok(vec![Series {
            labels: Labels::from_pairs(&[("__name__", "up")]),
            samples: vec![(0, 1.0)],
        }])
    }
    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> sextant_promql::Result<Vec<String>> {
        Err(sextant_promql::Error::Storage("disk on fire".into()))
    }
    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> sextant_promql::Result<Vec<String>> {
        Err(sextant_promql::Error::Storage("disk on fire".into()))
    }
}

#[tokio::test]
async fn storage_failures_and_timeouts() {
    let failing: Router = router(PromState::single(Arc::new(Faulty {
        delay: Duration::ZERO,
        fail: true,
    })));
    assert_error(
        &get(&failing, "/api/v1/query?query=up&time=1").await,
        500,
        "internal",
        "disk on fire",
    );
    assert_error(
        &get(&failing, "/api/v1/labels").await,
        422,
        "execution",
        "disk on fire",
    );
    let slow: Router = router(PromState::single(Arc::new(Faulty {
        delay: Duration::from_millis(400),
        fail: false,
    })));
    let started = std::time::Instant::now();
    let resp = get(&slow, "/api/v1/query?query=up&time=1&timeout=50ms").await;
    assert_error(&resp, 503, "timeout", "query timed out");
    assert!(
        started.elapsed() < Duration::from_millis(350),
        "answered at the timeout"
    );
    let (status, _) = get(&slow, "/api/v1/query?query=up&time=1&timeout=5s").await;
    assert_eq!(status, StatusCode::OK);
}

/// Counts reads; each takes `delay`.
struct Counting {
    delay: Duration,
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl SeriesSource for Counting {
    fn select(&self, _: &[Matcher], _: i64, _: i64) -> sextant_promql::Result<Vec<Series>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::thread::sleep(self.delay);
        Ok(Vec::new())
    }
    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> sextant_promql::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> sextant_promql::Result<Vec<String>> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn timed_out_queries_stop_reading_and_hold_their_slot() {
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let src: Arc<dyn SeriesSource> = Arc::new(Counting {
        delay: Duration::from_millis(300),
        reads: reads.clone(),
    });
    let options = crate::prom_api::PromOptions {
        max_concurrent_queries: 1,
        ..Default::default()
    };
    let state = PromState::with_options(
        Arc::new(move |_: &str| src.clone()),
        Arc::new(sextant_promql::Engine::default()),
        options,
    );
    let app: Router = router(state);
    let q = enc("a + b + c + d");
    let resp = get(
        &app,
        &format!("/api/v1/query?query={q}&time=1&timeout=100ms"),
    )
    .await;
    assert_error(&resp, 503, "timeout", "query timed out");
    // The abandoned evaluation still holds the only slot: the next query waits and times out.
    let resp = get(&app, "/api/v1/query?query=1&time=1&timeout=50ms").await;
    assert_error(&resp, 503, "timeout", "query timed out");
    // Once the first read returns, the deadline stops the other three.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    let (status, _) = get(&app, "/api/v1/query?query=1&time=1&timeout=1s").await;
    assert_eq!(status, StatusCode::OK);
}
