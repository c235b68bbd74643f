//! Prometheus remote-write 1.0 receiver: a snappy block-compressed `prometheus.WriteRequest`.
//!
//! The four messages are declared by hand with `prost::Message` derives instead of generated
//! from `remote.proto`/`types.proto`: that needs `protoc` and a build script for ~30 lines, and
//! declaring only the fields 1.0 uses makes prost skip the rest (exemplars, native histograms,
//! metadata) without allocating for them.

use sextant_promql::Labels;

use crate::error::{Error, Result};
use crate::otlp::Sample;

/// Largest compressed body accepted (as Prometheus's default for a remote-write receiver).
pub const MAX_COMPRESSED_BYTES: usize = 32 << 20;
/// Largest decompressed body accepted.
pub const MAX_DECOMPRESSED_BYTES: usize = 128 << 20;

/// `prometheus.WriteRequest` (fields of remote write 1.0 only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Label pairs, `__name__` included.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Samples, oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<RwSample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RwSample {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

fn valid_label_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Decodes a remote-write 1.0 body into samples. Sizes are checked before decompressing (the
/// snappy header announces the decompressed length); every series needs a `__name__` and valid,
/// distinct label names.
pub fn decode_remote_write(body: &[u8]) -> Result<Vec<Sample>> {
    if body.len() > MAX_COMPRESSED_BYTES {
        return Err(Error::TooLarge {
            size: body.len(),
            limit: MAX_COMPRESSED_BYTES,
        });
    }
    let len =
        snap::raw::decompress_len(body).map_err(|e| Error::RemoteWrite(format!("snappy: {e}")))?;
    if len > MAX_DECOMPRESSED_BYTES {
        return Err(Error::TooLarge {
            size: len,
            limit: MAX_DECOMPRESSED_BYTES,
        });
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| Error::RemoteWrite(format!("snappy: {e}")))?;
    let req = <WriteRequest as prost::Message>::decode(raw.as_slice())
        .map_err(|e| Error::RemoteWrite(format!("protobuf: {e}")))?;
    let total: usize = req.timeseries.iter().map(|t| t.samples.len()).sum();
    let mut out = Vec::with_capacity(total);
    for ts in req.timeseries {
        if ts.samples.is_empty() {
            continue;
        }
        let mut pairs = Vec::with_capacity(ts.labels.len());
        for l in ts.labels {
            if !valid_label_name(&l.name) {
                return Err(Error::RemoteWrite(format!(
                    "invalid label name {:?}",
                    l.name
                )));
            }
            pairs.push((l.name, l.value));
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(Error::RemoteWrite("duplicate label name".to_owned()));
        }
        let labels = Labels::new(pairs);
        if labels.metric_name().is_none() {
            return Err(Error::RemoteWrite(format!(
                "series {labels} has no __name__"
            )));
        }
        out.extend(
            ts.samples
                .iter()
                .map(|s| (labels.clone(), s.timestamp, s.value)),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn encode(req: &WriteRequest) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .expect("compress")
    }

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| Label {
                    name: (*n).to_owned(),
                    value: (*v).to_owned(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| RwSample { value, timestamp })
                .collect(),
        }
    }

    #[test]
    fn decodes_series_and_samples() -> Result<()> {
        let req = WriteRequest {
            timeseries: vec![
                series(
                    &[("job", "a"), ("__name__", "up")],
                    &[(1000, 1.0), (2000, 0.0)],
                ),
                series(&[("__name__", "x")], &[]),
            ],
        };
        let got = decode_remote_write(&encode(&req))?;
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        assert_eq!(got, vec![(l.clone(), 1000, 1.0), (l, 2000, 0.0)]);
        Ok(())
    }

    #[test]
    fn rejects_bad_input() {
        let bad = |ts: TimeSeries| {
            decode_remote_write(&encode(&WriteRequest {
                timeseries: vec![ts],
            }))
        };
        assert!(matches!(
            bad(series(&[("job", "a")], &[(1, 1.0)])),
            Err(Error::RemoteWrite(_))
        ));
        assert!(matches!(
            bad(series(&[("__name__", "a"), ("1x", "b")], &[(1, 1.0)])),
            Err(Error::RemoteWrite(_))
        ));
        assert!(matches!(
            bad(series(&[("__name__", "a"), ("__name__", "b")], &[(1, 1.0)])),
            Err(Error::RemoteWrite(_))
        ));
        assert!(matches!(
            decode_remote_write(b"not snappy"),
            Err(Error::RemoteWrite(_))
        ));
        // A header announcing 1 GiB is refused before decompressing.
        let mut huge = Vec::new();
        let mut n: u64 = 1 << 30;
        while n >= 0x80 {
            huge.push((n as u8) | 0x80);
            n >>= 7;
        }
        huge.push(n as u8);
        assert!(matches!(
            decode_remote_write(&huge),
            Err(Error::TooLarge { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = decode_remote_write(&body);
        }
    }
}
