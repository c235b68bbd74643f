//! OTLP building blocks: the resource and scope of a service, and typed attributes.

use super::*;

pub(super) fn resource(service: &Service, rng: &mut StdRng) -> Resource {
    let pod = format!(
        "{}-{}-{}",
        service.name,
        alphanumeric(rng, 10).to_lowercase(),
        alphanumeric(rng, 5).to_lowercase()
    );
    Resource {
        attributes: vec![
            string("service.name", service.name),
            string("service.version", service.version),
            string("service.namespace", "demo"),
            string("service.instance.id", &uuid(rng)),
            string("host.name", &pod),
            string("deployment.environment.name", "production"),
            string("telemetry.sdk.name", "opentelemetry"),
            string("telemetry.sdk.language", service.language),
            string("telemetry.sdk.version", service.sdk_version),
        ],
        ..Default::default()
    }
}

pub(super) fn scope(service: &Service) -> InstrumentationScope {
    InstrumentationScope {
        name: service.scope.0.into(),
        version: service.scope.1.into(),
        ..Default::default()
    }
}

pub(super) fn attribute(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub(super) fn string(key: &str, value: &str) -> KeyValue {
    attribute(key, Value::StringValue(value.into()))
}

pub(super) fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, Value::IntValue(value))
}

pub(super) fn double(key: &str, value: f64) -> KeyValue {
    attribute(key, Value::DoubleValue(value))
}

pub(super) fn strings(key: &str, values: &[&str]) -> KeyValue {
    let values = values
        .iter()
        .map(|v| AnyValue {
            value: Some(Value::StringValue((*v).into())),
        })
        .collect();
    attribute(key, Value::ArrayValue(ArrayValue { values }))
}
