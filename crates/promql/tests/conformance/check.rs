//! Runs one eval of a script and compares the result with its expectations.

use sextant_promql::{Engine, EngineOptions, MemSource, Value, is_stale};

use super::script::Expect;

/// Prometheus's `almost.Equal` with the harness's staleness rule.
fn same(a: f64, b: f64) -> bool {
    if is_stale(a) || is_stale(b) {
        return is_stale(a) && is_stale(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let min_normal = f64::from_bits(0x0010_0000_0000_0000);
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < 1e-6 * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < 1e-6
}

fn engine() -> Engine {
    Engine::new(EngineOptions {
        max_samples: 10_000,
        threads: 1,
        ..EngineOptions::default()
    })
}

/// An engine that splits every range query into three parts by time.
fn split_engine() -> Engine {
    Engine::new(EngineOptions {
        max_samples: 10_000,
        threads: 3,
        min_steps_per_thread: 1,
        ..EngineOptions::default()
    })
}

/// Evaluates and checks; `Err` describes the first mismatch.
pub fn run_eval(
    src: &MemSource,
    query: &str,
    start: i64,
    end: i64,
    step: i64,
    instant: bool,
    e: &Expect,
) -> Result<(), String> {
    if e.histogram {
        return Err("expected result contains native histograms".into());
    }
    let res = if instant {
        engine().eval_instant(src, query, start)
    } else {
        let whole = engine().eval_range(src, query, start, end, step);
        let split = split_engine().eval_range(src, query, start, end, step);
        if format!("{whole:?}") != format!("{split:?}") {
            return Err(format!(
                "splitting by time changed the result: {split:?}, in one pass {whole:?}"
            ));
        }
        whole
    };
    let res = match (res, e.fail) {
        (Err(err), true) => {
            let msg = err.to_string();
            if let Some(m) = &e.fail_msg
                && *m != msg
            {
                return Err(format!("failed with {msg:?}, expected message {m:?}"));
            }
            if let Some(r) = &e.fail_regex {
                let re = regex::Regex::new(r).map_err(|x| x.to_string())?;
                if !re.is_match(&msg) {
                    return Err(format!("failed with {msg:?}, expected to match {r:?}"));
                }
            }
            return Ok(());
        }
        (Err(err), false) => return Err(format!("unexpected error: {err}")),
        (Ok(_), true) => return Err("expected the query to fail".into()),
        (Ok(r), false) => r,
    };
    if e.warn && res.warnings.is_empty() {
        return Err("expected a warning".into());
    }
    if e.no_warn && !res.warnings.is_empty() {
        return Err(format!("unexpected warnings {:?}", res.warnings));
    }
    if e.info && res.infos.is_empty() {
        return Err("expected an info annotation".into());
    }
    if e.no_info && !res.infos.is_empty() {
        return Err(format!("unexpected infos {:?}", res.infos));
    }
    compare(&res.value, e, start, step)
}

fn compare(v: &Value, e: &Expect, start: i64, step: i64) -> Result<(), String> {
    match v {
        Value::String { value, .. } => match &e.string {
            Some(s) if s == value => Ok(()),
            _ => Err(format!("got string {value:?}")),
        },
        Value::Scalar { value, .. } => match e.scalar {
            Some(s) if same(s, *value) => Ok(()),
            _ => Err(format!("got scalar {value}, expected {:?}", e.scalar)),
        },
        Value::Vector(samples) => {
            if e.scalar.is_some() || e.string.is_some() {
                return Err("got a vector".into());
            }
            if samples.len() != e.series.len() {
                return Err(format!(
                    "got {} samples, expected {}: {:?}",
                    samples.len(),
                    e.series.len(),
                    samples
                ));
            }
            for (i, s) in samples.iter().enumerate() {
                let pos = e.series.iter().position(|(l, _)| *l == s.labels);
                let Some(pos) = pos else {
                    return Err(format!("unexpected series {}", s.labels));
                };
                if e.ordered && pos != i {
                    return Err(format!(
                        "series {} at position {i}, expected {pos}",
                        s.labels
                    ));
                }
                let want = e.series[pos].1.first().copied().flatten();
                if !want.is_some_and(|w| same(w, s.value)) {
                    return Err(format!("{}: got {}, expected {want:?}", s.labels, s.value));
                }
            }
            Ok(())
        }
        Value::Matrix(series) => {
            let (start, step) = match e.range_vector {
                Some((s, _, d)) => (s, d),
                None => (start, step),
            };
            if series.len() != e.series.len() {
                return Err(format!(
                    "got {} series, expected {}: {:?}",
                    series.len(),
                    e.series.len(),
                    series
                ));
            }
            if e.range_vector.is_none() && !series.windows(2).all(|w| w[0].labels < w[1].labels) {
                return Err("range result is not sorted by labels".into());
            }
            for s in series {
                let Some((_, want)) = e.series.iter().find(|(l, _)| *l == s.labels) else {
                    return Err(format!("unexpected series {}", s.labels));
                };
                let want: Vec<(i64, f64)> = want
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (start + i as i64 * step, v)))
                    .collect();
                let ok = want.len() == s.points.len()
                    && want
                        .iter()
                        .zip(&s.points)
                        .all(|(a, b)| a.0 == b.0 && same(a.1, b.1));
                if !ok {
                    return Err(format!(
                        "{}: got {:?}, expected {:?}",
                        s.labels, s.points, want
                    ));
                }
            }
            Ok(())
        }
    }
}
