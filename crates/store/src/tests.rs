//! Store-level tests: durability across restarts, flush, compaction, retention, tenants.

use std::time::Duration;

use futures::executor::block_on;
use prost::Message;

use crate::testutil::{sample_request, sample_request_at, trace_id};
use crate::{SpanBatchBuilder, Store, StoreConfig, StoreMetrics, TraceQuery};

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.head_max_age = Duration::from_secs(3600);
    c.compaction.interval = Duration::from_secs(3600);
    c.retention.interval = Duration::from_secs(3600);
    c.retention.max_age = None;
    c
}

fn write(
    store: &Store,
    tenant: &str,
    req: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
) {
    let mut b = SpanBatchBuilder::with_capacity(16);
    b.push_request(req).expect("push");
    let batch = b.finish().expect("batch");
    block_on(store.write(tenant, req.encode_to_vec().into(), batch)).expect("write");
}

fn span_count(store: &Store, tenant: &str, seed: u64, t: u64) -> usize {
    let id: [u8; 16] = trace_id(seed, t).try_into().expect("16 bytes");
    store
        .find_trace(tenant, &id)
        .expect("find")
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

#[test]
fn acknowledged_writes_survive_restart_without_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(config(dir.path()), StoreMetrics::default()).expect("open");
        write(&store, "a", &sample_request(4, 3, 1));
        assert_eq!(span_count(&store, "a", 1, 0), 3);
        // Dropped without flush: only the WAL has the data.
    }
    let store = Store::open(config(dir.path()), StoreMetrics::default()).expect("reopen");
    assert_eq!(span_count(&store, "a", 1, 0), 3);
    assert_eq!(span_count(&store, "a", 1, 3), 3);
}

#[test]
fn flushed_blocks_answer_and_wal_is_not_replayed_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(config(dir.path()), StoreMetrics::default()).expect("open");
        write(&store, "a", &sample_request(10, 4, 2));
        store.flush().expect("flush");
        write(&store, "a", &sample_request(10, 4, 2)); // same trace ids, more spans later
        assert_eq!(span_count(&store, "a", 2, 5), 8);
    }
    let store = Store::open(config(dir.path()), StoreMetrics::default()).expect("reopen");
    assert_eq!(span_count(&store, "a", 2, 5), 8);
    let list = store
        .list_traces(
            "a",
            &TraceQuery {
                start: 0,
                end: u64::MAX,
                limit: 100,
                service: None,
            },
        )
        .expect("list");
    assert_eq!(list.len(), 10);
    assert!(
        list.iter()
            .all(|s| s.spans == 8 && s.errors == 2 && s.root_name.is_some())
    );
    assert!(
        list.windows(2)
            .all(|w| w[0].start_unix_nano >= w[1].start_unix_nano)
    );
}

#[test]
fn compaction_keeps_every_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path());
    cfg.compaction.min_blocks = 2;
    let store = Store::open(cfg, StoreMetrics::default()).expect("open");
    for seed in 0..5 {
        write(&store, "a", &sample_request(50, 5, seed));
        write(&store, "a", &sample_request(50, 1, seed)); // extra span per trace, same ids
        store.flush().expect("flush");
    }
    assert_eq!(store.snapshot("a").blocks.len(), 5);
    store.run_maintenance().expect("compact");
    let blocks = store.snapshot("a").blocks;
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].meta.spans, 5 * 50 * 6);
    assert_eq!(blocks[0].meta.traces, 5 * 50);
    for seed in 0..5 {
        for t in [0, 17, 49] {
            assert_eq!(span_count(&store, "a", seed, t), 6);
        }
    }
    drop(store);
    let store = Store::open(config(dir.path()), StoreMetrics::default()).expect("reopen");
    assert_eq!(store.snapshot("a").blocks.len(), 1);
}

#[test]
fn retention_deletes_old_blocks_and_keeps_recent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path());
    cfg.retention.max_age = Some(Duration::from_secs(3600));
    cfg.compaction.enabled = false;
    let store = Store::open(cfg, StoreMetrics::default()).expect("open");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    write(
        &store,
        "a",
        &sample_request_at(4, 2, 1, now - 2 * 3600 * 1_000_000_000),
    );
    store.flush().expect("flush");
    write(
        &store,
        "a",
        &sample_request_at(4, 2, 2, now - 60 * 1_000_000_000),
    );
    store.flush().expect("flush");
    store.run_maintenance().expect("retention");
    assert_eq!(store.snapshot("a").blocks.len(), 1);
    assert_eq!(span_count(&store, "a", 1, 0), 0);
    assert_eq!(span_count(&store, "a", 2, 0), 2);
}

#[test]
fn retention_by_size_deletes_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path());
    cfg.compaction.enabled = false;
    let store = Store::open(cfg.clone(), StoreMetrics::default()).expect("open");
    for seed in 0..3 {
        write(
            &store,
            "a",
            &sample_request_at(
                20,
                3,
                seed,
                1_700_000_000_000_000_000 + seed * 1_000_000_000_000,
            ),
        );
        store.flush().expect("flush");
    }
    let sizes: Vec<u64> = store
        .snapshot("a")
        .blocks
        .iter()
        .map(|b| b.meta.size_bytes)
        .collect();
    drop(store);
    cfg.retention.max_bytes_per_tenant = Some(sizes[1] + sizes[2]);
    let store = Store::open(cfg, StoreMetrics::default()).expect("reopen");
    store.run_maintenance().expect("retention");
    assert_eq!(store.snapshot("a").blocks.len(), 2);
    assert_eq!(span_count(&store, "a", 0, 0), 0);
    assert_eq!(span_count(&store, "a", 2, 0), 3);
}

#[test]
fn tenants_do_not_see_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(config(dir.path()), StoreMetrics::default()).expect("open");
    write(&store, "a", &sample_request(2, 2, 9));
    assert_eq!(span_count(&store, "a", 9, 0), 2);
    assert_eq!(span_count(&store, "b", 9, 0), 0);
    store.flush().expect("flush");
    assert_eq!(span_count(&store, "b", 9, 0), 0);
    assert!(store.find_trace("../a", &[1; 16]).is_err());
}

#[test]
fn interrupted_block_deletes_never_stop_the_store_from_opening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(config(dir.path()), StoreMetrics::default()).expect("open");
        write(&store, "a", &sample_request(10, 4, 3));
        store.flush().expect("flush");
    }
    let blocks = dir.path().join("tenants/a/blocks");
    // A delete by rename that stopped before its files were gone, and a directory that lost
    // its meta.json some other way.
    std::fs::create_dir_all(blocks.join(".tmp-deleted-x")).expect("mkdir");
    std::fs::write(blocks.join(".tmp-deleted-x/spans.parquet"), b"x").expect("write");
    std::fs::create_dir_all(blocks.join("0000-broken")).expect("mkdir");
    std::fs::write(blocks.join("0000-broken/spans.parquet"), b"x").expect("write");

    let store = Store::open(config(dir.path()), StoreMetrics::default()).expect("reopen");
    assert_eq!(span_count(&store, "a", 3, 5), 4);
    assert!(!blocks.join(".tmp-deleted-x").exists());
    assert!(!blocks.join("0000-broken").exists());
    assert!(dir.path().join("tenants/a/quarantine/0000-broken").exists());
}
