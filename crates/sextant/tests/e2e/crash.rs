//! Crash safety: SIGKILL in the middle of a load (with flushes going on) loses no acknowledged
//! span; SIGTERM drains, flushes and exits cleanly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use crate::e2e::client::trace_spans;
use crate::e2e::harness::Server;

const SPANS_PER_TRACE: usize = 4;

fn trace_id(worker: u64, n: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&(0xC0FFEE00 + worker).to_be_bytes());
    id[8..].copy_from_slice(&(n + 1).to_be_bytes());
    id
}

fn body(worker: u64, first: u64, traces: u64) -> Vec<u8> {
    // Recent timestamps: retention (14 days by default) would rightly delete old ones.
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    let mut spans = Vec::new();
    for t in first..first + traces {
        let tid = trace_id(worker, t);
        for s in 0..SPANS_PER_TRACE as u64 {
            spans.push(Span {
                trace_id: tid.to_vec(),
                span_id: (((worker + 1) << 48) | (t << 4) | (s + 1))
                    .to_be_bytes()
                    .to_vec(),
                parent_span_id: if s == 0 {
                    vec![]
                } else {
                    (((worker + 1) << 48) | (t << 4) | 1).to_be_bytes().to_vec()
                },
                name: format!("span {s}"),
                start_time_unix_nano: base + t * 1000 + s,
                end_time_unix_nano: base + t * 1000 + s + 500,
                ..Default::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// One HTTP/1.1 POST; true when answered 200.
fn post(addr: &str, body: &[u8]) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .is_err()
    {
        return false;
    }
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    resp.starts_with(b"HTTP/1.1 200")
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Small heads so flushes (and WAL segment deletions) happen during the load.
    let env = [
        ("SEXTANT_STORAGE_HEAD_MAX_SPANS", "3000"),
        ("SEXTANT_STORAGE_COMPACTION_INTERVAL_SECS", "1"),
        ("SEXTANT_STORAGE_COMPACTION_MIN_BLOCKS", "2"),
    ];
    let mut server = Server::start(dir.path(), &env);
    let acked: Arc<Mutex<Vec<(u64, u64, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let (acked, stop, addr) = (acked.clone(), stop.clone(), server.otlp_http.clone());
            std::thread::spawn(move || {
                let mut next = 0;
                while !stop.load(Ordering::SeqCst) {
                    if post(&addr, &body(w, next, 25)) {
                        acked.lock().expect("lock").push((w, next, 25));
                    }
                    next += 25;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2500));
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().expect("worker");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() > 20,
        "the load ran ({} acknowledged requests)",
        acked.len()
    );

    let server = Server::start(dir.path(), &env);
    // Every acknowledged request's last trace (the most recent data) and a spread of the rest.
    let mut checks: Vec<[u8; 16]> = Vec::new();
    for (i, (w, first, n)) in acked.iter().enumerate() {
        checks.push(trace_id(*w, first + n - 1));
        if i % 7 == 0 {
            checks.push(trace_id(*w, *first));
        }
    }
    for id in checks {
        let spans = trace_spans(&server.api, &hex::encode(id), None);
        assert_eq!(
            spans.len(),
            SPANS_PER_TRACE,
            "acknowledged trace {} after SIGKILL",
            hex::encode(id)
        );
    }
}

#[test]
fn sigterm_flushes_and_exits_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), &[]);
    assert!(post(&server.otlp_http, &body(9, 0, 10)));
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
    let blocks = dir.path().join("tenants/single-tenant/blocks");
    let n = std::fs::read_dir(&blocks).expect("blocks dir").count();
    assert_eq!(n, 1, "the head was flushed into one block at shutdown");
    let server = Server::start(dir.path(), &[]);
    assert_eq!(
        trace_spans(&server.api, &hex::encode(trace_id(9, 3)), None).len(),
        SPANS_PER_TRACE
    );
}
