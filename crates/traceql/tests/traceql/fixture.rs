//! A small dataset built in code: two agent traces with chat and tool spans, errors, events,
//! GenAI attributes in two dialects, and a type mismatch.
//!
//! ```text
//! trace A (service my-agent), starts at T0
//!   1 agent.invoke planner  server  0s..10s
//!   ├─ 2 chat gpt-4o         client  1s..4s   model=gpt-4o input_tokens=1200 cost=0.03 status ok
//!   ├─ 3 execute_tool search internal 4s..6s  tool=search  status error "timeout", event exception
//!   │   └─ 4 chat gpt-4o-mini client 4.5s..5.5s model=gpt-4o-mini input_tokens="300" (string) cost=0.01
//!   └─ 5 execute_tool fetch  internal 7s..8s  tool=fetch tags=["x","y"]
//! trace B, starts at T0+60s
//!   6 job.run (service batch-job) internal 0s..4s
//!   └─ 7 chat claude (service llm-proxy) client 1s..3s  OpenInference: llm.model_name=claude-3,
//!        llm.token_count.prompt=2000, status error
//! ```

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

/// Start of trace A, Unix ns.
pub const T0: u64 = 1_700_000_000_000_000_000;
const S: u64 = 1_000_000_000;

fn val(v: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(v) })
}

pub fn s(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: val(any_value::Value::StringValue(v.into())),
        ..Default::default()
    }
}

pub fn i(k: &str, v: i64) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: val(any_value::Value::IntValue(v)),
        ..Default::default()
    }
}

pub fn f(k: &str, v: f64) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: val(any_value::Value::DoubleValue(v)),
        ..Default::default()
    }
}

fn strs(k: &str, vs: &[&str]) -> KeyValue {
    let values = vs
        .iter()
        .map(|v| AnyValue {
            value: Some(any_value::Value::StringValue((*v).into())),
        })
        .collect();
    KeyValue {
        key: k.into(),
        value: val(any_value::Value::ArrayValue(ArrayValue { values })),
        ..Default::default()
    }
}

/// Span id bytes for a small number.
pub fn sid(n: u8) -> Vec<u8> {
    vec![0, 0, 0, 0, 0, 0, 0, n]
}

struct SpanSpec {
    trace: u8,
    id: u8,
    parent: u8,
    name: &'static str,
    kind: i32,
    start_ms: u64,
    end_ms: u64,
    status: i32,
    attrs: Vec<KeyValue>,
}

fn span(spec: SpanSpec, base: u64) -> Span {
    Span {
        trace_id: vec![spec.trace; 16],
        span_id: sid(spec.id),
        parent_span_id: if spec.parent == 0 {
            Vec::new()
        } else {
            sid(spec.parent)
        },
        name: spec.name.into(),
        kind: spec.kind,
        start_time_unix_nano: base + spec.start_ms * 1_000_000,
        end_time_unix_nano: base + spec.end_ms * 1_000_000,
        attributes: spec.attrs,
        status: Some(Status {
            code: spec.status,
            message: if spec.status == 2 {
                "timeout".into()
            } else {
                String::new()
            },
        }),
        ..Default::default()
    }
}

fn batch(service: &str, scope: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![s("service.name", service)],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: scope.into(),
                version: "1.2.0".into(),
                ..Default::default()
            }),
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Trace A: the agent trace.
pub fn trace_a() -> Vec<ResourceSpans> {
    let sp = |id, parent, name, kind, start_ms, end_ms, status, attrs| {
        span(
            SpanSpec {
                trace: 0xa,
                id,
                parent,
                name,
                kind,
                start_ms,
                end_ms,
                status,
                attrs,
            },
            T0,
        )
    };
    let mut tool = sp(
        3,
        1,
        "execute_tool search",
        1,
        4000,
        6000,
        2,
        vec![
            s("gen_ai.tool.name", "search"),
            s("gen_ai.operation.name", "execute_tool"),
        ],
    );
    tool.events.push(Event {
        time_unix_nano: T0 + 5 * S,
        name: "exception".into(),
        attributes: vec![s("exception.message", "boom")],
        ..Default::default()
    });
    let spans = vec![
        sp(
            1,
            0,
            "agent.invoke planner",
            2,
            0,
            10_000,
            0,
            vec![s("gen_ai.operation.name", "invoke_agent")],
        ),
        sp(
            2,
            1,
            "chat gpt-4o",
            3,
            1000,
            4000,
            1,
            vec![
                s("gen_ai.operation.name", "chat"),
                s("gen_ai.request.model", "gpt-4o"),
                i("gen_ai.usage.input_tokens", 1200),
                f("gen_ai.cost_usd", 0.03),
            ],
        ),
        tool,
        sp(
            4,
            3,
            "chat gpt-4o-mini",
            3,
            4500,
            5500,
            0,
            vec![
                s("gen_ai.operation.name", "chat"),
                s("gen_ai.request.model", "gpt-4o-mini"),
                s("gen_ai.usage.input_tokens", "300"),
                f("gen_ai.cost_usd", 0.01),
            ],
        ),
        sp(
            5,
            1,
            "execute_tool fetch",
            1,
            7000,
            8000,
            0,
            vec![s("gen_ai.tool.name", "fetch"), strs("tags", &["x", "y"])],
        ),
    ];
    vec![batch(
        "my-agent",
        "opentelemetry.instrumentation.openai",
        spans,
    )]
}

/// Trace B: a batch job calling an LLM proxy that speaks OpenInference.
pub fn trace_b() -> Vec<ResourceSpans> {
    let base = T0 + 60 * S;
    let root = span(
        SpanSpec {
            trace: 0xb,
            id: 6,
            parent: 0,
            name: "job.run",
            kind: 1,
            start_ms: 0,
            end_ms: 4000,
            status: 0,
            attrs: vec![],
        },
        base,
    );
    let chat = span(
        SpanSpec {
            trace: 0xb,
            id: 7,
            parent: 6,
            name: "chat claude",
            kind: 3,
            start_ms: 1000,
            end_ms: 3000,
            status: 2,
            attrs: vec![
                s("llm.model_name", "claude-3"),
                i("llm.token_count.prompt", 2000),
            ],
        },
        base,
    );
    vec![
        batch("batch-job", "job", vec![root]),
        batch("llm-proxy", "openinference", vec![chat]),
    ]
}
