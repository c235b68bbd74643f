//! Small HTTP helpers over curl (a real client, and the one users type).

use std::process::Command;

use opentelemetry_proto::tonic::common::v1::any_value::Value as Av;
use opentelemetry_proto::tonic::trace::v1::{Span, TracesData};
use prost::Message;

/// Runs curl with `args` against `http://{base}{path}`; returns status and body.
pub fn curl(base: &str, path: &str, args: &[&str]) -> (u16, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-S", "--max-time", "30", "-w", "\n%{http_code}"])
        .args(args)
        .arg(format!("http://{base}{path}"))
        .output()
        .expect("run curl");
    let mut body = out.stdout;
    let nl = body.iter().rposition(|b| *b == b'\n').unwrap_or(0);
    let code = String::from_utf8_lossy(&body[nl + 1..])
        .trim()
        .parse()
        .unwrap_or(0);
    body.truncate(nl);
    (code, body)
}

pub fn get(base: &str, path: &str) -> (u16, Vec<u8>) {
    curl(base, path, &[])
}

/// Posts a file with headers; returns status, body and response headers.
pub fn post_file(
    base: &str,
    path: &str,
    file: &std::path::Path,
    headers: &[&str],
) -> (u16, Vec<u8>) {
    let data = format!("@{}", file.display());
    let mut args = vec!["-X", "POST", "--data-binary", data.as_str()];
    for h in headers {
        args.push("-H");
        args.push(h);
    }
    curl(base, path, &args)
}

/// All spans of a trace through the Tempo API in protobuf, or none on 404.
pub fn trace_spans(
    api: &str,
    trace_hex: &str,
    tenant: Option<&str>,
) -> Vec<(Span, Vec<(String, serde_json::Value)>)> {
    let h = tenant.map(|t| format!("X-Scope-OrgID: {t}"));
    let mut args = vec!["-H", "Accept: application/protobuf"];
    if let Some(h) = &h {
        args.extend(["-H", h.as_str()]);
    }
    let (code, body) = curl(api, &format!("/api/traces/{trace_hex}"), &args);
    if code == 404 {
        return Vec::new();
    }
    assert_eq!(
        code,
        200,
        "trace {trace_hex}: {}",
        String::from_utf8_lossy(&body)
    );
    let data = TracesData::decode(&body[..]).expect("tempopb.Trace");
    let mut out = Vec::new();
    for rs in data.resource_spans {
        let resource: Vec<(String, serde_json::Value)> = rs
            .resource
            .map(|r| {
                r.attributes
                    .iter()
                    .map(|kv| {
                        (
                            kv.key.clone(),
                            to_json(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for s in ss.spans {
                out.push((s, resource.clone()));
            }
        }
    }
    out
}

/// An attribute value as JSON, the way the Python client reports what it sent.
pub fn to_json(v: Option<&Av>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Some(Av::StringValue(s)) => J::String(s.clone()),
        Some(Av::BoolValue(b)) => J::Bool(*b),
        Some(Av::IntValue(i)) => J::from(*i),
        Some(Av::DoubleValue(d)) => J::from(*d),
        Some(Av::ArrayValue(a)) => {
            J::Array(a.values.iter().map(|x| to_json(x.value.as_ref())).collect())
        }
        Some(Av::BytesValue(b)) => J::String(hex::encode(b)),
        Some(Av::KvlistValue(l)) => J::Object(
            l.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        to_json(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                    )
                })
                .collect(),
        ),
        Some(Av::StringValueStrindex(i)) => J::from(*i),
        None => J::Null,
    }
}
