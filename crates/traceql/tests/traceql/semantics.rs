//! Search semantics on the fixture: expected span ids per query and feature.

use std::sync::Arc;

use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use sextant_traceql::{AttributeFallback, Engine, EvalError, TraceResult, Value};

use crate::fixture::{T0, trace_a, trace_b};

fn run(q: &str, trace: &[ResourceSpans]) -> Option<TraceResult> {
    let engine = Engine::compile(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    engine
        .eval_trace(trace)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
}

/// The last byte of every matched span id, per spanset.
fn sets(q: &str, trace: &[ResourceSpans]) -> Vec<Vec<u8>> {
    run(q, trace).map_or_else(Vec::new, |r| {
        r.spansets
            .iter()
            .map(|s| s.spans.iter().map(|m| m.span_id[7]).collect())
            .collect()
    })
}

/// All matched span ids, sorted.
fn ids(q: &str, trace: &[ResourceSpans]) -> Vec<u8> {
    let mut v: Vec<u8> = sets(q, trace).concat();
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn spanset_filters_and_intrinsics() {
    let a = trace_a();
    let cases: &[(&str, &[u8])] = &[
        (r#"{ span.gen_ai.request.model = "gpt-4o" }"#, &[2]),
        ("{ status = error }", &[3]),
        ("{ status != error && kind = client }", &[2, 4]),
        ("{ kind = server }", &[1]),
        ("{ duration > 1500ms }", &[1, 2, 3]),
        ("{ duration >= 1s && duration <= 1s }", &[4, 5]),
        (r#"{ statusMessage = "timeout" }"#, &[3]),
        ("{ traceDuration = 10s }", &[1, 2, 3, 4, 5]),
        (
            r#"{ rootName = "agent.invoke planner" && rootServiceName = "my-agent" }"#,
            &[1, 2, 3, 4, 5],
        ),
        ("{ span:childCount = 3 }", &[1]),
        ("{ span:childCount = 0 }", &[2, 4, 5]),
        ("{ nestedSetParent = -1 }", &[1]),
        (
            "{ nestedSetLeft > 1 && nestedSetRight < 10 }",
            &[2, 3, 4, 5],
        ),
        (r#"{ event:name = "exception" }"#, &[3]),
        (r#"{ event.exception.message = "boom" }"#, &[3]),
        ("{ event:timeSinceStart = 1s }", &[3]),
        (
            r#"{ instrumentation:name = "opentelemetry.instrumentation.openai" }"#,
            &[1, 2, 3, 4, 5],
        ),
        (r#"{ span:id = "0000000000000004" }"#, &[4]),
        (r#"{ span:parentID = "0000000000000003" }"#, &[4]),
        (
            r#"{ trace:id = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a" && name = "execute_tool fetch" }"#,
            &[5],
        ),
        (
            r#"{ .service.name = "my-agent" && .gen_ai.tool.name = "fetch" }"#,
            &[5],
        ),
        (
            r#"{ resource.service.name = "my-agent" && span.service.name = "my-agent" }"#,
            &[],
        ),
        (r#"{ span.tags = "y" }"#, &[5]),
        (r#"{ span.tags != "z" }"#, &[5]),
        (r#"{ span.tags != "x" }"#, &[]),
        ("{ span.gen_ai.cost_usd * 100 > 2 }", &[2]),
        ("{ }", &[1, 2, 3, 4, 5]),
        ("{ false }", &[]),
    ];
    for (q, want) in cases {
        assert_eq!(ids(q, &a), *want, "{q}");
    }
}

#[test]
fn regex_is_fully_anchored() {
    let a = trace_a();
    assert_eq!(ids(r#"{ name =~ "chat" }"#, &a), Vec::<u8>::new());
    assert_eq!(ids(r#"{ name =~ "chat.*" }"#, &a), vec![2, 4]);
    assert_eq!(ids(r#"{ name !~ "chat.*" }"#, &a), vec![1, 3, 5]);
    assert_eq!(
        ids(r#"{ span.gen_ai.request.model =~ "gpt-4o|claude.*" }"#, &a),
        vec![2]
    );
}

#[test]
fn nil_means_absent_and_compares_false() {
    let a = trace_a();
    assert_eq!(ids("{ span.gen_ai.tool.name = nil }", &a), vec![1, 2, 4]);
    assert_eq!(ids("{ span.gen_ai.tool.name != nil }", &a), vec![3, 5]);
    // A span without the attribute does not match `!=` either.
    assert_eq!(ids(r#"{ span.gen_ai.tool.name != "search" }"#, &a), vec![5]);
}

#[test]
fn type_mismatch_is_false_not_an_error() {
    let a = trace_a();
    // Span 4 carries input_tokens as the string "300".
    assert_eq!(ids("{ span.gen_ai.usage.input_tokens > 100 }", &a), vec![2]);
    assert_eq!(
        ids(r#"{ span.gen_ai.usage.input_tokens = "300" }"#, &a),
        vec![4]
    );
    assert_eq!(
        ids("{ span.gen_ai.usage.input_tokens != 1200 }", &a),
        Vec::<u8>::new()
    );
    assert_eq!(
        ids("{ span.gen_ai.request.model > 3 }", &a),
        Vec::<u8>::new()
    );
}

#[test]
fn division_by_integer_zero_is_an_evaluation_error() {
    let engine = Engine::compile("{ span.gen_ai.usage.input_tokens / 0 = 1 }").expect("valid");
    assert_eq!(
        engine.eval_trace(&trace_a()),
        Err(EvalError::DivisionByZero)
    );
}

#[test]
fn structural_operators() {
    let a = trace_a();
    let agent = r#"{ name =~ "agent.*" }"#;
    let chat = r#"{ name =~ "chat.*" }"#;
    let search = r#"{ name = "execute_tool search" }"#;
    let fetch = r#"{ name = "execute_tool fetch" }"#;
    let cases: Vec<(String, Vec<u8>)> = vec![
        (format!("{agent} > {chat}"), vec![2]),
        (format!("{agent} >> {chat}"), vec![2, 4]),
        (format!("{agent} !> {chat}"), vec![4]),
        (format!("{agent} !>> {chat}"), vec![]),
        (format!("{chat} < {{ }}"), vec![1, 3]),
        (
            r#"{ name = "chat gpt-4o-mini" } << { }"#.to_string(),
            vec![1, 3],
        ),
        (format!("{chat} !< {{ }}"), vec![2, 4, 5]),
        (format!("{chat} !<< {{ }}"), vec![2, 4, 5]),
        (format!("{search} ~ {fetch}"), vec![5]),
        (format!("{search} ~ {search}"), vec![3]),
        (format!("{search} &~ {search}"), vec![]),
        (format!("{search} &~ {fetch}"), vec![3, 5]),
        // A span is not its own sibling here, so `search` itself qualifies.
        (
            format!("{search} !~ {{ kind = internal || kind = client }}"),
            vec![3, 4],
        ),
        (format!("{search} &> {chat}"), vec![3, 4]),
        (format!("{agent} &>> {chat}"), vec![1, 2, 4]),
        (format!("{chat} &< {{ }}"), vec![1, 2, 3, 4]),
        (format!("{chat} &<< {search}"), vec![3, 4]),
        (format!("{{ kind = server }} >> {chat} >> {{ }}"), vec![]),
        (format!("{agent} >> {search} > {chat}"), vec![4]),
    ];
    for (q, want) in cases {
        assert_eq!(ids(&q, &a), want, "{q}");
    }
}

#[test]
fn spanset_and_or_between_filters() {
    let (a, b) = (trace_a(), trace_b());
    let q = r#"{ status = error } && { span.gen_ai.request.model = "gpt-4o" }"#;
    assert_eq!(ids(q, &a), vec![2, 3]);
    assert!(run(q, &b).is_none());
    let q = r#"{ status = error } || { span.gen_ai.request.model = "gpt-4o" }"#;
    assert_eq!(ids(q, &b), vec![7]);
    // One span must satisfy both conditions inside one filter.
    assert!(
        run(
            r#"{ status = error && span.gen_ai.request.model = "gpt-4o" }"#,
            &a
        )
        .is_none()
    );
}

#[test]
fn pipelines_aggregates_by_coalesce_select() {
    let (a, b) = (trace_a(), trace_b());
    let r = run(r#"{ name =~ "chat.*" } | count() > 1"#, &a).expect("two chats");
    assert_eq!(
        r.spansets[0].attributes,
        vec![("count()".to_string(), Value::Int(2))]
    );
    assert!(run(r#"{ name =~ "chat.*" } | count() > 1"#, &b).is_none());

    // Durations 10s, 3s, 2s, 1s, 1s: average 3.4s.
    let r = run("{ } | avg(duration) > 3s", &a).expect("matches");
    assert_eq!(
        r.spansets[0].attributes[0].1,
        Value::Duration(3_400_000_000)
    );
    assert!(run("{ } | avg(duration) > 4s", &a).is_none());
    assert!(run("{ } | max(duration) = 10s | min(duration) < 2s", &a).is_some());
    assert!(run("{ } | sum(span.gen_ai.usage.input_tokens) = 1200", &a).is_some());

    let by = sets(
        r#"{ span.gen_ai.operation.name != nil } | by(span.gen_ai.operation.name)"#,
        &a,
    );
    assert_eq!(by, vec![vec![1], vec![2, 4], vec![3]]);
    // As in Tempo, spans without the value form a group of their own.
    let r = run("{ } | by(span.gen_ai.tool.name)", &a).expect("matches");
    let groups: Vec<(Value, usize)> = r
        .spansets
        .iter()
        .map(|s| (s.attributes[0].1.clone(), s.matched))
        .collect();
    assert_eq!(
        groups,
        vec![
            (Value::Nil, 3),
            (Value::Str("search".into()), 1),
            (Value::Str("fetch".into()), 1)
        ]
    );
    let r = run("{ } | by(kind) | count() > 1", &a).expect("two internal, two client");
    let keys: Vec<&Value> = r.spansets.iter().map(|s| &s.attributes[0].1).collect();
    assert_eq!(keys.len(), 2);
    assert!(r.spansets.iter().all(|s| s.attributes[0].0 == "by(kind)"));
    assert_eq!(
        sets("{ } | by(kind) | count() > 1 | coalesce()", &a),
        vec![vec![2, 3, 4, 5]]
    );

    let r = run(
        r#"{ name = "chat gpt-4o" } | select(span.gen_ai.cost_usd, status)"#,
        &a,
    )
    .expect("matches");
    let attrs = &r.spansets[0].spans[0].attributes;
    assert!(
        attrs.contains(&("gen_ai.cost_usd".to_string(), Value::Float(0.03))),
        "{attrs:?}"
    );
    assert!(attrs.contains(&(
        "status".to_string(),
        Value::Status(sextant_traceql::ast::Status::Ok)
    )));
    assert_eq!(r.root_service_name.as_deref(), Some("my-agent"));
    assert_eq!(r.duration_nanos, 10_000_000_000);
    assert_eq!(r.start_unix_nano, T0);
}

#[test]
fn extension_bare_aggregate_annotates_without_filtering() {
    let (a, b) = (trace_a(), trace_b());
    let q =
        r#"{ resource.service.name = "my-agent" && name =~ "chat.*" } | avg(span.gen_ai.cost_usd)"#;
    let r = run(q, &a).expect("kept without a comparison");
    let (key, value) = &r.spansets[0].attributes[0];
    assert_eq!(key, "avg(span.gen_ai.cost_usd)");
    let Value::Float(avg) = value else {
        panic!("{value:?}")
    };
    assert!((avg - 0.02).abs() < 1e-12);
    // No value to average: the spanset stays, without the attribute.
    let r = run(r#"{ name = "job.run" } | sum(span.gen_ai.cost_usd)"#, &b).expect("kept");
    assert!(r.spansets[0].attributes.is_empty());
}

/// Maps OpenInference keys to canonical GenAI names, as the integrator's normalizer would.
struct OpenInference;

impl AttributeFallback for OpenInference {
    fn fallback(&self, span: &Span, _resource: &Resource, name: &str) -> Option<Value> {
        let source = match name {
            "gen_ai.request.model" => "llm.model_name",
            "gen_ai.usage.input_tokens" => "llm.token_count.prompt",
            _ => return None,
        };
        let kv = span.attributes.iter().find(|kv| kv.key == source)?;
        kv.value.as_ref().map(Value::from_any)
    }
}

#[test]
fn fallback_answers_canonical_names() {
    let b = trace_b();
    let q = r#"{ span.gen_ai.request.model = "claude-3" && .gen_ai.usage.input_tokens > 1000 }"#;
    assert!(
        run(q, &b).is_none(),
        "without the hook the canonical names are absent"
    );
    let engine = Engine::compile(q)
        .expect("valid")
        .with_fallback(Arc::new(OpenInference));
    let r = engine
        .eval_trace(&b)
        .expect("evaluates")
        .expect("matches through the hook");
    assert_eq!(r.spansets[0].spans[0].span_id[7], 7);
    assert_eq!(r.root_name.as_deref(), Some("job.run"));
    assert_eq!(r.root_service_name.as_deref(), Some("batch-job"));
}

#[test]
fn root_service_is_the_root_spans_resource() {
    let b = trace_b();
    assert_eq!(
        ids(
            r#"{ rootServiceName = "batch-job" && resource.service.name = "llm-proxy" }"#,
            &b
        ),
        vec![7]
    );
    assert_eq!(
        ids("{ traceDuration = 4s && span:childCount = 1 }", &b),
        vec![6]
    );
}

/// A chain of `n` spans, each the child of the previous one.
fn chain(n: u32) -> Vec<ResourceSpans> {
    use opentelemetry_proto::tonic::trace::v1::ScopeSpans;
    let id = |k: u32| {
        let mut v = vec![0u8; 4];
        v.extend_from_slice(&(k + 1).to_be_bytes());
        v
    };
    let spans = (0..n)
        .map(|k| Span {
            trace_id: vec![1; 16],
            span_id: id(k),
            parent_span_id: if k == 0 { Vec::new() } else { id(k - 1) },
            name: format!("s{k}"),
            start_time_unix_nano: T0 + u64::from(k),
            end_time_unix_nano: T0 + 2 * u64::from(n) - u64::from(k),
            ..Default::default()
        })
        .collect();
    vec![ResourceSpans {
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }]
}

#[test]
fn deep_traces_evaluate_without_recursion_limits() {
    let t = chain(20_000);
    let count = |q: &str| run(q, &t).map_or(0, |r| r.spansets[0].matched);
    assert_eq!(count(r#"{ name = "s0" } >> { }"#), 19_999);
    assert_eq!(count("{ } >> { }"), 19_999);
    assert_eq!(count(r#"{ name = "s19999" } << { }"#), 19_999);
    assert_eq!(count(r#"{ name = "s10000" } > { }"#), 1);
    assert_eq!(count("{ nestedSetParent = -1 }"), 1);
}
