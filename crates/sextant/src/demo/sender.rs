//! The demo's HTTP side: posts export requests to one OTLP/HTTP traces URL over a keep-alive
//! client, retries what the OTLP spec says to retry, and reads partial successes.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tokio::time::Instant;

use super::{DEFAULT_RETRY_WAIT, MAX_RESPONSE_BYTES, MAX_RETRIES, MAX_RETRY_WAIT, REQUEST_TIMEOUT};

/// The answer to one export request, after retries.
#[derive(Debug)]
pub(super) enum Sent {
    /// 2xx; the server may still have rejected some spans (OTLP partial success).
    Accepted {
        rejected_spans: u64,
        message: String,
    },
    /// Any other status.
    Refused { status: StatusCode, message: String },
}

/// A raw HTTP answer.
pub(super) struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// `google.rpc.Status`, the body of OTLP/HTTP error responses.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Posts export requests to one OTLP/HTTP traces URL over a keep-alive client.
pub(super) struct Sender {
    pub(super) client: Client<HttpConnector, Full<Bytes>>,
    pub(super) url: Uri,
    pub(super) tenant: Option<HeaderValue>,
}

impl Sender {
    pub(super) fn new(endpoint: &str, tenant: Option<&str>) -> anyhow::Result<Self> {
        let tenant = tenant
            .map(HeaderValue::from_str)
            .transpose()
            .context("--tenant is not a valid header value")?;
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            url: traces_url(endpoint)?,
            tenant,
        })
    }

    /// Sends one body, retrying (bounded) while the server asks to come back later.
    pub(super) async fn send(&self, body: Bytes) -> anyhow::Result<Sent> {
        let mut retries = 0;
        loop {
            let started = Instant::now();
            let reply = self.post(body.clone()).await?;
            let elapsed = started.elapsed();
            tracing::debug!(status = %reply.status, ?elapsed, retries, "export request answered");
            if reply.status.is_success() {
                return Ok(accepted(&reply.body));
            }
            if !retryable(reply.status) || retries == MAX_RETRIES {
                let message = error_message(&reply);
                return Ok(Sent::Refused {
                    status: reply.status,
                    message,
                });
            }
            retries += 1;
            tokio::time::sleep(retry_after(&reply.headers)).await;
        }
    }

    pub(super) async fn post(&self, body: Bytes) -> anyhow::Result<Reply> {
        let mut request = Request::post(self.url.clone())
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .header(
                header::USER_AGENT,
                concat!("sextant-demo/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(tenant) = &self.tenant {
            request = request.header("X-Scope-OrgID", tenant.clone());
        }
        let request = request
            .body(Full::new(body))
            .context("building the export request")?;
        let exchange = async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| anyhow!(e))?;
            anyhow::Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body: body.to_bytes(),
            })
        };
        let reply = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(reply) => reply,
            Err(_) => Err(anyhow!("no answer within {} s", REQUEST_TIMEOUT.as_secs())),
        };
        reply.with_context(|| {
            format!(
                "cannot send traces to {} (is the server running?)",
                self.url
            )
        })
    }
}

/// `{endpoint}/v1/traces`, or the endpoint itself if it already ends with `/v1/traces`.
pub(super) fn traces_url(endpoint: &str) -> anyhow::Result<Uri> {
    let (scheme, rest) = endpoint
        .trim()
        .split_once("://")
        .unwrap_or(("http", endpoint.trim()));
    let rest = rest.trim_end_matches('/');
    let url = if rest.ends_with("/v1/traces") {
        format!("{scheme}://{rest}")
    } else {
        format!("{scheme}://{rest}/v1/traces")
    };
    let uri: Uri = url
        .parse()
        .with_context(|| format!("invalid endpoint {endpoint:?}"))?;
    let has_host = uri.host().is_some_and(|host| !host.is_empty());
    match uri.scheme_str() {
        Some("http") if has_host && !rest.starts_with('/') => Ok(uri),
        Some("https") => bail!("endpoint {endpoint:?}: `sextant demo` speaks plain http only"),
        _ => bail!("invalid endpoint {endpoint:?}: expected http://host:port"),
    }
}

/// The OTLP retryable statuses.
pub(super) fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds, capped; absent or an HTTP-date: the default wait.
pub(super) fn retry_after(headers: &HeaderMap) -> Duration {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map_or(DEFAULT_RETRY_WAIT, |secs| {
            Duration::from_secs_f64(secs.min(MAX_RETRY_WAIT.as_secs_f64()))
        })
}

/// Reads an `ExportTraceServiceResponse`; an empty or undecodable body means all accepted.
pub(super) fn accepted(body: &[u8]) -> Sent {
    match ExportTraceServiceResponse::decode(body) {
        Ok(response) => {
            let partial = response.partial_success.unwrap_or_default();
            Sent::Accepted {
                rejected_spans: u64::try_from(partial.rejected_spans).unwrap_or(0),
                message: partial.error_message,
            }
        }
        Err(error) => {
            tracing::debug!(%error, "export response is not an ExportTraceServiceResponse");
            Sent::Accepted {
                rejected_spans: 0,
                message: String::new(),
            }
        }
    }
}

/// The reason an error response gives: a `google.rpc.Status` message, or the start of the body.
pub(super) fn error_message(reply: &Reply) -> String {
    let protobuf = reply
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-protobuf"));
    let message = match RpcStatus::decode(reply.body.as_ref()) {
        Ok(status) if protobuf => status.message,
        _ => String::from_utf8_lossy(&reply.body)
            .trim()
            .chars()
            .take(200)
            .collect(),
    };
    if message.is_empty() {
        reply.status.to_string()
    } else {
        format!("{}: {message}", reply.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_become_trace_urls() {
        let cases = [
            ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
            ("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"),
            (
                "http://collector:4318/otlp",
                "http://collector:4318/otlp/v1/traces",
            ),
            (
                "http://127.0.0.1:4318/v1/traces",
                "http://127.0.0.1:4318/v1/traces",
            ),
            (
                "http://127.0.0.1:4318/v1/traces/",
                "http://127.0.0.1:4318/v1/traces",
            ),
            ("localhost:4318", "http://localhost:4318/v1/traces"),
        ];
        for (endpoint, expected) in cases {
            let url = traces_url(endpoint).expect(endpoint);
            assert_eq!(url.to_string(), expected, "{endpoint}");
        }
        for bad in [
            "https://sextant.example:4318",
            "ftp://host",
            "http://",
            "http://bad host",
        ] {
            assert!(traces_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retry_after_is_read_and_capped() {
        let wait = |value: Option<&'static str>| {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static(value));
            }
            retry_after(&headers)
        };
        assert_eq!(wait(Some("2")), Duration::from_secs(2));
        assert_eq!(wait(Some("0")), Duration::ZERO);
        assert_eq!(wait(Some("3600")), MAX_RETRY_WAIT);
        assert_eq!(wait(None), DEFAULT_RETRY_WAIT);
        assert_eq!(
            wait(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            DEFAULT_RETRY_WAIT
        );
    }

    #[test]
    fn error_messages_come_from_the_body() {
        let reply = |content_type: &'static str, body: Vec<u8>| Reply {
            status: StatusCode::BAD_REQUEST,
            headers: HeaderMap::from_iter([(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            )]),
            body: Bytes::from(body),
        };
        let status = RpcStatus {
            code: 3,
            message: "span has no trace id".into(),
        };
        let protobuf = reply("application/x-protobuf", status.encode_to_vec());
        assert_eq!(
            error_message(&protobuf),
            "400 Bad Request: span has no trace id"
        );
        let text = reply("text/plain", b"  unknown tenant\n".to_vec());
        assert_eq!(error_message(&text), "400 Bad Request: unknown tenant");
        assert_eq!(
            error_message(&reply("text/plain", Vec::new())),
            "400 Bad Request"
        );
    }
}
