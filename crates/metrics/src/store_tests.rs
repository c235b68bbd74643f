//! The series store end to end: append, query through PromQL, restart, flush, limits.

use sextant_promql::{Engine, MatchOp, Matcher, SeriesSource, Value, stale_nan};

use super::*;

fn labels(name: &str, job: &str) -> Labels {
    Labels::from_pairs(&[("__name__", name), ("job", job)])
}

fn open(dir: &Path) -> SeriesStore {
    SeriesStore::open(dir, SeriesStoreConfig::default()).expect("open store")
}

fn select_all(store: &SeriesStore, tenant: &str, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let m = Matcher::new("__name__", MatchOp::Equal, name).expect("matcher");
    store
        .source(tenant)
        .select(&[m], i64::MIN, i64::MAX)
        .expect("select")
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect()
}

#[test]
fn samples_survive_restart_and_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = now_ms();
    let a = labels("up", "a");
    {
        let store = open(dir.path());
        let batch: Vec<_> = (0..300)
            .map(|i| (a.clone(), now - 300_000 + i * 1000, i as f64))
            .collect();
        let stats = store.append("t1", &batch).expect("append");
        assert_eq!((stats.accepted, stats.new_series), (300, 1));
        store.flush().expect("flush");
        // After the flush: more samples in the head, a new WAL segment.
        let more = [
            (a.clone(), now + 1000, 1000.0),
            (labels("up", "b"), now, 7.0),
        ];
        store.append("t1", &more).expect("append");
    }
    let store = open(dir.path());
    let got = select_all(&store, "t1", "up");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1.len(), 301);
    assert_eq!(got[0].1[300], (now + 1000, 1000.0));
    assert_eq!(got[1].1, vec![(now, 7.0)]);
    // Tenants are separate.
    assert!(select_all(&store, "t2", "up").is_empty());
    // An out-of-order sample right after restart still sees the block's newest timestamp.
    let late = [(a.clone(), now - 299_500, 5.0)];
    let stats = store.append("t1", &late).expect("append");
    assert_eq!(stats.duplicate + stats.out_of_order, 0, "{stats:?}");
}

#[test]
fn promql_runs_over_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let now = now_ms() / 1000 * 1000;
    let mut batch = Vec::new();
    for i in 0..=60 {
        for (job, rate) in [("a", 1.0), ("b", 3.0)] {
            batch.push((
                labels("req_total", job),
                now - 600_000 + i * 10_000,
                rate * (i * 10) as f64,
            ));
        }
    }
    store.append("t", &batch).expect("append");
    let engine = Engine::new(Default::default());
    let q = "sum(rate(req_total[1m]))";
    let v = engine
        .eval_instant(&store.source("t"), q, now)
        .expect("query")
        .value;
    let Value::Vector(samples) = v else {
        panic!("not a vector: {v:?}");
    };
    assert_eq!(samples.len(), 1);
    assert!(
        (samples[0].value - 4.0).abs() < 1e-9,
        "{}",
        samples[0].value
    );
    let src = store.source("t");
    assert_eq!(
        src.label_values("job", &[], 0, i64::MAX).expect("values"),
        vec!["a", "b"]
    );
    assert_eq!(
        src.label_names(&[], 0, i64::MAX).expect("names"),
        vec!["__name__", "job"]
    );
}

#[test]
fn stale_markers_pass_through() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let now = now_ms();
    let l = labels("g", "a");
    store
        .append(
            "t",
            &[(l.clone(), now, 1.0), (l.clone(), now + 1, stale_nan())],
        )
        .expect("append");
    let got = select_all(&store, "t", "g");
    assert!(sextant_promql::is_stale(got[0].1[1].1));
}

#[test]
fn limits_and_retention_reject_with_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = SeriesStoreConfig {
        max_active_series: 1,
        ..SeriesStoreConfig::default()
    };
    let store = SeriesStore::open(dir.path(), config).expect("open");
    let now = now_ms();
    let batch = [
        (labels("m", "a"), now, 1.0),
        (labels("m", "b"), now, 1.0),
        (labels("m", "a"), now - 20 * 24 * 3_600_000, 1.0),
        (labels("m", "a"), now, 2.0),
    ];
    let stats = store.append("t", &batch).expect("append");
    assert_eq!(stats.accepted, 1);
    assert_eq!(
        (stats.series_limit, stats.too_old, stats.duplicate),
        (1, 1, 1)
    );
    assert!(matches!(
        stats.error(),
        Some(Error::SeriesLimit {
            limit: 1,
            rejected: 1,
            ..
        })
    ));
    assert!(matches!(
        store.append("bad/tenant", &batch),
        Err(Error::InvalidTenant(_))
    ));
    assert!(store.memory_per_active_series().is_some_and(|b| b > 0.0));
}

#[test]
fn retention_deletes_old_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let now = now_ms();
    store
        .append("t", &[(labels("m", "a"), now - 1000, 1.0)])
        .expect("append");
    store.flush().expect("flush");
    assert_eq!(store.maintain(now).expect("maintain"), 0);
    let later = now + store.config().retention_ms + 1;
    assert_eq!(store.maintain(later).expect("maintain"), 1);
    assert!(select_all(&store, "t", "m").is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// Whatever mix of in-order, late, duplicate and backfilled samples was accepted, a restart
    /// (WAL replay, optionally after a flush in the middle) serves exactly the same series.
    #[test]
    fn restart_serves_what_was_acknowledged(
        ops in proptest::collection::vec((0usize..4, -40i64..40, 0u8..4), 1..120),
        flush_at in 0usize..120,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = now_ms() - 3_600_000;
        let names: Vec<Labels> = (0..4).map(|i| labels("p", &i.to_string())).collect();
        let before = {
            let store = open(dir.path());
            for (k, (s, dt, v)) in ops.iter().enumerate() {
                if k == flush_at {
                    store.flush().expect("flush");
                }
                let t = base + dt * 30_000;
                store.append("t", &[(names[*s].clone(), t, f64::from(*v))]).expect("append");
            }
            select_all(&store, "t", "p")
        };
        let after = select_all(&open(dir.path()), "t", "p");
        proptest::prop_assert_eq!(before, after);
    }
}
