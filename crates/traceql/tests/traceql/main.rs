//! Integration tests of the TraceQL crate, in one binary to keep link time down.

mod conformance;
mod corpus;
mod fixture;
mod metrics;
mod props;
mod semantics;
