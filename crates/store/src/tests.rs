//! Store-level tests: durability across restarts, flush, compaction, retention, tenants.

use std::sync::Arc;
use std::time::Duration;

use futures::executor::block_on;
use prost::Message;

use crate::genai::NoEnrichment;
use crate::testutil::{sample_request, sample_request_at, trace_id};
use crate::{SpanBatchBuilder, Store, StoreConfig, StoreMetrics, TraceQuery};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.head_max_age = Duration::from_secs(3600);
    c.compaction.interval = Duration::from_secs(3600);
    c.retention.interval = Duration::from_secs(3600);
    c.retention.max_age = None;
    c
}

/// Opens (or reopens) the store in `dir` with the test configuration.
fn open(dir: &std::path::Path, enricher: impl crate::SpanEnricher + 'static) -> Store {
    Store::open(config(dir), StoreMetrics::default(), Arc::new(enricher)).expect("open store")
}

fn write(
    store: &Store,
    tenant: &str,
    req: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
) {
    let mut b = SpanBatchBuilder::with_capacity(16);
    b.push_request(req, &NoEnrichment).expect("push");
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
        let store = open(dir.path(), NoEnrichment);
        write(&store, "a", &sample_request(4, 3, 1));
        assert_eq!(span_count(&store, "a", 1, 0), 3);
        // Dropped without flush: only the WAL has the data.
    }
    let store = open(dir.path(), NoEnrichment);
    assert_eq!(span_count(&store, "a", 1, 0), 3);
    assert_eq!(span_count(&store, "a", 1, 3), 3);
}

#[test]
fn flushed_blocks_answer_and_wal_is_not_replayed_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path(), NoEnrichment);
        write(&store, "a", &sample_request(10, 4, 2));
        store.flush().expect("flush");
        write(&store, "a", &sample_request(10, 4, 2)); // same trace ids, more spans later
        assert_eq!(span_count(&store, "a", 2, 5), 8);
    }
    let store = open(dir.path(), NoEnrichment);
    assert_eq!(span_count(&store, "a", 2, 5), 8);
    let list = store
        .list_traces(
            "a",
            &TraceQuery {
                start: 0,
                end: u64::MAX,
                limit: 100,
                service: None,
                ..Default::default()
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

/// Copies the files of `from` into `to` (one level, as the WAL directory is).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

#[test]
fn crash_between_block_and_wal_cut_does_not_replay_flushed_spans() {
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path(), NoEnrichment);
        write(&store, "a", &sample_request(10, 4, 3));
        copy_dir(&dir.path().join("wal"), saved.path());
        store.flush().expect("flush");
    }
    // As if killed after the block was in place but before `wal.cut` and the WAL deletion.
    std::fs::remove_file(dir.path().join("tenants/a/wal.cut")).expect("rm wal.cut");
    copy_dir(saved.path(), &dir.path().join("wal"));
    let store = open(dir.path(), NoEnrichment);
    assert_eq!(span_count(&store, "a", 3, 5), 4);
}

/// Waits until the flusher has retired every WAL segment but the one being written.
fn wait_for_wal_retired(wal: &std::path::Path) {
    for _ in 0..1000 {
        if crate::wal::segments(wal).expect("segments").len() == 1 {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("flushed wal segments were not retired");
}

#[test]
fn recycled_wal_segments_replay_only_their_own_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal = dir.path().join("wal");
    {
        let store = open(dir.path(), NoEnrichment);
        for seed in 1..=6 {
            write(&store, "a", &sample_request(10, 4, seed));
            store.flush().expect("flush");
            wait_for_wal_retired(&wal);
        }
        // Only in the WAL, in a segment written over the file of a flushed one.
        write(&store, "a", &sample_request(10, 4, 7));
    }
    let spares = std::fs::read_dir(&wal)
        .expect("read_dir")
        .filter(|e| {
            let name = e.as_ref().expect("entry").file_name();
            name.to_string_lossy().ends_with(".spare")
        })
        .count();
    assert!(spares > 0, "no wal segment was recycled");
    let store = open(dir.path(), NoEnrichment);
    // Every trace once: nothing stale replayed, nothing acknowledged lost.
    for seed in 1..=7 {
        assert_eq!(span_count(&store, "a", seed, 5), 4, "seed {seed}");
    }
}

#[test]
fn blocks_carry_trace_id_bloom_filters_that_never_miss_a_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 300 id prefixes (seeds) of 10 traces each, spread over the id space.
    let mut b = SpanBatchBuilder::with_capacity(30_000);
    for seed in 1..=300 {
        b.push_request(&sample_request(10, 10, seed), &NoEnrichment)
            .expect("push");
    }
    let batch = Arc::new(b.finish().expect("batch"));
    let block = crate::block::write_batches(dir.path(), &[batch], 0).expect("block");
    assert!(block.row_groups() > 1, "several row groups");
    let id = |seed, t| -> [u8; 16] { trace_id(seed, t).try_into().expect("16 bytes") };
    for seed in 1..=300 {
        for t in 0..10 {
            assert!(
                block.may_hold(&id(seed, t)),
                "bloom filter misses {seed}/{t}"
            );
        }
        let rows: usize = (block.find_trace(&id(seed, 3)).expect("find").iter())
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, 10);
    }
    // Never-written ids that sort among written ones: the filters rule out nearly all.
    let absent = (1..=300)
        .flat_map(|seed| (50..60).map(move |t| id(seed, t)))
        .filter(|i| block.may_hold(i))
        .count();
    assert!(absent < 150, "{absent} of 3000 absent ids pass the filters");
}

/// The listing as it was before it learned to stop early: every summary, filtered and sorted.
fn list_all(store: &Store, q: &TraceQuery) -> Vec<(Vec<u8>, u64, u32)> {
    let mut all: Vec<_> = (store.summaries("a", q.start, q.end).expect("summaries"))
        .into_iter()
        .filter(|s| q.matches(s))
        .collect();
    all.sort_unstable_by_key(|s| std::cmp::Reverse(s.start_unix_nano));
    all.truncate(q.limit);
    all.iter()
        .map(|s| (s.trace_id.to_vec(), s.start_unix_nano, s.spans))
        .collect()
}

#[test]
fn listings_read_only_the_newest_blocks_and_still_complete_their_traces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), NoEnrichment);
    let hour = 3_600_000_000_000u64;
    let t0 = 1_700_000_000_000_000_000u64;
    // Six time-sliced blocks of 40 traces; trace 3 of seed 1 gets late spans in the newest one.
    for seed in 0..6u64 {
        write(
            &store,
            "a",
            &sample_request_at(40, 3, seed, t0 + seed * hour),
        );
        if seed == 5 {
            write(&store, "a", &sample_request_at(4, 2, 1, t0 + 5 * hour));
        }
        store.flush().expect("flush");
    }
    write(&store, "a", &sample_request_at(10, 3, 9, t0 + 6 * hour)); // and a head
    for limit in [1, 5, 10, 45, 60, 130, 500] {
        let q = TraceQuery {
            start: 0,
            end: u64::MAX,
            limit,
            ..Default::default()
        };
        let got: Vec<_> = (store.list_traces("a", &q).expect("list").iter())
            .map(|s| (s.trace_id.to_vec(), s.start_unix_nano, s.spans))
            .collect();
        assert_eq!(got, list_all(&store, &q), "limit {limit}");
    }
    // A filter that only old traces match reads on until it has found them.
    let q = TraceQuery {
        start: 0,
        end: t0 + hour / 2,
        limit: 7,
        ..Default::default()
    };
    assert_eq!(store.list_traces("a", &q).expect("list").len(), 7);
}

#[test]
fn compaction_keeps_every_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path());
    cfg.compaction.min_blocks = 2;
    let store = Store::open(cfg, StoreMetrics::default(), Arc::new(NoEnrichment)).expect("open");
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
    let store = open(dir.path(), NoEnrichment);
    assert_eq!(store.snapshot("a").blocks.len(), 1);
}

#[test]
fn retention_deletes_old_blocks_and_keeps_recent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path());
    cfg.retention.max_age = Some(Duration::from_secs(3600));
    cfg.compaction.enabled = false;
    let store = Store::open(cfg, StoreMetrics::default(), Arc::new(NoEnrichment)).expect("open");
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
    let store =
        Store::open(cfg.clone(), StoreMetrics::default(), Arc::new(NoEnrichment)).expect("open");
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
    let store = Store::open(cfg, StoreMetrics::default(), Arc::new(NoEnrichment)).expect("reopen");
    store.run_maintenance().expect("retention");
    assert_eq!(store.snapshot("a").blocks.len(), 2);
    assert_eq!(span_count(&store, "a", 0, 0), 0);
    assert_eq!(span_count(&store, "a", 2, 0), 3);
}

#[test]
fn tenants_do_not_see_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), NoEnrichment);
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
        let store = open(dir.path(), NoEnrichment);
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

    let store = open(dir.path(), NoEnrichment);
    assert_eq!(span_count(&store, "a", 3, 5), 4);
    assert!(!blocks.join(".tmp-deleted-x").exists());
    assert!(!blocks.join("0000-broken").exists());
    assert!(dir.path().join("tenants/a/quarantine/0000-broken").exists());
}

/// Treats `chat*` spans as model calls priced at 1 µUSD per input token; the root is an agent.
struct TestEnricher;

impl crate::SpanEnricher for TestEnricher {
    fn enrich<'a>(
        &self,
        _: Option<&'a opentelemetry_proto::tonic::resource::v1::Resource>,
        _: Option<&'a opentelemetry_proto::tonic::common::v1::InstrumentationScope>,
        span: &'a opentelemetry_proto::tonic::trace::v1::Span,
    ) -> crate::GenAiRow<'a> {
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        let tokens =
            span.attributes
                .iter()
                .find_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    Value::IntValue(v) if kv.key == "gen_ai.usage.input_tokens" => Some(*v as u64),
                    _ => None,
                });
        let chat = span.name.starts_with("chat");
        crate::GenAiRow {
            operation: Some(if chat { "chat" } else { "invoke_agent" }.into()),
            request_model: chat.then(|| "gpt-4o".into()),
            agent_name: (!chat).then(|| "planner".into()),
            input_tokens: tokens,
            cost_usd: tokens.map(|t| t as f64 * 1e-6),
            cost_source: Some("catalog:test/gpt-4o".into()),
            finish_reasons: smallvec::smallvec!["stop".into()],
            llm_call: chat,
            ..Default::default()
        }
    }
}

#[test]
fn genai_totals_count_model_calls_once_and_survive_flush_and_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || open(dir.path(), TestEnricher);
    let mut b = SpanBatchBuilder::with_capacity(16);
    let req = sample_request(4, 4, 7);
    b.push_request(&req, &TestEnricher).expect("push");
    let batch = b.finish().expect("batch");
    {
        let store = open();
        block_on(store.write("a", req.encode_to_vec().into(), batch.clone())).expect("write");
        store.flush().expect("flush");
        // The same spans again, replayed from the WAL at the next start: totals add up.
        block_on(store.write("a", req.encode_to_vec().into(), batch)).expect("write");
    }
    let store = open();
    let q = TraceQuery {
        start: 0,
        end: u64::MAX,
        limit: 10,
        service: None,
        ..Default::default()
    };
    let list = store.list_traces("a", &q).expect("list");
    let t1 = list
        .iter()
        .find(|s| s.trace_id[..] == trace_id(7, 1)[..])
        .expect("trace 1");
    // Trace 1: spans 1..3 are chat calls with 11, 12, 13 input tokens; the agent root's 10
    // tokens are its own, not added. Written twice.
    assert_eq!(t1.genai.llm_calls, 6);
    assert_eq!(t1.genai.input_tokens, 2 * (11 + 12 + 13));
    assert!((t1.genai.cost_usd - 2.0 * 36e-6).abs() < 1e-12);
    assert_eq!(t1.genai.agents.iter().collect::<Vec<_>>(), ["planner"]);
    assert_eq!(t1.genai.models.iter().collect::<Vec<_>>(), ["gpt-4o"]);
}

#[test]
fn arrow_wal_records_replay_the_batch_as_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let req = sample_request(3, 4, 11);
    let mut b = SpanBatchBuilder::with_capacity(12);
    b.push_request(&req, &TestEnricher).expect("push");
    let batch = b.finish().expect("batch");
    {
        let store = open(dir.path(), TestEnricher);
        let body = crate::WalBody::arrow(&batch).expect("encode");
        block_on(store.write_logged("a", body, batch.clone())).expect("write");
        // Dropped without flush: only the WAL has the data.
    }
    // Reopened with no enricher: the canonical columns come from the logged batch itself.
    let store = open(dir.path(), NoEnrichment);
    assert_eq!(span_count(&store, "a", 11, 2), 4);
    let snap = store.snapshot("a");
    let replayed: Vec<_> = snap.head.iter().map(|b| (**b).clone()).collect();
    assert_eq!(replayed, vec![batch]);
}

#[test]
fn canonical_columns_round_trip_through_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), TestEnricher);
    let req = sample_request(2, 3, 9);
    let mut b = SpanBatchBuilder::with_capacity(8);
    b.push_request(&req, &TestEnricher).expect("push");
    block_on(store.write("a", req.encode_to_vec().into(), b.finish().expect("batch")))
        .expect("write");
    store.flush().expect("flush");
    let snap = store.snapshot("a");
    let block = snap.blocks.first().expect("one block");
    let mut rows = Vec::new();
    for batch in block.scan().expect("scan") {
        let batch = batch.expect("batch");
        let cols = crate::genai::GenAiColumns::of(&batch).expect("v2 columns");
        rows.extend((0..batch.num_rows()).map(|r| cols.row(r)));
    }
    assert_eq!(rows.len(), 6);
    let chats: Vec<_> = rows.iter().filter(|r| r.llm_call).collect();
    assert_eq!(chats.len(), 4);
    assert!(
        chats
            .iter()
            .all(|r| r.request_model.as_deref() == Some("gpt-4o")
                && r.finish_reasons.as_slice() == ["stop"]
                && r.cost_source.as_deref() == Some("catalog:test/gpt-4o"))
    );
}

#[test]
fn cost_rollups_group_calls_and_attribute_them_to_their_agent() {
    use crate::rollup::{CostQuery, GroupBy};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), TestEnricher);
    // Two requests; the first ends up in a block, the second stays in the head.
    for seed in [1, 2] {
        let req = sample_request(3, 3, seed);
        let mut b = SpanBatchBuilder::with_capacity(8);
        b.push_request(&req, &TestEnricher).expect("push");
        block_on(store.write("a", req.encode_to_vec().into(), b.finish().expect("batch")))
            .expect("write");
        if seed == 1 {
            store.flush().expect("flush");
        }
    }
    let base = 1_700_000_000_000_000_000u64;
    let q = |group_by| CostQuery {
        start: base,
        end: base + 10_000_000,
        step: Some(1_000_000),
        group_by,
    };
    // Per trace t: chat spans 1 and 2 with t*10+1 and t*10+2 input tokens; 3 traces, 2 seeds.
    let tokens: u64 = 2 * (0..3).map(|t| 2 * t * 10 + 3).sum::<u64>();
    let by_model = store.cost_report("a", &q(GroupBy::Model)).expect("report");
    assert_eq!(by_model.groups.len(), 1);
    assert_eq!(by_model.total.calls, 12);
    assert_eq!(by_model.total.input_tokens, tokens);
    assert!((by_model.total.cost_usd - tokens as f64 * 1e-6).abs() < 1e-12);
    let series = &by_model.groups[0].series;
    assert_eq!(series.len(), 11);
    assert_eq!(
        series[1].1.calls, 4,
        "trace 1 of both seeds starts in bucket 1"
    );
    let by_agent = store.cost_report("a", &q(GroupBy::Agent)).expect("report");
    assert_eq!(by_agent.groups.len(), 1);
    assert_eq!(by_agent.groups[0].key.as_deref(), Some("planner"));
    let err = store
        .cost_report(
            "a",
            &CostQuery {
                step: Some(0),
                ..q(GroupBy::User)
            },
        )
        .expect_err("zero step");
    assert!(err.to_string().contains("step"));
}

struct DoublePrice;

impl crate::reprice::Repricer for DoublePrice {
    fn reprice(&self, row: &crate::GenAiRow<'_>, _: u64) -> Option<(Option<f64>, Option<String>)> {
        let t = row.input_tokens?;
        Some((Some(t as f64 * 2e-6), Some("catalog:test/gpt-4o-v2".into())))
    }
}

#[test]
fn repricing_rewrites_costs_and_totals_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || open(dir.path(), TestEnricher);
    let store = open();
    let req = sample_request(4, 4, 5);
    let mut b = SpanBatchBuilder::with_capacity(16);
    b.push_request(&req, &TestEnricher).expect("push");
    block_on(store.write("a", req.encode_to_vec().into(), b.finish().expect("batch")))
        .expect("write");
    let stats = store.reprice(0, &DoublePrice).expect("reprice");
    assert_eq!(stats.spans_changed, 12, "3 chat spans in each of 4 traces");
    assert_eq!(stats.blocks_rewritten, 1);
    assert_eq!(
        store.reprice(0, &DoublePrice).expect("again").spans_changed,
        0
    );
    drop(store);
    let store = open();
    let s = store
        .trace_summary("a", &trace_id(5, 1).try_into().expect("16 bytes"))
        .expect("summary")
        .expect("found");
    assert!((s.genai.cost_usd - 36.0 * 2e-6).abs() < 1e-12);
    assert_eq!(store.snapshot("a").blocks.len(), 1, "the old block is gone");
}

/// `sample_request` whose spans also carry a long text that repeats across spans (a shared
/// preamble, then a part of a long document chosen by span).
fn request_with_long_values(seed: u64) -> ExportTraceServiceRequest {
    let document: String = (0..3000)
        .map(|i| format!("word{} ", i * 7919 % 997))
        .collect();
    let mut req = sample_request(40, 4, seed);
    for span in req
        .resource_spans
        .iter_mut()
        .flat_map(|rs| &mut rs.scope_spans)
        .flat_map(|ss| &mut ss.spans)
    {
        let at = (span.span_id[7] as usize * 97 + seed as usize * 31) % 10_000;
        let text = format!("You are a careful agent. {}", &document[at..at + 700]);
        span.attributes.push(crate::testutil::kv(
            "app.document",
            Value::StringValue(text),
        ));
    }
    req
}

/// A span id and its stored attribute blob.
type Blob = (Vec<u8>, Vec<u8>);

fn attribute_blobs(batches: &[arrow_array::RecordBatch]) -> Vec<Blob> {
    use arrow_array::cast::AsArray;
    let mut out: Vec<Blob> = batches
        .iter()
        .flat_map(|b| {
            let ids = b.column(crate::schema::col::SPAN_ID).as_fixed_size_binary();
            let attrs = b.column(crate::schema::col::ATTRIBUTES).as_binary::<i32>();
            (0..b.num_rows())
                .map(|i| (ids.value(i).to_vec(), attrs.value(i).to_vec()))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out
}

/// A store (compacting from two small blocks) that flushed `flushes` blocks of
/// `request_with_long_values`, with the attribute blobs as flushed, sorted by span id.
fn flushed_long_values(dir: &std::path::Path, flushes: u64) -> (Store, Vec<Blob>) {
    let mut cfg = config(dir);
    cfg.compaction.min_blocks = 2;
    let store = Store::open(cfg, StoreMetrics::default(), Arc::new(NoEnrichment)).expect("open");
    for seed in 0..flushes {
        write(&store, "a", &request_with_long_values(seed));
        store.flush().expect("flush");
    }
    let blobs = blobs_of(&store.snapshot("a").blocks);
    (store, blobs)
}

fn blobs_of(blocks: &[Arc<crate::block::Block>]) -> Vec<Blob> {
    let batches: Vec<_> = blocks
        .iter()
        .flat_map(|b| b.scan().expect("scan").map(|r| r.expect("batch")))
        .collect();
    attribute_blobs(&batches)
}

fn has_content_store(block: &crate::block::Block) -> bool {
    block.dir().join(crate::content_file::CONTENT_FILE).exists()
}

#[test]
fn compaction_moves_long_values_to_a_content_store_and_reads_them_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, before) = flushed_long_values(dir.path(), 4);
    let flushed = store.snapshot("a").blocks;
    let flushed_bytes: u64 = flushed.iter().map(|b| b.meta.size_bytes).sum();
    assert!(!flushed.iter().any(|b| has_content_store(b)));
    drop(flushed);
    store.run_maintenance().expect("compact");
    let blocks = store.snapshot("a").blocks;
    assert_eq!(blocks.len(), 1);
    assert!(has_content_store(&blocks[0]));
    let size = blocks[0].meta.size_bytes;
    assert!(size < flushed_bytes / 2, "{size} vs {flushed_bytes}");
    assert_eq!(blobs_of(&blocks), before);
    let expected = request_with_long_values(2);
    let id: [u8; 16] = trace_id(2, 7).try_into().expect("16 bytes");
    let found = store.find_trace("a", &id).expect("find");
    let spans: Vec<_> = found
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect();
    assert_eq!(spans.len(), 4);
    for span in spans {
        let sent = expected
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .find(|s| s.span_id == span.span_id)
            .expect("sent");
        assert_eq!(span.attributes, sent.attributes);
    }
    drop(store);
    let store = open(dir.path(), NoEnrichment);
    assert_eq!(span_count(&store, "a", 3, 11), 4);
}

#[test]
fn many_blocks_compact_in_rounds_of_bounded_fan_in_and_keep_long_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, before) = flushed_long_values(dir.path(), 18);
    store.run_maintenance().expect("compact");
    let blocks = store.snapshot("a").blocks;
    assert_eq!(
        blocks.len(),
        1,
        "16 blocks merge first, then the result with the last two"
    );
    assert_eq!(blocks[0].meta.level, 2);
    assert_eq!(blocks[0].meta.spans, 18 * 40 * 4);
    assert_eq!(blobs_of(&blocks), before);
}
