use super::*;
use crate::genai::NoEnrichment;
use crate::testutil::{sample_request, trace_id};
use crate::{SpanBatchBuilder, StoreConfig, StoreMetrics};
use prost::Message;

fn store_with(dir: &std::path::Path, flush: bool) -> Store {
    let mut c = StoreConfig::new(dir);
    c.head_max_age = std::time::Duration::from_secs(3600);
    let store = Store::open(c, StoreMetrics::default(), Arc::new(NoEnrichment)).expect("open");
    let req = sample_request(6, 4, 3);
    let mut b = SpanBatchBuilder::with_capacity(24);
    b.push_request(&req, &NoEnrichment).expect("push");
    let batch = b.finish().expect("batch");
    futures::executor::block_on(store.write("t", req.encode_to_vec().into(), batch))
        .expect("write");
    if flush {
        store.flush().expect("flush");
    }
    store
}

fn search(groups: Vec<Vec<SpanPredicate>>, accept: Accept) -> CandidateSearch {
    CandidateSearch {
        start: 0,
        end: u64::MAX,
        groups,
        accept,
        limit: None,
    }
}

fn status_error() -> SpanPredicate {
    SpanPredicate {
        column: col::STATUS_CODE,
        test: Test::Int(CmpOp::Eq, 2),
    }
}

#[test]
fn candidates_agree_between_head_and_blocks() {
    for flush in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(dir.path(), flush);
        let all = store
            .search_candidates("t", &search(vec![], Arc::new(|_| true)))
            .expect("search")
            .0;
        assert_eq!(all.len(), 6, "flush={flush}");
        // Newest first: trace t starts at base + t ms.
        let want: [u8; 16] = trace_id(3, 5).try_into().expect("16 bytes");
        assert_eq!(all[0].trace_id, want);
        let (errs, stats) = store
            .search_candidates(
                "t",
                &search(vec![vec![status_error()]], Arc::new(|m| m & 1 == 1)),
            )
            .expect("search");
        assert_eq!(errs.len(), 6);
        assert_eq!(stats.inspected_spans, 24);
        let none = store
            .search_candidates(
                "t",
                &search(
                    vec![vec![
                        status_error(),
                        SpanPredicate {
                            column: col::NAME,
                            test: Test::StrMatch(Arc::new(|s| s.starts_with("invoke"))),
                        },
                    ]],
                    Arc::new(|m| m & 1 == 1),
                ),
            )
            .expect("search")
            .0;
        assert!(none.is_empty(), "the root span is not the failing one");
    }
}

#[test]
fn time_range_and_limit_cut_candidates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with(dir.path(), true);
    let base = 1_700_000_000_000_000_000u64;
    let mut s = search(vec![], Arc::new(|_| true));
    s.start = base + 3_000_000;
    let got = store.search_candidates("t", &s).expect("search").0;
    assert_eq!(got.len(), 3, "traces 3, 4 and 5 start in range");
    let mut s = search(
        vec![vec![SpanPredicate {
            column: col::DURATION,
            test: Test::Int(CmpOp::Gt, 500),
        }]],
        Arc::new(|m| m & 1 == 1),
    );
    s.limit = Some(1);
    assert!(
        store
            .search_candidates("t", &s)
            .expect("search")
            .0
            .is_empty()
    );
}

#[test]
fn ops_compare_with_column_on_the_left() {
    assert!(CmpOp::Lt.holds(&1, &2));
    assert!(!CmpOp::Gt.holds(&1, &2));
    assert!(CmpOp::Ne.holds(&"a", &"b"));
    assert!(CmpOp::Ge.holds(&2.0, &2.0));
}

#[test]
fn row_group_statistics_rule_out_only_impossible_tests() {
    use parquet::data_type::ByteArray;
    use parquet::file::statistics::{Statistics, ValueStatistics};
    let names = Statistics::ByteArray(ValueStatistics::new(
        Some(ByteArray::from("chat a")),
        Some(ByteArray::from("chat z")),
        None,
        Some(0),
        false,
    ));
    let st = |op, v: &str| scan::may_pass(Some(&names), &Test::Str(op, v.into()));
    assert!(st(CmpOp::Eq, "chat m") && !st(CmpOp::Eq, "invoke"));
    assert!(!st(CmpOp::Lt, "chat a") && st(CmpOp::Le, "chat a"));
    assert!(st(CmpOp::Ne, "chat a"));
    let durations = Statistics::Int64(ValueStatistics::new(
        Some(10),
        Some(500),
        None,
        Some(0),
        false,
    ));
    let dt = |op, v| scan::may_pass(Some(&durations), &Test::Int(op, v));
    assert!(!dt(CmpOp::Gt, 500) && dt(CmpOp::Ge, 500) && !dt(CmpOp::Lt, 10));
    assert!(
        scan::may_pass(None, &Test::Int(CmpOp::Eq, 1)),
        "no statistics: keep"
    );
}

#[test]
fn find_traces_fetches_many_at_once_from_head_and_blocks() {
    for flush in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(dir.path(), flush);
        let ids: Vec<TraceId> = [1, 4, 9]
            .iter()
            .map(|t| trace_id(3, *t).try_into().expect("16 bytes"))
            .collect();
        let got = store.find_traces("t", &ids).expect("find");
        assert_eq!(got.len(), 2, "trace 9 does not exist (flush={flush})");
        for id in &ids[..2] {
            assert_eq!(got[id], store.find_trace("t", id).expect("find"));
        }
    }
}
