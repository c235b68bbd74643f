//! Real payloads captured from real GenAI instrumentation libraries (../shared/corpus), posted
//! with curl as captured and gzipped; every span of every trace is found again.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::e2e::client::{post_file, trace_spans};
use crate::e2e::harness::{Server, shared};

#[test]
fn corpus_payloads_round_trip_with_curl_and_gzip() {
    let corpus = shared().join("corpus");
    let data = tempfile::tempdir().expect("tempdir");
    let scratch = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &[]);
    let mut files = 0;
    for lib in std::fs::read_dir(&corpus).expect("../shared/corpus") {
        let lib = lib.expect("entry").path();
        if !lib.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&lib).expect("library dir") {
            let path = f.expect("entry").path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.ends_with(".traces.pb") {
                continue;
            }
            let raw = std::fs::read(&path).expect("read");
            let req = ExportTraceServiceRequest::decode(&raw[..]).expect("corpus decodes");
            let gz = scratch.path().join("body.gz");
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, &raw).expect("gzip");
            std::fs::write(&gz, e.finish().expect("gzip")).expect("write");
            let headers = [
                "Content-Type: application/x-protobuf",
                "Content-Encoding: gzip",
            ];
            let (code, body) = post_file(&server.otlp_http, "/v1/traces", &gz, &headers);
            assert_eq!(code, 200, "{name}: {}", String::from_utf8_lossy(&body));
            let mut want: std::collections::HashMap<String, usize> = Default::default();
            for s in req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                *want.entry(hex::encode(&s.trace_id)).or_default() += 1;
            }
            for (trace, n) in want {
                let got = trace_spans(&server.api, &trace, None).len();
                // The same trace id may appear in several captured files of one library.
                assert!(got >= n, "{name}: trace {trace} has {got} of {n} spans");
            }
            files += 1;
        }
    }
    assert!(files >= 20, "corpus files posted: {files}");
}
