//! The content walk on arbitrary bytes: it never panics, and whatever it accepts decodes to
//! exactly what decoding the original and applying the content policy gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use sextant_genai::ContentPolicy;

/// Built once: compiling the redaction rules costs more than a run.
static POLICY: std::sync::LazyLock<ContentPolicy> = std::sync::LazyLock::new(|| {
    ContentPolicy::new(false, &[]).expect("the built-in redaction rules compile")
});

fuzz_target!(|data: &[u8]| {
    let policy = &*POLICY;
    let Some(spliced) = policy.splice_otlp(data) else {
        return;
    };
    let out = spliced.body.as_deref().unwrap_or(data);
    let (Ok(got), Ok(mut want)) = (
        ExportTraceServiceRequest::decode(out),
        ExportTraceServiceRequest::decode(data),
    ) else {
        return;
    };
    policy.apply_request(&mut want);
    assert_eq!(got, want);
    let spans: Vec<_> = got
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    assert_eq!(spans.len(), spliced.attributes.len());
    for (span, run) in spans.iter().zip(&spliced.attributes) {
        if let Some((from, to)) = *run {
            let blob = opentelemetry_proto::tonic::trace::v1::Span::decode(&out[from..to])
                .expect("an attribute run decodes");
            assert_eq!(blob.attributes, span.attributes);
        }
    }
});
