//! TraceQL metrics folded from columns (`columnar.rs`, `genai_exact.rs`) against the same
//! queries evaluated trace by trace.

use super::*;

/// The series of `q` computed the slow way: every trace assembled and evaluated whole.
fn metrics_by_traces(
    store: &Store,
    q: &str,
    req: sextant_traceql::MetricsRequest,
) -> Vec<sextant_traceql::Series> {
    let engine = crate::tempo_api::search::compile(q).expect("query");
    let mut eval = sextant_traceql::MetricsEvaluator::new(&engine, req).expect("evaluator");
    let all = sextant_store::search::CandidateSearch {
        start: 0,
        end: u64::MAX,
        groups: Vec::new(),
        accept: Arc::new(|_| true),
        limit: None,
    };
    let (traces, _) = store
        .search_candidates("single-tenant", &all)
        .expect("candidates");
    for t in traces {
        let spans = store
            .find_trace("single-tenant", &t.trace_id)
            .expect("trace");
        eval.observe_trace(&spans).expect("observe");
    }
    eval.finish()
}

/// The bench's "genai metrics" query.
const GENAI_QUERY: &str = r#"{ span.gen_ai.operation.name = "chat" } | quantile_over_time(duration, .9) by (span.gen_ai.request.model)"#;

const WHOLE_RANGE: sextant_traceql::MetricsRequest = sextant_traceql::MetricsRequest {
    start_unix_nano: BASE - 60 * SEC,
    end_unix_nano: BASE + 600 * SEC,
    step_nanos: 60 * SEC,
    instant: false,
};

/// Whether `q` folds from columns (`Some`), and its series either way.
fn fold_columns(f: &Fixture, q: &str) -> (bool, Vec<sextant_traceql::Series>) {
    let engine = crate::tempo_api::search::compile(q).expect("query");
    let mut eval = sextant_traceql::MetricsEvaluator::new(&engine, WHOLE_RANGE).expect("eval");
    let folded = crate::tempo_api::columnar::try_fold(
        &f.store,
        "single-tenant",
        &engine,
        WHOLE_RANGE,
        &mut eval,
    )
    .expect("fold")
    .is_some();
    (folded, eval.finish())
}

#[test]
fn genai_metrics_fold_from_columns_only_where_they_are_exact() {
    for flush in [false, true] {
        let f = setup(flush);
        let (folded, series) = fold_columns(&f, GENAI_QUERY);
        assert!(folded, "flush={flush}");
        assert_eq!(
            series,
            metrics_by_traces(&f.store, GENAI_QUERY, WHOLE_RANGE)
        );
        // A span spelling the operation `Chat`: its column says `chat`, TraceQL sees `Chat`.
        let mut odd = spec(
            9,
            0,
            "Chat",
            700,
            vec![kv("gen_ai.operation.name", s("Chat"))],
        );
        odd.kind = 3;
        let req = ExportTraceServiceRequest {
            resource_spans: vec![resource("odd", vec![span(4, odd)])],
        };
        let catalog = Catalog::embedded().with_overrides(Vec::new());
        let enricher = GenAiEnricher::new(Arc::new(catalog.expect("catalog")));
        let mut b = SpanBatchBuilder::with_capacity(1);
        b.push_request(&req, &enricher).expect("push");
        let batch = b.finish().expect("batch");
        futures::executor::block_on(f.store.write(
            "single-tenant",
            req.encode_to_vec().into(),
            batch,
        ))
        .expect("write");
        let q = "{ } | count_over_time() by (span.gen_ai.operation.name)";
        let (folded, series) = fold_columns(&f, q);
        assert!(!folded && series.is_empty(), "flush={flush}");
        let (got, _) =
            crate::tempo_api::metrics::run(&f.store, "single-tenant", q, WHOLE_RANGE).expect("run");
        let want = metrics_by_traces(&f.store, q, WHOLE_RANGE);
        assert!(want.iter().any(|s| {
            s.labels
                .iter()
                .any(|l| l.1 == sextant_traceql::Value::Str("Chat".into()))
        }));
        assert_eq!(got, want);
    }
}

#[test]
fn columnar_metrics_agree_with_whole_trace_evaluation() {
    let req = sextant_traceql::MetricsRequest {
        start_unix_nano: BASE - 60 * SEC,
        end_unix_nano: BASE + 600 * SEC,
        step_nanos: 60 * SEC,
        instant: false,
    };
    let queries = [
        "{ } | rate() by (resource.service.name)",
        "{ status = error || duration > 100ms } | count_over_time() by (name, status)",
        r#"{ resource.service.name = "agent-svc" } | avg_over_time(duration) by (kind)"#,
        "{ name =~ \"chat.*\" } | quantile_over_time(duration, .5, .9)",
        "{ } | max_over_time(duration)",
        GENAI_QUERY,
        r#"{ span.gen_ai.request.model =~ "gpt-4o.*" } | count_over_time() by (span.gen_ai.tool.name)"#,
        "{ } | rate() by (span.gen_ai.operation.name, resource.service.name)",
    ];
    for flush in [false, true] {
        let f = setup(flush);
        for q in queries {
            let (fast, _) =
                crate::tempo_api::metrics::run(&f.store, "single-tenant", q, req).expect("run");
            let want = metrics_by_traces(&f.store, q, req);
            assert!(!want.is_empty(), "{q}");
            assert_eq!(fast, want, "{q} (flush={flush})");
        }
    }
}
