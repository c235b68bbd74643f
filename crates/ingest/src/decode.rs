//! Turning request bodies into OTLP messages: bounded reading, bounded gzip, protobuf or JSON.

use std::io::Read;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::error::IngestError;

/// The body formats OTLP/HTTP defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Json,
}

impl Format {
    /// Picks the format from a `Content-Type` value (parameters such as charset are ignored).
    pub fn from_content_type(ct: Option<&str>) -> Result<Self, IngestError> {
        let ct = ct
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match ct.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
            "application/json" => Ok(Format::Json),
            "" => Err(IngestError::UnsupportedMediaType(
                "missing Content-Type: send application/x-protobuf or application/json".into(),
            )),
            other => Err(IngestError::UnsupportedMediaType(format!(
                "unsupported Content-Type {other:?}: send application/x-protobuf or application/json"
            ))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Protobuf => "protobuf",
            Format::Json => "json",
        }
    }
}

/// Undoes `Content-Encoding`, refusing to inflate past `limit` bytes (a gzip bomb stops there).
pub fn decompress(body: Bytes, encoding: Option<&str>, limit: usize) -> Result<Bytes, IngestError> {
    match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") | Some("x-gzip") => {
            let mut out = Vec::with_capacity((body.len() * 4).min(limit));
            flate2::read::MultiGzDecoder::new(&body[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| IngestError::Malformed {
                    format: "gzip",
                    reason: e.to_string(),
                })?;
            if out.len() > limit {
                return Err(IngestError::TooLarge {
                    what: "decompressed body",
                    limit,
                });
            }
            Ok(out.into())
        }
        Some(other) => Err(IngestError::UnsupportedMediaType(format!(
            "unsupported Content-Encoding {other:?}: use gzip or none"
        ))),
    }
}

/// Decodes an `ExportTraceServiceRequest` in the given format.
pub fn decode_traces(
    body: &[u8],
    format: Format,
) -> Result<ExportTraceServiceRequest, IngestError> {
    let malformed = |reason: String| IngestError::Malformed {
        format: format.name(),
        reason,
    };
    match format {
        Format::Protobuf => {
            ExportTraceServiceRequest::decode(body).map_err(|e| malformed(e.to_string()))
        }
        Format::Json => serde_json::from_slice(body).map_err(|e| malformed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("gzip");
        e.finish().expect("gzip").into()
    }

    #[test]
    fn gzip_bomb_is_refused_at_the_limit() {
        let bomb = gzip(&vec![0u8; 50 << 20]);
        assert!(bomb.len() < 100_000);
        let err = decompress(bomb, Some("gzip"), 1 << 20).expect_err("bomb");
        assert!(matches!(err, IngestError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn gzip_round_trips_and_garbage_is_malformed() {
        assert_eq!(
            &decompress(gzip(b"hello"), Some("gzip"), 100).expect("ok")[..],
            b"hello"
        );
        let err = decompress(Bytes::from_static(b"not gzip"), Some("gzip"), 100).expect_err("bad");
        assert!(matches!(err, IngestError::Malformed { .. }));
        assert!(decompress(Bytes::new(), Some("br"), 100).is_err());
    }

    #[test]
    fn otlp_json_mapping_is_understood() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
          "scopeSpans":[{"scope":{"name":"s"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
          "spanId":"eee19b7ec3c1b174","name":"n","kind":2,"startTimeUnixNano":"1544712660000000000",
          "endTimeUnixNano":1544712661000000000,"attributes":[{"key":"i","value":{"intValue":"42"}},
          {"key":"j","value":{"intValue":7}}],"unknownField":true}]}]}]}"#;
        let req = decode_traces(body, Format::Json).expect("json");
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            hex::encode(&span.trace_id),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(span.kind, 2);
        assert_eq!(span.end_time_unix_nano, 1544712661000000000);
        assert_eq!(span.attributes.len(), 2);
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Format::from_content_type(Some("application/json; charset=utf-8")).ok(),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_content_type(Some("application/x-protobuf")).ok(),
            Some(Format::Protobuf)
        );
        assert!(Format::from_content_type(Some("text/plain")).is_err());
        assert!(Format::from_content_type(None).is_err());
    }

    proptest::proptest! {
        /// Arbitrary bytes never panic the decoders.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = decode_traces(&data, Format::Protobuf);
            let _ = decode_traces(&data, Format::Json);
            let _ = decompress(Bytes::from(data), Some("gzip"), 1 << 16);
        }
    }
}
