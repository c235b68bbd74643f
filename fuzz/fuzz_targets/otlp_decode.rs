//! OTLP trace bodies, protobuf and JSON: a clear error or a request, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sextant_ingest::decode::{Format, decode_traces};

fuzz_target!(|data: &[u8]| {
    let _ = decode_traces(data, Format::Protobuf);
    let _ = decode_traces(data, Format::Json);
});
