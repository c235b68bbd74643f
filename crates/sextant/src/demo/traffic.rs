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

use catalog::{Agent, ErrorText, Model, SERVICES, Service, Tool};

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

/// What one agent run will do, decided before its spans are built.
struct Plan {
    /// Which of the agent's questions the run answers; tools and answers follow it.
    topic: usize,
    question: &'static str,
    /// Prompt tokens of earlier runs of the conversation.
    history_tokens: i64,
    steps: Vec<Step>,
    fault: Option<Fault>,
}

/// What the agent does after a model call asked for tools.
enum Step {
    Tools(Vec<&'static Tool>),
    /// Hands the topic to a sub-agent (called by the model like a tool).
    Delegate(&'static Agent),
}

#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// The first tool of this step raises; the agent goes on.
    Tool { step: usize },
    /// The model call before this step (or the final one) fails with this HTTP status.
    Chat { call: usize, status: u16 },
}

/// Token counts of one model call, or summed over a run.
#[derive(Clone, Copy, Default)]
struct Usage {
    input: i64,
    output: i64,
    cache_read: i64,
}

impl Usage {
    fn add(&mut self, other: Usage) {
        self.input += other.input;
        self.output += other.output;
        self.cache_read += other.cache_read;
    }
}

/// An exception as the instrumentations record it.
struct Failure {
    class: String,
    message: String,
    stacktrace: String,
}

/// How an agent run, model call or tool call ended.
struct Outcome {
    end: u64,
    usage: Usage,
    /// Set when the run must stop (a failed model call, or a sub-agent that failed).
    failure: Option<Failure>,
    /// What goes back to the caller: the final answer, or the tool result.
    result: String,
}

/// The agent run a span belongs to, and the span to hang children on.
#[derive(Clone, Copy)]
struct Caller {
    agent: &'static Agent,
    model: &'static Model,
    topic: usize,
    span_id: [u8; 8],
}

/// One tool call requested by the model.
struct Call {
    id: String,
    name: &'static str,
    arguments: String,
}

/// The running context of one agent: the prompt size so far and, when the service captures
/// content, the messages in the OTel GenAI parts schema (otherwise `messages` stays empty).
struct Dialogue {
    prompt_tokens: i64,
    last_prompt: i64,
    messages: Vec<Json>,
}

/// Builds the spans of one trace.
struct Run<'a> {
    rng: &'a mut StdRng,
    trace_id: [u8; 16],
    service: &'static Service,
    conversation: String,
    user: String,
    spans: Vec<Span>,
}

impl<'a> Run<'a> {
    fn new(rng: &'a mut StdRng, service: &'static Service, conversation: &Conversation) -> Self {
        Self {
            trace_id: nonzero_id(rng),
            rng,
            service,
            conversation: conversation.id.clone(),
            user: conversation.user.clone(),
            spans: Vec::with_capacity(16),
        }
    }

    /// Plans a run of `agent`: a top-level one (may delegate, may fail) or a sub-agent's one
    /// on the caller's `topic`.
    fn plan(
        &mut self,
        agent: &'static Agent,
        topic: Option<usize>,
        history_tokens: i64,
        faulty: bool,
    ) -> Plan {
        let top = topic.is_none();
        let topic = topic.unwrap_or_else(|| self.rng.random_range(0..agent.questions.len()));
        let rounds = if top { &ROUNDS[..] } else { &SUB_ROUNDS[..] };
        let n = pick(self.rng, rounds);
        let mut steps: Vec<Step> = (0..n)
            .map(|_| Step::Tools(self.pick_tools(agent)))
            .collect();
        if let Some(sub) = agent.sub_agent
            && top
            && n > 0
            && self.rng.random_bool(DELEGATE_RATE)
        {
            steps[self.rng.random_range(0..n)] = Step::Delegate(sub);
        }
        Plan {
            topic,
            question: on(agent.questions, topic),
            history_tokens,
            fault: faulty.then(|| self.fault(&steps)),
            steps,
        }
    }

    fn pick_tools(&mut self, agent: &Agent) -> Vec<&'static Tool> {
        let n = match self.rng.random_range(0..100) {
            0..70 => 1,
            70..95 => 2,
            _ => 3,
        };
        agent.tools.choose_multiple(self.rng, n).copied().collect()
    }

    fn fault(&mut self, steps: &[Step]) -> Fault {
        let tool_steps: Vec<usize> = (0..steps.len())
            .filter(|&i| matches!(steps[i], Step::Tools(_)))
            .collect();
        match tool_steps.choose(self.rng) {
            Some(&step) if self.rng.random_bool(0.5) => Fault::Tool { step },
            _ => Fault::Chat {
                call: self.rng.random_range(0..=steps.len()),
                status: if self.rng.random_bool(0.7) { 429 } else { 500 },
            },
        }
    }

    fn between(&mut self, low_ms: u64, high_ms: u64) -> u64 {
        self.rng.random_range(low_ms * MS..=high_ms * MS)
    }

    /// Attributes on every span of an agent (propagated context).
    fn context(&self, agent: &Agent) -> [KeyValue; 3] {
        [
            string("gen_ai.conversation.id", &self.conversation),
            string("gen_ai.agent.name", agent.name),
            string("user.id", &self.user),
        ]
    }

    fn span(
        &mut self,
        name: String,
        kind: SpanKind,
        parent: Option<[u8; 8]>,
        start: u64,
        end: u64,
    ) -> Span {
        Span {
            trace_id: self.trace_id.to_vec(),
            span_id: nonzero_id::<8>(self.rng).to_vec(),
            parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
            flags: SPAN_FLAGS,
            name,
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            status: Some(Status::default()),
            ..Default::default()
        }
    }
}

impl Run<'_> {
    /// The `invoke_agent` span and everything under it.
    fn invoke_agent(
        &mut self,
        agent: &'static Agent,
        model: &'static Model,
        parent: Option<[u8; 8]>,
        start: u64,
        plan: &Plan,
    ) -> Outcome {
        let caller = Caller {
            agent,
            model,
            topic: plan.topic,
            span_id: nonzero_id(self.rng),
        };
        let setup = self.between(1, 6);
        let run = self.turns(caller, plan, start + setup);
        let end = run.end + self.between(1, 4);
        let name = format!("invoke_agent {}", agent.name);
        let mut span = self.span(name, SpanKind::Internal, parent, start, end);
        span.span_id = caller.span_id.to_vec();
        span.attributes =
            self.agent_attributes(caller, run.usage, plan, &run.result, run.failure.as_ref());
        fail(&mut span, run.failure.as_ref());
        self.spans.push(span);
        Outcome { end, ..run }
    }

    /// The model calls of a run and the steps between them, from `start` on.
    fn turns(&mut self, caller: Caller, plan: &Plan, start: u64) -> Outcome {
        let mut dialogue = Dialogue::new(self, plan);
        let mut usage = Usage::default();
        let mut cursor = start;
        let chat_fault = |call: usize| {
            plan.fault
                .filter(|f| matches!(f, Fault::Chat { call: c, .. } if *c == call))
        };
        for (call, step) in plan.steps.iter().enumerate() {
            let calls = self.requested_calls(step, caller);
            let chat = self.chat(caller, cursor, &mut dialogue, &calls, chat_fault(call));
            usage.add(chat.usage);
            if chat.failure.is_some() {
                return Outcome { usage, ..chat };
            }
            cursor = chat.end + self.between(1, 8);
            let tool_fault = plan.fault == Some(Fault::Tool { step: call });
            let done = self.step(caller, step, &calls, cursor, &mut dialogue, tool_fault);
            usage.add(done.usage);
            if done.failure.is_some() {
                return Outcome { usage, ..done };
            }
            cursor = done.end + self.between(1, 8);
        }
        let answer = self.chat(
            caller,
            cursor,
            &mut dialogue,
            &[],
            chat_fault(plan.steps.len()),
        );
        usage.add(answer.usage);
        Outcome { usage, ..answer }
    }

    /// The tool calls (or the sub-agent call) the model asks for before `step`.
    fn requested_calls(&mut self, step: &Step, caller: Caller) -> Vec<Call> {
        let requests: Vec<(&'static str, String)> = match step {
            Step::Tools(tools) => tools
                .iter()
                .map(|t| (t.name, on(t.arguments, caller.topic).to_string()))
                .collect(),
            Step::Delegate(sub) => {
                let question = on(sub.questions, caller.topic);
                vec![(sub.name, json!({ "input": question }).to_string())]
            }
        };
        let (prefix, len) = caller.model.provider.tool_call_id;
        requests
            .into_iter()
            .map(|(name, arguments)| Call {
                id: if len == 0 {
                    String::new()
                } else {
                    format!("{prefix}{}", alphanumeric(self.rng, len))
                },
                name,
                arguments,
            })
            .collect()
    }

    /// Runs the tools of a step (in parallel), or the sub-agent of a delegation.
    fn step(
        &mut self,
        caller: Caller,
        step: &Step,
        calls: &[Call],
        start: u64,
        dialogue: &mut Dialogue,
        fault: bool,
    ) -> Outcome {
        let mut end = start;
        let mut usage = Usage::default();
        for (i, call) in calls.iter().enumerate() {
            let outcome = match step {
                Step::Tools(tools) => {
                    let at = start + self.between(0, 3);
                    self.execute_tool(caller, tools[i], call, at, fault && i == 0)
                }
                Step::Delegate(sub) => {
                    let model = pick(self.rng, sub.models);
                    let topic = caller.topic % sub.questions.len();
                    let plan = self.plan(sub, Some(topic), 0, false);
                    self.invoke_agent(sub, model, Some(caller.span_id), start, &plan)
                }
            };
            if outcome.failure.is_some() {
                return outcome;
            }
            end = end.max(outcome.end);
            usage.add(outcome.usage);
            let tokens = self.rng.random_range(60..900);
            dialogue.tool_result(call, &outcome.result, tokens);
        }
        Outcome {
            end,
            usage,
            failure: None,
            result: String::new(),
        }
    }

    fn agent_attributes(
        &self,
        caller: Caller,
        usage: Usage,
        plan: &Plan,
        answer: &str,
        failure: Option<&Failure>,
    ) -> Vec<KeyValue> {
        let Caller { agent, model, .. } = caller;
        let mut attributes = Vec::with_capacity(18);
        attributes.extend([
            string("gen_ai.operation.name", "invoke_agent"),
            string("gen_ai.agent.id", agent.id),
            string("gen_ai.agent.description", agent.description),
            string("gen_ai.provider.name", model.provider.name),
            string("gen_ai.request.model", model.request),
            string("gen_ai.output.type", "text"),
            int("gen_ai.usage.input_tokens", usage.input),
            int("gen_ai.usage.output_tokens", usage.output),
        ]);
        if usage.cache_read > 0 {
            attributes.push(int(
                "gen_ai.usage.cache_read.input_tokens",
                usage.cache_read,
            ));
        }
        attributes.extend(self.context(agent));
        if self.service.capture_content {
            let input = json!([{ "role": "user", "parts": [{ "type": "text", "content": plan.question }] }]);
            attributes.push(string("gen_ai.input.messages", &input.to_string()));
            if failure.is_none() {
                let output = json!([{ "role": "assistant", "parts": [{ "type": "text", "content": answer }], "finish_reason": "stop" }]);
                attributes.push(string("gen_ai.output.messages", &output.to_string()));
            }
        }
        if let Some(f) = failure {
            attributes.push(string("error.type", &f.class));
        }
        attributes
    }
}

impl Run<'_> {
    /// One model call: asks for `calls`, or gives the final answer when there are none.
    fn chat(
        &mut self,
        caller: Caller,
        start: u64,
        dialogue: &mut Dialogue,
        calls: &[Call],
        fault: Option<Fault>,
    ) -> Outcome {
        let Caller {
            agent,
            model,
            span_id,
            ..
        } = caller;
        let mut attributes = self.chat_request_attributes(agent, model, dialogue);
        let failure = match fault {
            Some(Fault::Chat { status, .. }) => Some(self.chat_failure(model, status)),
            _ => None,
        };
        let (end, usage, answer) = match &failure {
            Some(f) => {
                attributes.push(string("error.type", &f.class));
                (
                    start + self.between(300, 1500),
                    Usage::default(),
                    String::new(),
                )
            }
            None => {
                let answer = on(agent.answers, caller.topic).to_string();
                let (end, usage) =
                    self.chat_response(model, start, dialogue, calls, &answer, &mut attributes);
                (end, usage, answer)
            }
        };
        let mut span = self.span(
            format!("chat {}", model.request),
            SpanKind::Client,
            Some(span_id),
            start,
            end,
        );
        span.attributes = attributes;
        fail(&mut span, failure.as_ref());
        self.spans.push(span);
        Outcome {
            end,
            usage,
            failure,
            result: answer,
        }
    }

    fn chat_request_attributes(
        &mut self,
        agent: &Agent,
        model: &Model,
        dialogue: &Dialogue,
    ) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(24);
        attributes.extend([
            string("gen_ai.operation.name", "chat"),
            string("gen_ai.provider.name", model.provider.name),
            string("gen_ai.request.model", model.request),
            double("gen_ai.request.temperature", agent.temperature),
            int("gen_ai.request.max_tokens", agent.max_tokens),
            string("gen_ai.output.type", "text"),
            string("server.address", model.provider.server),
            int("server.port", 443),
        ]);
        attributes.extend(self.context(agent));
        if self.service.capture_content {
            let instructions = json!([{ "type": "text", "content": agent.instructions }]);
            attributes.push(string(
                "gen_ai.system_instructions",
                &instructions.to_string(),
            ));
            attributes.push(string("gen_ai.input.messages", &dialogue.messages_json()));
        }
        attributes
    }

    /// Tokens, duration and response attributes of a successful model call.
    fn chat_response(
        &mut self,
        model: &Model,
        start: u64,
        dialogue: &mut Dialogue,
        calls: &[Call],
        answer: &str,
        attributes: &mut Vec<KeyValue>,
    ) -> (u64, Usage) {
        let provider = model.provider;
        let output = if calls.is_empty() {
            self.rng.random_range(40..450)
        } else {
            calls.len() as i64 * self.rng.random_range(15..70)
        };
        let cache_read = dialogue.cached(self.rng.random_bool(provider.cache_hit_rate));
        let usage = Usage {
            input: dialogue.prompt_tokens,
            output,
            cache_read,
        };
        let finish = if calls.is_empty() {
            provider.finish_stop
        } else {
            provider.finish_tool
        };
        let (prefix, len) = provider.response_id;
        attributes.extend([
            string("gen_ai.response.model", model.response),
            string(
                "gen_ai.response.id",
                &format!("{prefix}{}", alphanumeric(self.rng, len)),
            ),
            strings("gen_ai.response.finish_reasons", &[finish]),
            int("gen_ai.usage.input_tokens", usage.input),
            int("gen_ai.usage.output_tokens", usage.output),
        ]);
        if cache_read > 0 {
            attributes.push(int("gen_ai.usage.cache_read.input_tokens", cache_read));
        }
        let reply = dialogue.reply(calls, answer, finish, output);
        if self.service.capture_content {
            attributes.push(string(
                "gen_ai.output.messages",
                &json!([reply]).to_string(),
            ));
        }
        (start + self.chat_duration(model, output), usage)
    }

    /// Time to first token, then the model's generation speed.
    fn chat_duration(&mut self, model: &Model, output_tokens: i64) -> u64 {
        let jitter = self.rng.random_range(80..130);
        let generation = output_tokens.unsigned_abs() * model.token_micros * jitter * 10;
        match self.between(250, 900) + generation {
            // Long answers hit the client's streaming budget; keep a spread, not a wall.
            long if long > 4000 * MS => self.between(3200, 4000),
            duration => duration,
        }
    }

    fn chat_failure(&mut self, model: &Model, status: u16) -> Failure {
        let provider = model.provider;
        let error = if status == 429 {
            &provider.rate_limited
        } else {
            &provider.server_error
        };
        let message = error.message.replace("{model}", model.request);
        let (site, frame) = if self.service.language == "python" {
            let line = self.rng.random_range(900..1700);
            let frame = format!(
                "  File \"/app/.venv/lib/python3.12/site-packages/{}\", line {line}, in request\n    raise self._make_status_error_from_response(err.response) from None\n",
                provider.python_frame
            );
            (
                (
                    "agent",
                    "run_turn",
                    "response = await self.model.complete(messages, tools=self.tools)",
                ),
                frame,
            )
        } else {
            let line = self.rng.random_range(40..400);
            (
                ("agent", "Agent.runTurn", ""),
                format!(
                    "    at APIError.generate (/srv/app/node_modules/{}:{line}:14)\n",
                    provider.node_frame
                ),
            )
        };
        self.failure(error, message, site, &frame)
    }

    /// One `execute_tool` span. A tool error goes back to the model: it does not end the run.
    fn execute_tool(
        &mut self,
        caller: Caller,
        tool: &Tool,
        call: &Call,
        start: u64,
        fault: bool,
    ) -> Outcome {
        let mut attributes = self.tool_attributes(caller, tool, call);
        let (low, high) = tool.millis;
        let (failure, end) = if fault {
            let site = ("tools", tool.name, tool.error_line);
            let failure = self.failure(&tool.error, tool.error.message.to_string(), site, "");
            (Some(failure), start + self.between(low, high.min(low + 60)))
        } else {
            (None, start + self.between(low, high))
        };
        let result = match &failure {
            Some(f) => format!("error: {}", f.message),
            None => on(tool.results, caller.topic).to_string(),
        };
        if self.service.capture_content {
            attributes.push(string("gen_ai.tool.call.arguments", &call.arguments));
            if failure.is_none() {
                attributes.push(string("gen_ai.tool.call.result", &result));
            }
        }
        if let Some(f) = &failure {
            attributes.push(string("error.type", &f.class));
        }
        let mut span = self.span(
            format!("execute_tool {}", tool.name),
            SpanKind::Internal,
            Some(caller.span_id),
            start,
            end,
        );
        span.attributes = attributes;
        fail(&mut span, failure.as_ref());
        self.spans.push(span);
        Outcome {
            end,
            usage: Usage::default(),
            failure: None,
            result,
        }
    }

    fn tool_attributes(&self, caller: Caller, tool: &Tool, call: &Call) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(14);
        attributes.extend([
            string("gen_ai.operation.name", "execute_tool"),
            string("gen_ai.tool.name", tool.name),
            string("gen_ai.tool.type", tool.kind),
            string("gen_ai.tool.description", tool.description),
            string(
                "code.function.name",
                &format!("{}.tools.{}", self.service.module, tool.name),
            ),
        ]);
        if !call.id.is_empty() {
            attributes.push(string("gen_ai.tool.call.id", &call.id));
        }
        attributes.extend(self.context(caller.agent));
        attributes
    }

    /// An exception raised at `site` = (module, function, source line) of the service, under
    /// the frames `inner` of a library.
    fn failure(
        &mut self,
        error: &ErrorText,
        message: String,
        site: (&str, &str, &str),
        inner: &str,
    ) -> Failure {
        let (module, function, code) = site;
        let line = self.rng.random_range(20..400);
        let service = self.service;
        let (class, stacktrace) = if service.language == "python" {
            let trace = format!(
                "Traceback (most recent call last):\n  File \"/app/{root}/{module}.py\", line {line}, in {function}\n    {code}\n{inner}{class}: {message}",
                root = service.module,
                class = error.class,
            );
            (error.class, trace)
        } else {
            // JavaScript errors carry the bare class name.
            let class = error.class.rsplit('.').next().unwrap_or(error.class);
            let column = self.rng.random_range(5..40);
            let outer = self.rng.random_range(40..200);
            let trace = format!(
                "{class}: {message}\n{inner}    at {function} (/srv/app/dist/{module}.js:{line}:{column})\n    at async Agent.run (/srv/app/dist/agent.js:{outer}:7)"
            );
            (class, trace)
        };
        Failure {
            class: class.to_string(),
            message,
            stacktrace,
        }
    }
}

/// Marks `span` failed with `failure`, as the instrumentations record a raised exception.
fn fail(span: &mut Span, failure: Option<&Failure>) {
    let Some(failure) = failure else { return };
    span.status = Some(Status {
        code: StatusCode::Error as i32,
        message: failure.message.clone(),
    });
    span.events.push(Event {
        time_unix_nano: span.end_time_unix_nano,
        name: "exception".into(),
        attributes: vec![
            string("exception.type", &failure.class),
            string("exception.message", &failure.message),
            string("exception.stacktrace", &failure.stacktrace),
        ],
        dropped_attributes_count: 0,
    });
}

impl Dialogue {
    fn new(run: &mut Run<'_>, plan: &Plan) -> Self {
        // System prompt and tool definitions, the earlier runs, then the question.
        let prefix = run.rng.random_range(400..1600) + plan.history_tokens;
        let messages = if run.service.capture_content {
            vec![json!({ "role": "user", "parts": [{ "type": "text", "content": plan.question }] })]
        } else {
            Vec::new()
        };
        Self {
            prompt_tokens: prefix + run.rng.random_range(15..120),
            // A conversation's earlier context may already sit in the provider's cache.
            last_prompt: if plan.history_tokens > 0 { prefix } else { 0 },
            messages,
        }
    }

    /// Prompt-cache hit: the previous prompt, in the 128-token blocks the providers cache.
    fn cached(&mut self, hit: bool) -> i64 {
        let cached = if hit && self.last_prompt >= 1024 {
            self.last_prompt / 128 * 128
        } else {
            0
        };
        self.last_prompt = self.prompt_tokens;
        cached
    }

    /// The assistant message of a model call; it is part of the next prompt.
    fn reply(&mut self, calls: &[Call], answer: &str, finish: &str, output_tokens: i64) -> Json {
        self.prompt_tokens += output_tokens;
        let parts: Vec<Json> = if calls.is_empty() {
            vec![json!({ "type": "text", "content": answer })]
        } else {
            calls.iter().map(tool_call_part).collect()
        };
        let reply = json!({ "role": "assistant", "parts": parts, "finish_reason": finish });
        if !self.messages.is_empty() {
            self.messages.push(reply.clone());
        }
        reply
    }

    fn tool_result(&mut self, call: &Call, result: &str, tokens: i64) {
        self.prompt_tokens += tokens;
        if !self.messages.is_empty() {
            let response =
                json!({ "type": "tool_call_response", "id": call.id, "response": result });
            self.messages
                .push(json!({ "role": "tool", "parts": [response] }));
        }
    }

    fn messages_json(&self) -> String {
        Json::Array(self.messages.clone()).to_string()
    }
}

fn tool_call_part(call: &Call) -> Json {
    let arguments = serde_json::from_str::<Json>(&call.arguments)
        .unwrap_or_else(|_| Json::from(call.arguments.as_str()));
    json!({ "type": "tool_call", "id": call.id, "name": call.name, "arguments": arguments })
}

fn resource(service: &Service, rng: &mut StdRng) -> Resource {
    let pod = format!(
        "{}-{}-{}",
        service.name,
        alphanumeric(rng, 10).to_lowercase(),
        alphanumeric(rng, 5).to_lowercase()
    );
    Resource {
        attributes: vec![
            string("service.name", service.name),
            string("service.version", service.version),
            string("service.namespace", "demo"),
            string("service.instance.id", &uuid(rng)),
            string("host.name", &pod),
            string("deployment.environment.name", "production"),
            string("telemetry.sdk.name", "opentelemetry"),
            string("telemetry.sdk.language", service.language),
            string("telemetry.sdk.version", service.sdk_version),
        ],
        ..Default::default()
    }
}

fn scope(service: &Service) -> InstrumentationScope {
    InstrumentationScope {
        name: service.scope.0.into(),
        version: service.scope.1.into(),
        ..Default::default()
    }
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    *items.choose(rng).expect("catalog lists are not empty")
}

/// The entry of a catalog list for a topic (lists shorter than the topics wrap around).
fn on(items: &[&'static str], topic: usize) -> &'static str {
    items[topic % items.len()]
}

/// A random id that is not all zeros (OTLP treats the all-zero id as invalid).
fn nonzero_id<const N: usize>(rng: &mut StdRng) -> [u8; N] {
    loop {
        let id: [u8; N] = rng.random();
        if id.iter().any(|&b| b != 0) {
            return id;
        }
    }
}

/// A random (version 4) UUID.
fn uuid(rng: &mut StdRng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn alphanumeric(rng: &mut StdRng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(rng.sample(Alphanumeric)))
        .collect()
}

fn attribute(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn string(key: &str, value: &str) -> KeyValue {
    attribute(key, Value::StringValue(value.into()))
}

fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, Value::IntValue(value))
}

fn double(key: &str, value: f64) -> KeyValue {
    attribute(key, Value::DoubleValue(value))
}

fn strings(key: &str, values: &[&str]) -> KeyValue {
    let values = values
        .iter()
        .map(|v| AnyValue {
            value: Some(Value::StringValue((*v).into())),
        })
        .collect();
    attribute(key, Value::ArrayValue(ArrayValue { values }))
}

mod catalog;

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use prost::Message;

    use super::*;

    const START: u64 = 1_750_000_000_000_000_000;

    /// The spans of `n` traces, one `Vec` per trace.
    fn traces(seed: u64, n: usize) -> Vec<Vec<Span>> {
        let mut traffic = TrafficGen::new(seed);
        (0..n)
            .map(|i| {
                let resource_spans = traffic.trace(START + i as u64 * 1_000 * MS);
                resource_spans
                    .into_iter()
                    .flat_map(|rs| rs.scope_spans)
                    .flat_map(|ss| ss.spans)
                    .collect()
            })
            .collect()
    }

    fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
        let kv = span.attributes.iter().find(|kv| kv.key == key)?;
        kv.value.as_ref()?.value.as_ref()
    }

    fn attr_str<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
        match attr(span, key)? {
            Value::StringValue(s) => Some(s),
            _ => None,
        }
    }

    fn failed(span: &Span) -> bool {
        span.status
            .as_ref()
            .is_some_and(|s| s.code == StatusCode::Error as i32)
    }

    #[test]
    fn traces_have_one_root_and_known_parents() {
        let all = traces(7, 1000);
        for spans in &all {
            let ids: HashSet<&[u8]> = spans.iter().map(|s| s.span_id.as_slice()).collect();
            let roots: Vec<&Span> = spans
                .iter()
                .filter(|s| s.parent_span_id.is_empty())
                .collect();
            assert_eq!(roots.len(), 1);
            assert!(roots[0].name.starts_with("invoke_agent "));
            assert_eq!(roots[0].kind, SpanKind::Internal as i32);
            for span in spans {
                assert_eq!(span.trace_id, spans[0].trace_id);
                assert!(
                    span.parent_span_id.is_empty() || ids.contains(span.parent_span_id.as_slice())
                );
                let expected = if span.name.starts_with("chat ") {
                    SpanKind::Client
                } else {
                    SpanKind::Internal
                };
                assert_eq!(span.kind, expected as i32, "{}", span.name);
            }
        }
        let spans: usize = all.iter().map(Vec::len).sum();
        let mean = spans as f64 / all.len() as f64;
        assert!((7.0..=9.5).contains(&mean), "{mean} spans per trace");
        let delegated = all.iter().filter(|t| {
            t.iter()
                .filter(|s| s.name.starts_with("invoke_agent"))
                .count()
                > 1
        });
        assert!(delegated.count() > 100, "sub-agents are rare but present");
    }

    #[test]
    fn children_run_inside_their_parents() {
        for spans in traces(11, 1000) {
            let by_id: HashMap<&[u8], &Span> =
                spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
            for span in &spans {
                assert!(
                    span.start_time_unix_nano < span.end_time_unix_nano,
                    "{}",
                    span.name
                );
                assert!(span.start_time_unix_nano >= START);
                let millis = (span.end_time_unix_nano - span.start_time_unix_nano) / MS;
                if span.name.starts_with("chat ") {
                    assert!(
                        (300..=4000).contains(&millis),
                        "{} took {millis} ms",
                        span.name
                    );
                } else if span.name.starts_with("execute_tool ") {
                    assert!(
                        (5..=800).contains(&millis),
                        "{} took {millis} ms",
                        span.name
                    );
                }
                if let Some(parent) = by_id.get(span.parent_span_id.as_slice()) {
                    assert!(span.start_time_unix_nano > parent.start_time_unix_nano);
                    assert!(span.end_time_unix_nano < parent.end_time_unix_nano);
                }
            }
        }
    }

    #[test]
    fn ids_are_unique_and_not_zero() {
        let all = traces(3, 2000);
        let mut trace_ids = HashSet::new();
        let mut span_ids = HashSet::new();
        for spans in &all {
            assert_eq!(spans[0].trace_id.len(), 16);
            assert!(spans[0].trace_id.iter().any(|&b| b != 0));
            assert!(trace_ids.insert(spans[0].trace_id.clone()));
            for span in spans {
                assert_eq!(span.span_id.len(), 8);
                assert!(span.span_id.iter().any(|&b| b != 0));
                assert!(span_ids.insert(span.span_id.clone()));
            }
        }
    }

    #[test]
    fn spans_carry_genai_attributes() {
        let spans: Vec<Span> = traces(5, 1000).into_iter().flatten().collect();
        let attributes: usize = spans.iter().map(|s| s.attributes.len()).sum();
        let mean = attributes as f64 / spans.len() as f64;
        assert!(mean >= 12.0, "{mean} attributes per span");
        for span in &spans {
            let operation = attr_str(span, "gen_ai.operation.name").expect("operation name");
            assert!(
                span.name.starts_with(operation),
                "{} / {operation}",
                span.name
            );
            assert!(attr_str(span, "gen_ai.conversation.id").is_some());
            if operation == "chat" && !failed(span) {
                assert!(
                    matches!(attr(span, "gen_ai.usage.input_tokens"), Some(Value::IntValue(n)) if *n > 0)
                );
                assert!(
                    matches!(attr(span, "gen_ai.response.finish_reasons"), Some(Value::ArrayValue(a)) if a.values.len() == 1)
                );
                assert!(attr_str(span, "gen_ai.response.model").is_some());
            }
            if operation == "execute_tool" {
                assert!(attr_str(span, "gen_ai.tool.name").is_some());
            }
        }
        let cached = spans
            .iter()
            .filter(|s| attr(s, "gen_ai.usage.cache_read.input_tokens").is_some());
        assert!(cached.count() > 100);
        let providers: HashSet<&str> = spans
            .iter()
            .filter_map(|s| attr_str(s, "gen_ai.provider.name"))
            .collect();
        assert_eq!(
            providers,
            HashSet::from(["openai", "anthropic", "gcp.gemini"])
        );
    }

    #[test]
    fn about_five_percent_of_traces_fail() {
        let all = traces(42, 4000);
        let failing = all.iter().filter(|t| t.iter().any(failed)).count();
        let rate = failing as f64 / all.len() as f64;
        assert!((0.035..=0.065).contains(&rate), "{rate} of traces failed");
        for span in all.iter().flatten().filter(|s| failed(s)) {
            assert!(attr_str(span, "error.type").is_some(), "{}", span.name);
            let event = span
                .events
                .iter()
                .find(|e| e.name == "exception")
                .expect("exception event");
            let keys: Vec<&str> = event.attributes.iter().map(|kv| kv.key.as_str()).collect();
            assert_eq!(
                keys,
                [
                    "exception.type",
                    "exception.message",
                    "exception.stacktrace"
                ]
            );
        }
        let tool_failures = all
            .iter()
            .flatten()
            .filter(|s| failed(s) && s.name.starts_with("execute_tool"));
        let chat_failures = all
            .iter()
            .flatten()
            .filter(|s| failed(s) && s.name.starts_with("chat"));
        assert!(tool_failures.count() > 30 && chat_failures.count() > 30);
    }

    #[test]
    fn some_conversations_span_several_traces() {
        let mut runs: HashMap<String, usize> = HashMap::new();
        for spans in traces(9, 500) {
            let root = spans
                .iter()
                .find(|s| s.parent_span_id.is_empty())
                .expect("root");
            let id = attr_str(root, "gen_ai.conversation.id").expect("conversation id");
            *runs.entry(id.to_string()).or_default() += 1;
        }
        let continued = runs.values().filter(|&&n| n > 1).count();
        assert!(
            continued >= 20,
            "{continued} conversations with several runs"
        );
        assert!(runs.len() > 250);
    }

    #[test]
    fn requests_round_trip_through_protobuf() {
        let mut traffic = TrafficGen::new(1);
        let request = traffic.request(10, START);
        let bytes = request.encode_to_vec();
        let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(decoded, request);
        let traces: HashSet<&[u8]> = request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|s| s.trace_id.as_slice())
            .collect();
        assert_eq!(traces.len(), 10);
        assert!(request.resource_spans.len() <= SERVICES.len() * INSTANCES_PER_SERVICE);
        for rs in &request.resource_spans {
            let resource = rs.resource.as_ref().expect("resource");
            let keys: Vec<&str> = resource
                .attributes
                .iter()
                .map(|kv| kv.key.as_str())
                .collect();
            assert!(keys.contains(&"service.name") && keys.contains(&"telemetry.sdk.language"));
            assert_eq!(rs.scope_spans.len(), 1);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_traffic() {
        let a = TrafficGen::new(99).request(20, START);
        let b = TrafficGen::new(99).request(20, START);
        let c = TrafficGen::new(100).request(20, START);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_catalog_is_consistent() {
        let mut agents: Vec<&Agent> = SERVICES.iter().flat_map(|s| s.agents).copied().collect();
        agents.extend(agents.clone().iter().filter_map(|a| a.sub_agent));
        for agent in agents {
            assert!(
                !agent.models.is_empty() && !agent.tools.is_empty(),
                "{}",
                agent.name
            );
            assert_eq!(agent.questions.len(), agent.answers.len(), "{}", agent.name);
            if let Some(sub) = agent.sub_agent {
                assert_eq!(sub.questions.len(), agent.questions.len(), "{}", sub.name);
            }
            for tool in agent.tools {
                assert!(!tool.results.is_empty(), "{}", tool.name);
                assert!(tool.millis.0 >= 5 && tool.millis.1 <= 800, "{}", tool.name);
                for arguments in tool.arguments {
                    let parsed: Json = serde_json::from_str(arguments).expect("JSON arguments");
                    assert!(parsed.is_object(), "{}", tool.name);
                }
            }
        }
    }

    #[test]
    fn captured_content_is_valid_json() {
        for span in traces(13, 300).iter().flatten() {
            for key in [
                "gen_ai.input.messages",
                "gen_ai.output.messages",
                "gen_ai.system_instructions",
            ] {
                if let Some(text) = attr_str(span, key) {
                    let parsed: Json = serde_json::from_str(text).expect("valid JSON");
                    assert!(parsed.is_array(), "{key} is an array");
                }
            }
        }
    }
}
