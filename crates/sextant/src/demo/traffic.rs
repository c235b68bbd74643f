//! Synthetic GenAI agent traffic for `sextant demo`: pure, seeded generation of OTLP traces.
//!
//! Every trace is one agent run, shaped like what the OpenTelemetry GenAI instrumentations send
//! (`shared/corpus/ATTRIBUTES.md`), with the current GenAI semantic conventions:
//!
//! ```text
//! invoke_agent support-triage         INTERNAL  root: run totals, conversation id
//! ├── chat gpt-4o-mini                CLIENT    finish_reasons ["tool_calls"]
//! ├── execute_tool lookup_order       INTERNAL  ┐ parallel tool calls overlap
//! ├── execute_tool track_shipment     INTERNAL  ┘
//! ├── chat gpt-4o-mini                CLIENT    finish_reasons ["tool_calls"]
//! ├── invoke_agent refund-agent       INTERNAL  sometimes: a sub-agent with its own
//! │   ├── chat gpt-4o                 CLIENT    model calls and tools
//! │   ├── execute_tool issue_refund   INTERNAL
//! │   └── chat gpt-4o                 CLIENT
//! └── chat gpt-4o-mini                CLIENT    finish_reasons ["stop"]
//! ```
//!
//! About 5% of runs fail: a tool raises (the agent carries on, with the error as the tool
//! result) or a model call gets a 429/500 (the run ends there and the root fails too). Failed
//! spans have status ERROR, `error.type` and an `exception` event. Some runs continue an earlier
//! conversation (same `gen_ai.conversation.id`, longer prompts). Services that capture content
//! also carry `gen_ai.input.messages` / `gen_ai.output.messages` in the parts schema.
//!
//! The same seed gives the same traffic, apart from the start times the caller passes in.

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value::Value},
    resource::v1::Resource,
    trace::v1::{
        ResourceSpans, ScopeSpans, Span, Status,
        span::{Event, SpanKind},
        status::StatusCode,
    },
};
use rand::{Rng, SeedableRng, distr::Alphanumeric, rngs::StdRng, seq::IndexedRandom};
use serde_json::{Value as Json, json};

use calls::fail;
use catalog::{Agent, ErrorText, Model, SERVICES, Service, Tool};
use dialogue::Dialogue;
use otlp::{double, int, resource, scope, string, strings};
use random::{alphanumeric, nonzero_id, on, pick, uuid};
use run::{Call, Caller, Failure, Fault, Outcome, Plan, Run, Usage};

mod calls;
mod catalog;
mod dialogue;
mod otlp;
mod random;
mod run;
#[cfg(test)]
mod tests;

const MS: u64 = 1_000_000;
/// `SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`: the parent is known to be local, as SDKs set it.
const SPAN_FLAGS: u32 = 0x100;
/// Share of runs that fail somewhere.
const FAULT_RATE: f64 = 0.05;
/// Share of runs that continue an open conversation.
const CONTINUE_RATE: f64 = 0.35;
/// Share of the runs of an agent with a sub-agent that delegate to it.
const DELEGATE_RATE: f64 = 0.35;
/// Tool-calling rounds before the final answer (0: the model answers at once).
const ROUNDS: [usize; 7] = [0, 1, 2, 2, 3, 3, 4];
/// Rounds of a sub-agent.
const SUB_ROUNDS: [usize; 3] = [1, 1, 2];
const MAX_OPEN_CONVERSATIONS: usize = 8;
const INSTANCES_PER_SERVICE: usize = 2;

/// Seeded generator of agent runs over a fixed catalog of services, agents, models and tools.
pub struct TrafficGen {
    rng: StdRng,
    /// Per service (in catalog order), the resources of its running instances.
    resources: Vec<Vec<Resource>>,
    conversations: Vec<Conversation>,
}

/// A conversation that several runs can belong to.
#[derive(Clone)]
struct Conversation {
    id: String,
    user: String,
    service: usize,
    agent: &'static Agent,
    model: &'static Model,
    /// Runs already in it; their context makes the prompt longer.
    runs: u32,
    /// Runs still to come.
    remaining: u32,
}

impl TrafficGen {
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let resources = SERVICES
            .iter()
            .map(|service| {
                (0..INSTANCES_PER_SERVICE)
                    .map(|_| resource(service, &mut rng))
                    .collect()
            })
            .collect();
        Self {
            rng,
            resources,
            conversations: Vec::new(),
        }
    }

    /// One agent run as OTLP resource spans, starting at `start_unix_nano`.
    pub fn trace(&mut self, start_unix_nano: u64) -> Vec<ResourceSpans> {
        let conversation = self.conversation();
        let service = &SERVICES[conversation.service];
        let resource = self.resources[conversation.service]
            .choose(&mut self.rng)
            .cloned()
            .expect("every service has instances");
        let faulty = self.rng.random_bool(FAULT_RATE);
        let mut run = Run::new(&mut self.rng, service, &conversation);
        let history = i64::from(conversation.runs) * run.rng.random_range(250..700);
        let plan = run.plan(conversation.agent, None, history, faulty);
        run.invoke_agent(
            conversation.agent,
            conversation.model,
            None,
            start_unix_nano,
            &plan,
        );
        vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope(service)),
                spans: run.spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }]
    }

    /// A whole request body of `traces` traces.
    ///
    /// Traces start a little apart from `start_unix_nano` on. Spans of one service instance
    /// share one `ResourceSpans`, as that instance's batch exporter would send them.
    pub fn request(&mut self, traces: usize, start_unix_nano: u64) -> ExportTraceServiceRequest {
        let mut resource_spans = Vec::with_capacity(SERVICES.len() * INSTANCES_PER_SERVICE);
        let mut start = start_unix_nano;
        for _ in 0..traces {
            for rs in self.trace(start) {
                merge(&mut resource_spans, rs);
            }
            start += self.rng.random_range(0..200) * MS;
        }
        ExportTraceServiceRequest { resource_spans }
    }

    /// The conversation the next run belongs to: an open one, or a new one.
    fn conversation(&mut self) -> Conversation {
        if !self.conversations.is_empty() && self.rng.random_bool(CONTINUE_RATE) {
            let i = self.rng.random_range(0..self.conversations.len());
            let open = &mut self.conversations[i];
            let current = open.clone();
            open.runs += 1;
            open.remaining -= 1;
            if open.remaining == 0 {
                self.conversations.swap_remove(i);
            }
            return current;
        }
        let fresh = self.new_conversation();
        if fresh.remaining > 0 && self.conversations.len() < MAX_OPEN_CONVERSATIONS {
            self.conversations.push(Conversation {
                runs: 1,
                ..fresh.clone()
            });
        }
        fresh
    }

    fn new_conversation(&mut self) -> Conversation {
        let rng = &mut self.rng;
        let indexes: Vec<usize> = (0..SERVICES.len()).collect();
        let service = *indexes
            .choose_weighted(rng, |&i| SERVICES[i].weight)
            .expect("the catalog has weighted services");
        let agent = pick(rng, SERVICES[service].agents);
        let remaining = if rng.random_bool(0.4) {
            rng.random_range(1..5)
        } else {
            0
        };
        Conversation {
            id: uuid(rng),
            user: format!("user-{}", rng.random_range(1000..10_000)),
            service,
            agent,
            model: pick(rng, agent.models),
            runs: 0,
            remaining,
        }
    }
}

/// Adds `rs` to the request, into the `ResourceSpans` (and scope) of the same resource if any.
fn merge(all: &mut Vec<ResourceSpans>, mut rs: ResourceSpans) {
    let Some(same) = all.iter_mut().find(|r| r.resource == rs.resource) else {
        all.push(rs);
        return;
    };
    for scope_spans in rs.scope_spans.drain(..) {
        match same
            .scope_spans
            .iter_mut()
            .find(|s| s.scope == scope_spans.scope)
        {
            Some(existing) => existing.spans.extend(scope_spans.spans),
            None => same.scope_spans.push(scope_spans),
        }
    }
}
