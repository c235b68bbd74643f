//! Range evaluation against step-by-step references: the sliding windows of range functions
//! and the blocked, column-wise aggregation must give what a per-step evaluation gives.

use crate::engine::Engine;
use crate::labels::Labels;
use crate::range_funcs::{RangeFn, Window, apply};
use crate::source::MemSource;
use crate::value::{RangeSeries, Value};

fn matrix(v: Value) -> Vec<RangeSeries> {
    match v {
        Value::Matrix(m) => m,
        other => panic!("expected a matrix, got {other:?}"),
    }
}

/// A counter that resets every 37 samples, scraped every 10 s with some jitter.
fn resetting_counter() -> (MemSource, Vec<(i64, f64)>) {
    let mut src = MemSource::new();
    let l = Labels::from_pairs(&[("__name__", "c_total"), ("job", "a")]);
    let mut samples = Vec::new();
    for i in 0..500i64 {
        let t = i * 10_000 + (i * 7919) % 3_000;
        let v = ((i % 37) * (i % 5 + 1)) as f64;
        src.add_sample(&l, t, v);
        samples.push((t, v));
    }
    (src, samples)
}

#[test]
fn sliding_rate_matches_a_search_per_step() -> crate::Result<()> {
    let (src, samples) = resetting_counter();
    let (start, end, step, range) = (0, 5_000_000, 15_000, 60_000);
    for (name, func) in [("rate", RangeFn::Rate), ("increase", RangeFn::Increase)] {
        let q = format!("{name}(c_total[1m])");
        let got = matrix(
            Engine::default()
                .eval_range(&src, &q, start, end, step)?
                .value,
        );
        let mut want = Vec::new();
        for ts in (start..=end).step_by(step as usize) {
            let lo = samples.partition_point(|p| p.0 <= ts - range);
            let hi = samples.partition_point(|p| p.0 <= ts);
            let w = Window {
                pts: &samples[lo..hi],
                ts,
                start: ts - range,
                end: ts,
                range_ms: range,
                no_resets: false,
            };
            if let Some(f) = apply(func, &w, &[])? {
                want.push((ts, f));
            }
        }
        assert_eq!(got.len(), 1);
        let got_bits: Vec<(i64, u64)> =
            got[0].points.iter().map(|p| (p.0, p.1.to_bits())).collect();
        let want_bits: Vec<(i64, u64)> = want.iter().map(|p| (p.0, p.1.to_bits())).collect();
        assert_eq!(got_bits, want_bits, "{name}");
    }
    Ok(())
}

/// 300 series in 300 groups over 301 steps: more group states than one block holds, so the
/// column-wise aggregation runs in several blocks of steps.
fn many_groups() -> MemSource {
    let mut src = MemSource::new();
    for s in 0..300 {
        let l = Labels::from_pairs(&[
            ("__name__", "g"),
            ("pod", &s.to_string()),
            ("odd", &(s % 2).to_string()),
        ]);
        for k in 0..=300i64 {
            // Gaps: series s has no sample at steps divisible by (s % 11 + 2).
            if k % (s % 11 + 2) != 0 {
                src.add_sample(&l, k * 60_000, (k * s) as f64 * 0.1);
            }
        }
    }
    src
}

#[test]
fn blocked_aggregation_matches_instant_queries() -> crate::Result<()> {
    let src = many_groups();
    let engine = Engine::new(crate::EngineOptions {
        lookback_delta_ms: 30_000,
        ..Default::default()
    });
    for q in [
        "sum by (pod) (g)",
        "avg by (odd) (g)",
        "max by (pod) (g)",
        "quantile by (odd) (0.9, g)",
        "count(g)",
        "stddev by (odd) (g)",
    ] {
        let range = matrix(engine.eval_range(&src, q, 0, 300 * 60_000, 60_000)?.value);
        for k in [0i64, 1, 2, 150, 217, 218, 219, 299, 300] {
            let ts = k * 60_000;
            let Value::Vector(inst) = engine.eval_instant(&src, q, ts)?.value else {
                panic!("instant query of {q} is not a vector");
            };
            let mut from_range: Vec<(Labels, u64)> = range
                .iter()
                .filter_map(|s| {
                    let p = s.points.iter().find(|p| p.0 == ts)?;
                    Some((s.labels.clone(), p.1.to_bits()))
                })
                .collect();
            let mut want: Vec<(Labels, u64)> = inst
                .into_iter()
                .map(|s| (s.labels, s.value.to_bits()))
                .collect();
            from_range.sort();
            want.sort();
            assert_eq!(from_range, want, "{q} at step {k}");
        }
    }
    Ok(())
}

#[test]
fn blocked_sum_equals_direct_sum() -> crate::Result<()> {
    let src = many_groups();
    let engine = Engine::new(crate::EngineOptions {
        lookback_delta_ms: 30_000,
        ..Default::default()
    });
    let got = matrix(
        engine
            .eval_range(&src, "sum(g)", 0, 300 * 60_000, 60_000)?
            .value,
    );
    assert_eq!(got.len(), 1);
    for &(t, f) in &got[0].points {
        let k = t / 60_000;
        let want: f64 = (0..300i64)
            .filter(|s| k % (s % 11 + 2) != 0)
            .map(|s| (k * s) as f64 * 0.1)
            .sum();
        assert!(
            (f - want).abs() <= 1e-9 * want.abs().max(1.0),
            "step {k}: {f} vs {want}"
        );
    }
    Ok(())
}

fn bits(m: Vec<RangeSeries>) -> Vec<(Labels, Vec<(i64, u64)>)> {
    m.into_iter()
        .map(|s| {
            (
                s.labels,
                s.points.iter().map(|p| (p.0, p.1.to_bits())).collect(),
            )
        })
        .collect()
}

/// An aggregation over a range function folds the function's series as they stream
/// (`fused.rs`); a no-op `label_replace` around the call keeps its series, their order and
/// values but takes the materialized path. Both must agree bit for bit, split over threads
/// or not.
#[test]
fn streamed_aggregation_matches_materialized() -> crate::Result<()> {
    let src = many_groups();
    for threads in [1, 3] {
        let engine = Engine::new(crate::EngineOptions {
            threads,
            min_steps_per_thread: 1,
            ..Default::default()
        });
        for (agg, func) in [
            ("sum by (odd)", "rate(g[3m])"),
            ("sum", "increase(g[5m])"),
            ("avg by (pod)", "delta(g[2m])"),
            ("max without (pod)", "max_over_time(g[4m])"),
            ("count by (odd)", "changes(g[10m])"),
            ("stddev", "deriv(g[5m])"),
            ("group by (odd)", "last_over_time(g[1m])"),
        ] {
            let fused = format!("{agg} ({func})");
            let plain = format!("{agg} (label_replace({func}, \"none\", \"\", \"none\", \"\"))");
            let (start, end, step) = (-120_000, 300 * 60_000, 45_000);
            let got = matrix(engine.eval_range(&src, &fused, start, end, step)?.value);
            let want = matrix(engine.eval_range(&src, &plain, start, end, step)?.value);
            assert!(!want.is_empty(), "{plain}");
            assert_eq!(bits(got), bits(want), "{fused} with {threads} threads");
        }
    }
    Ok(())
}
