//! Property tests of the mapping: `normalize` (and pricing and totals after it) never panics on
//! arbitrary attributes, events, status and resource; the result is a function of the span (same
//! input, same output); and attribute order never changes it, except between two keys that the
//! rule table gives the same field at the same rank (there the first one sent wins, by design).

use std::collections::HashSet;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use proptest::prelude::*;
use sextant_genai::rules::{BY_KEY, EVENT_RULES, NAME_RULES, RULES};
use sextant_genai::{Catalog, TraceTotals, normalize, normalize_ref, price, price_ref};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::StringValue),
        prop_oneof![
            Just("gpt-4o-mini"),
            Just("ft:gpt-4o-mini:acme::x"),
            Just("openai"),
            Just("AGENT"),
            Just("TOOL"),
            Just("LLM"),
            Just("chat"),
            Just("12"),
            Just("-3"),
            Just("0.5"),
            Just(r#"{"model": "gpt-4o"}"#),
            Just("<class 'openai.RateLimitError'>"),
            Just(""),
        ]
        .prop_map(|s| Value::StringValue(s.to_string())),
        any::<i64>().prop_map(Value::IntValue),
        (0i64..100_000).prop_map(Value::IntValue),
        any::<f64>().prop_map(Value::DoubleValue),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            Just(1e300),
            Just(2.5e-5)
        ]
        .prop_map(Value::DoubleValue),
        any::<bool>().prop_map(Value::BoolValue),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::BytesValue),
    ]
}

fn value() -> impl Strategy<Value = Option<AnyValue>> {
    let nested = leaf().prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| {
                Value::ArrayValue(ArrayValue {
                    values: v.into_iter().map(|x| AnyValue { value: Some(x) }).collect(),
                })
            }),
            proptest::collection::vec(("[a-z.]{1,8}", inner), 0..3).prop_map(|v| {
                Value::KvlistValue(KeyValueList {
                    values: v
                        .into_iter()
                        .map(|(k, x)| KeyValue {
                            key: k,
                            value: Some(AnyValue { value: Some(x) }),
                            ..Default::default()
                        })
                        .collect(),
                })
            }),
        ]
    });
    proptest::option::weighted(0.95, nested.prop_map(|v| AnyValue { value: Some(v) }))
}

/// A key the rule tables know (most of the time), or anything.
fn key() -> impl Strategy<Value = String> {
    let known: Vec<&'static str> = RULES
        .iter()
        .map(|r| r.key)
        .chain(NAME_RULES.iter().map(|r| r.key))
        .collect();
    prop_oneof![
        4 => proptest::sample::select(known).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn attrs(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec((key(), value()), 0..max).prop_map(|v| {
        v.into_iter()
            .map(|(key, value)| KeyValue {
                key,
                value,
                ..Default::default()
            })
            .collect()
    })
}

fn event() -> impl Strategy<Value = Event> {
    let names: Vec<&'static str> = EVENT_RULES.iter().map(|(n, _)| *n).collect();
    let name = prop_oneof![
        3 => proptest::sample::select(names).prop_map(str::to_string),
        1 => any::<String>(),
    ];
    (name, any::<u64>(), attrs(6)).prop_map(|(name, time_unix_nano, attributes)| Event {
        name,
        time_unix_nano,
        attributes,
        ..Default::default()
    })
}

prop_compose! {
    fn span()(
        name in prop_oneof![Just("weather-agent".to_string()), Just(String::new()), any::<String>()],
        start in any::<u64>(),
        attributes in attrs(16),
        events in proptest::collection::vec(event(), 0..5),
        status in proptest::option::of((0i32..4, any::<String>())),
    ) -> Span {
        Span {
            name,
            start_time_unix_nano: start,
            end_time_unix_nano: start.saturating_add(1_000),
            attributes,
            events,
            status: status.map(|(code, message)| Status { code, message }),
            ..Default::default()
        }
    }
}

fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    proptest::option::of(
        prop_oneof![Just("openlit".to_string()), any::<String>()].prop_map(|name| {
            InstrumentationScope {
                name,
                ..Default::default()
            }
        }),
    )
}

fn resource() -> impl Strategy<Value = Option<Resource>> {
    proptest::option::of(attrs(6).prop_map(|attributes| Resource {
        attributes,
        ..Default::default()
    }))
}

/// Keeps the first attribute of each key, and drops any attribute that would compete with a kept
/// one for the same field at the same rank (the only case where order decides, by design).
fn without_rank_ties(attrs: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut keys = HashSet::new();
    let mut slots = HashSet::new();
    attrs
        .into_iter()
        .filter(|kv| {
            if !keys.insert(kv.key.clone()) {
                return false;
            }
            let rules = BY_KEY
                .get(kv.key.as_bytes())
                .map(|e| e.rules.as_slice())
                .unwrap_or(&[]);
            if rules.iter().any(|r| slots.contains(&(r.field, r.rank))) {
                return false;
            }
            slots.extend(rules.iter().map(|r| (r.field, r.rank)));
            true
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn normalize_price_and_totals_never_panic(
        span in span(),
        scope in scope(),
        resource in resource(),
        at in any::<u64>(),
    ) {
        let mut c = normalize(resource.as_ref(), scope.as_ref(), &span);
        price(Catalog::embedded(), &mut c, at);
        let mut totals = TraceTotals::default();
        totals.add(&c);
        // One span adds at most one call of each kind.
        prop_assert!(totals.llm_calls <= 1 && totals.tool_calls <= 1);
        if let Some(cost) = &c.cost {
            prop_assert!(cost.usd.is_finite() && cost.usd >= 0.0, "cost {}", cost.usd);
        }
    }

    /// Ingest's borrowed path (`normalize_ref`, `price_ref`) gives the fields, cost and source
    /// of the owned one.
    #[test]
    fn borrowed_and_owned_paths_agree(
        span in span(),
        scope in scope(),
        resource in resource(),
        at in any::<u64>(),
    ) {
        let mut owned = normalize(resource.as_ref(), scope.as_ref(), &span);
        price(Catalog::embedded(), &mut owned, at);
        let mut borrowed = normalize_ref(resource.as_ref(), scope.as_ref(), &span);
        price_ref(Catalog::embedded(), &mut borrowed, at);
        if let Some(cost) = &borrowed.cost {
            prop_assert_eq!(&cost.source.source, &owned.cost.as_ref().expect("owned cost").source);
        }
        prop_assert_eq!(borrowed.is_llm_call(), sextant_genai::is_llm_call(&owned));
        prop_assert_eq!(borrowed.into_owned(), owned);
    }

    #[test]
    fn same_span_same_canonical(span in span(), scope in scope(), resource in resource()) {
        let a = normalize(resource.as_ref(), scope.as_ref(), &span);
        let b = normalize(resource.as_ref(), scope.as_ref(), &span.clone());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn attribute_order_does_not_matter_outside_rank_ties(
        span in span(),
        scope in scope(),
        resource in resource(),
        seed in any::<u64>(),
    ) {
        let mut span = span;
        span.attributes = without_rank_ties(span.attributes);
        let want = normalize(resource.as_ref(), scope.as_ref(), &span);
        // A seeded Fisher-Yates shuffle (the crate has no rand dependency).
        let mut x = seed | 1;
        let n = span.attributes.len();
        for i in (1..n).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            span.attributes.swap(i, (x % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(normalize(resource.as_ref(), scope.as_ref(), &span), want);
    }
}
