//! Translation cases with hand-computed expectations, one table row per case.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use sextant_promql::is_stale;

use super::*;
use crate::otlp_cache::LabelCache;

const CUMULATIVE: i32 = 2;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.to_owned())),
        }),
        ..Default::default()
    }
}

fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "lib".to_owned(),
                    version: "1.0".to_owned(),
                    ..Default::default()
                }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.to_owned(),
        unit: unit.to_owned(),
        data: Some(data),
        ..Default::default()
    }
}

fn number(t_ms: u64, v: Option<number_data_point::Value>, attrs: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        time_unix_nano: t_ms * 1_000_000,
        value: v,
        ..Default::default()
    }
}

fn int(v: i64) -> Option<number_data_point::Value> {
    Some(number_data_point::Value::AsInt(v))
}

fn sum(monotonic: bool, temporality: i32, points: Vec<NumberDataPoint>) -> Data {
    Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality,
        is_monotonic: monotonic,
    })
}

fn histogram(temporality: i32, t_ms: u64, counts: &[u64], bounds: &[f64], s: f64) -> Data {
    Data::Histogram(Histogram {
        data_points: vec![HistogramDataPoint {
            time_unix_nano: t_ms * 1_000_000,
            count: counts.iter().sum(),
            sum: Some(s),
            bucket_counts: counts.to_vec(),
            explicit_bounds: bounds.to_vec(),
            ..Default::default()
        }],
        aggregation_temporality: temporality,
    })
}

/// Samples as sorted `labels time value` lines without the common scope labels.
fn render(samples: &[Sample]) -> Vec<String> {
    let mut lines: Vec<String> = samples
        .iter()
        .map(|(l, t, v)| {
            let l = l.filter(|n| !n.starts_with("otel_scope"));
            let v = if is_stale(*v) {
                "stale".to_owned()
            } else {
                v.to_string()
            };
            format!("{l} {t} {v}")
        })
        .collect();
    lines.sort();
    lines
}

/// Translates `reqs` in order, and checks that a label cache kept across them (one that starts
/// over after every point, and one that keeps everything) gives exactly the same samples.
fn run(reqs: &[ExportMetricsServiceRequest]) -> (Vec<String>, Rejections) {
    let fresh = run_with(reqs, None);
    for max in [1, 1000] {
        let cached = run_with(reqs, Some(LabelCache::new(max)));
        assert_eq!(
            cached, fresh,
            "label cache of {max} changes the translation"
        );
    }
    fresh
}

fn run_with(
    reqs: &[ExportMetricsServiceRequest],
    mut cache: Option<LabelCache>,
) -> (Vec<String>, Rejections) {
    let mut state = DeltaState::default();
    let mut all = Vec::new();
    let mut rej = Rejections::default();
    for r in reqs {
        let (s, rj) = match cache.as_mut() {
            Some(c) => otlp_to_samples_cached(r, &mut state, c),
            None => otlp_to_samples(r, &mut state),
        };
        all.extend(s);
        rej.rejected_data_points += rj.rejected_data_points;
        rej.message = rej.message.or(rj.message);
    }
    (render(&all), rej)
}

fn svc() -> Vec<KeyValue> {
    vec![kv("service.name", "api")]
}

#[test]
fn translation_cases() {
    let cases: Vec<(&str, Vec<ExportMetricsServiceRequest>, Vec<&str>)> = vec![
        (
            "monotonic sum with resource identity and target_info",
            vec![request(
                vec![
                    kv("service.name", "api"),
                    kv("service.namespace", "shop"),
                    kv("service.instance.id", "i-1"),
                    kv("host.name", "h1"),
                ],
                vec![metric(
                    "http.requests",
                    "{request}",
                    sum(
                        true,
                        CUMULATIVE,
                        vec![number(1000, int(7), vec![kv("http.method", "GET")])],
                    ),
                )],
            )],
            vec![
                r#"{__name__="http_requests_total", http_method="GET", instance="i-1", job="shop/api"} 1000 7"#,
                r#"{__name__="target_info", host_name="h1", instance="i-1", job="shop/api"} 1000 1"#,
            ],
        ),
        (
            "non-monotonic sum is a gauge; gauge of unit 1 is a ratio",
            vec![request(
                svc(),
                vec![
                    metric(
                        "db.connections",
                        "{connection}",
                        sum(false, CUMULATIVE, vec![number(5, int(-2), vec![])]),
                    ),
                    metric(
                        "cpu.utilization",
                        "1",
                        Data::Gauge(Gauge {
                            data_points: vec![number(
                                5,
                                Some(number_data_point::Value::AsDouble(0.25)),
                                vec![],
                            )],
                        }),
                    ),
                ],
            )],
            vec![
                r#"{__name__="cpu_utilization_ratio", job="api"} 5 0.25"#,
                r#"{__name__="db_connections", job="api"} 5 -2"#,
            ],
        ),
        (
            "cumulative histogram becomes cumulative le buckets, sum and count",
            vec![request(
                svc(),
                vec![metric(
                    "rpc.duration",
                    "s",
                    histogram(CUMULATIVE, 9, &[2, 3, 1], &[0.1, 1.0], 4.5),
                )],
            )],
            vec![
                r#"{__name__="rpc_duration_seconds_bucket", job="api", le="+Inf"} 9 6"#,
                r#"{__name__="rpc_duration_seconds_bucket", job="api", le="0.1"} 9 2"#,
                r#"{__name__="rpc_duration_seconds_bucket", job="api", le="1"} 9 5"#,
                r#"{__name__="rpc_duration_seconds_count", job="api"} 9 6"#,
                r#"{__name__="rpc_duration_seconds_sum", job="api"} 9 4.5"#,
            ],
        ),
        (
            "delta sums and histograms accumulate across requests",
            vec![
                request(
                    svc(),
                    vec![
                        metric(
                            "jobs",
                            "",
                            sum(true, DELTA, vec![number(1, int(3), vec![])]),
                        ),
                        metric("size", "By", histogram(DELTA, 1, &[1, 0], &[10.0], 2.0)),
                    ],
                ),
                request(
                    svc(),
                    vec![
                        metric(
                            "jobs",
                            "",
                            sum(true, DELTA, vec![number(2, int(4), vec![])]),
                        ),
                        metric("size", "By", histogram(DELTA, 2, &[1, 2], &[10.0], 50.0)),
                    ],
                ),
            ],
            vec![
                r#"{__name__="jobs_total", job="api"} 1 3"#,
                r#"{__name__="jobs_total", job="api"} 2 7"#,
                r#"{__name__="size_bytes_bucket", job="api", le="+Inf"} 1 1"#,
                r#"{__name__="size_bytes_bucket", job="api", le="+Inf"} 2 4"#,
                r#"{__name__="size_bytes_bucket", job="api", le="10"} 1 1"#,
                r#"{__name__="size_bytes_bucket", job="api", le="10"} 2 2"#,
                r#"{__name__="size_bytes_count", job="api"} 1 1"#,
                r#"{__name__="size_bytes_count", job="api"} 2 4"#,
                r#"{__name__="size_bytes_sum", job="api"} 1 2"#,
                r#"{__name__="size_bytes_sum", job="api"} 2 52"#,
            ],
        ),
        (
            "summary quantiles, sum and count",
            vec![request(
                svc(),
                vec![metric(
                    "latency",
                    "ms",
                    Data::Summary(Summary {
                        data_points: vec![SummaryDataPoint {
                            time_unix_nano: 3_000_000,
                            count: 10,
                            sum: 123.0,
                            quantile_values: vec![
                                ValueAtQuantile {
                                    quantile: 0.5,
                                    value: 11.0,
                                },
                                ValueAtQuantile {
                                    quantile: 0.99,
                                    value: 40.0,
                                },
                            ],
                            ..Default::default()
                        }],
                    }),
                )],
            )],
            vec![
                r#"{__name__="latency_milliseconds", job="api", quantile="0.5"} 3 11"#,
                r#"{__name__="latency_milliseconds", job="api", quantile="0.99"} 3 40"#,
                r#"{__name__="latency_milliseconds_count", job="api"} 3 10"#,
                r#"{__name__="latency_milliseconds_sum", job="api"} 3 123"#,
            ],
        ),
        (
            "exponential histogram converted to classic buckets (scale 0: base 2)",
            vec![request(
                svc(),
                vec![metric(
                    "payload",
                    "By",
                    Data::ExponentialHistogram(ExponentialHistogram {
                        data_points: vec![ExponentialHistogramDataPoint {
                            time_unix_nano: 4_000_000,
                            count: 5,
                            sum: Some(7.0),
                            scale: 0,
                            zero_count: 1,
                            positive: Some(Buckets {
                                offset: 0,
                                bucket_counts: vec![1, 2],
                            }),
                            negative: Some(Buckets {
                                offset: 0,
                                bucket_counts: vec![1],
                            }),
                            ..Default::default()
                        }],
                        aggregation_temporality: CUMULATIVE,
                    }),
                )],
            )],
            vec![
                r#"{__name__="payload_bytes_bucket", job="api", le="+Inf"} 4 5"#,
                r#"{__name__="payload_bytes_bucket", job="api", le="-1"} 4 1"#,
                r#"{__name__="payload_bytes_bucket", job="api", le="0"} 4 2"#,
                r#"{__name__="payload_bytes_bucket", job="api", le="2"} 4 3"#,
                r#"{__name__="payload_bytes_bucket", job="api", le="4"} 4 5"#,
                r#"{__name__="payload_bytes_count", job="api"} 4 5"#,
                r#"{__name__="payload_bytes_sum", job="api"} 4 7"#,
            ],
        ),
        (
            "no recorded value becomes a staleness marker; colliding keys join with ;",
            vec![request(
                svc(),
                vec![metric(
                    "temp",
                    "Cel",
                    Data::Gauge(Gauge {
                        data_points: vec![
                            NumberDataPoint {
                                flags: 1,
                                ..number(6, None, vec![])
                            },
                            number(7, int(20), vec![kv("a.b", "x"), kv("a_b", "y")]),
                        ],
                    }),
                )],
            )],
            vec![
                r#"{__name__="temp_celsius", a_b="x;y", job="api"} 7 20"#,
                r#"{__name__="temp_celsius", job="api"} 6 stale"#,
            ],
        ),
    ];
    for (name, reqs, want) in cases {
        let (got, rej) = run(&reqs);
        assert_eq!(got, want, "case: {name}");
        assert_eq!(rej, Rejections::default(), "case: {name}");
    }
}

#[test]
fn invalid_points_are_counted() {
    let req = request(
        svc(),
        vec![
            metric(
                "g",
                "",
                Data::Gauge(Gauge {
                    data_points: vec![number(1, None, vec![])],
                }),
            ),
            metric("h", "", histogram(CUMULATIVE, 1, &[1, 2, 3], &[1.0], 6.0)),
            Metric {
                name: "empty".to_owned(),
                ..Default::default()
            },
        ],
    );
    let (got, rej) = run(&[req]);
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(rej.rejected_data_points, 3);
    assert!(rej.message.is_some_and(|m| m.contains("\"g\"")));
}
