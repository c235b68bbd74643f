//! End-to-end tests: the real `sextant` binary on free ports, driven over the wire by real
//! clients (the OpenTelemetry Python SDK, curl). One test binary keeps link time down.

mod e2e {
    pub mod client;
    pub mod corpus;
    pub mod crash;
    pub mod genai;
    pub mod harness;
    pub mod hostile;
    pub mod metrics;
    pub mod python_sdk;
    pub mod ui;
}
