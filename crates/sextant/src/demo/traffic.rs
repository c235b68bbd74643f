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

/// The services, agents, models and tools the traffic is made of.
mod catalog {
    /// A model API, with how it names things and how it fails.
    pub struct Provider {
        /// `gen_ai.provider.name`.
        pub name: &'static str,
        pub server: &'static str,
        pub finish_tool: &'static str,
        pub finish_stop: &'static str,
        /// Prefix and random length of response ids.
        pub response_id: (&'static str, usize),
        /// Prefix and random length of tool call ids (length 0: the API has none).
        pub tool_call_id: (&'static str, usize),
        /// How often a follow-up call reads the previous prompt from the provider's cache.
        pub cache_hit_rate: f64,
        pub rate_limited: ErrorText,
        pub server_error: ErrorText,
        /// Where its SDK raises, under site-packages (Python) and node_modules (JavaScript).
        pub python_frame: &'static str,
        pub node_frame: &'static str,
    }

    /// An exception class (Python-qualified) and message; `{model}` is replaced.
    pub struct ErrorText {
        pub class: &'static str,
        pub message: &'static str,
    }

    pub struct Model {
        pub provider: &'static Provider,
        pub request: &'static str,
        pub response: &'static str,
        /// Generation time per output token.
        pub token_micros: u64,
    }

    pub struct Tool {
        pub name: &'static str,
        /// `gen_ai.tool.type`: function, extension or datastore.
        pub kind: &'static str,
        pub description: &'static str,
        pub millis: (u64, u64),
        /// JSON arguments the model sends.
        pub arguments: &'static [&'static str],
        pub results: &'static [&'static str],
        pub error: ErrorText,
        /// The source line that raises `error` (Python tracebacks show it).
        pub error_line: &'static str,
    }

    pub struct Agent {
        pub name: &'static str,
        pub id: &'static str,
        pub description: &'static str,
        pub instructions: &'static str,
        /// Repeated entries weigh more.
        pub models: &'static [&'static Model],
        pub tools: &'static [&'static Tool],
        pub sub_agent: Option<&'static Agent>,
        pub temperature: f64,
        pub max_tokens: i64,
        pub questions: &'static [&'static str],
        pub answers: &'static [&'static str],
    }

    pub struct Service {
        pub name: &'static str,
        pub version: &'static str,
        /// `telemetry.sdk.language`: python or nodejs.
        pub language: &'static str,
        pub sdk_version: &'static str,
        /// Instrumentation scope name and version.
        pub scope: (&'static str, &'static str),
        /// Code package, for stack traces and `code.function.name`.
        pub module: &'static str,
        /// Whether message content is recorded (`gen_ai.input.messages`, tool arguments, ...).
        pub capture_content: bool,
        pub weight: u32,
        pub agents: &'static [&'static Agent],
    }

    pub static SERVICES: [Service; 3] = [
        Service {
            name: "support-bot",
            version: "2.14.1",
            language: "python",
            sdk_version: "1.38.0",
            scope: ("opentelemetry.util.genai.handler", "0.2b0"),
            module: "support_bot",
            capture_content: true,
            weight: 5,
            agents: &[&SUPPORT_TRIAGE],
        },
        Service {
            name: "research-agent",
            version: "0.9.3",
            language: "python",
            sdk_version: "1.38.0",
            scope: ("pydantic-ai", "1.0.10"),
            module: "research_agent",
            capture_content: true,
            weight: 3,
            agents: &[&RESEARCHER],
        },
        Service {
            name: "code-assistant",
            version: "3.2.0",
            language: "nodejs",
            sdk_version: "2.0.1",
            scope: ("code-assistant", "3.2.0"),
            module: "code_assistant",
            capture_content: false,
            weight: 3,
            agents: &[&CODE_FIXER, &PR_DESCRIBER],
        },
    ];

    static OPENAI: Provider = Provider {
        name: "openai",
        server: "api.openai.com",
        finish_tool: "tool_calls",
        finish_stop: "stop",
        response_id: ("chatcmpl-", 29),
        tool_call_id: ("call_", 24),
        cache_hit_rate: 0.6,
        rate_limited: ErrorText {
            class: "openai.RateLimitError",
            message: "Error code: 429 - {'error': {'message': 'Rate limit reached for {model} in organization org-demo on tokens per min (TPM): Limit 30000, Used 28764, Requested 2311. Please try again in 2.15s.', 'type': 'tokens', 'param': None, 'code': 'rate_limit_exceeded'}}",
        },
        server_error: ErrorText {
            class: "openai.InternalServerError",
            message: "Error code: 500 - {'error': {'message': 'The server had an error while processing your request. Sorry about that!', 'type': 'server_error', 'param': None, 'code': None}}",
        },
        python_frame: "openai/_base_client.py",
        node_frame: "openai/core/error.js",
    };

    static ANTHROPIC: Provider = Provider {
        name: "anthropic",
        server: "api.anthropic.com",
        finish_tool: "tool_use",
        finish_stop: "end_turn",
        response_id: ("msg_01", 22),
        tool_call_id: ("toolu_01", 22),
        cache_hit_rate: 0.5,
        rate_limited: ErrorText {
            class: "anthropic.RateLimitError",
            message: "Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', 'message': 'This request would exceed the rate limit for your organization of 40,000 input tokens per minute.'}}",
        },
        server_error: ErrorText {
            class: "anthropic.InternalServerError",
            message: "Error code: 500 - {'type': 'error', 'error': {'type': 'api_error', 'message': 'Internal server error'}}",
        },
        python_frame: "anthropic/_base_client.py",
        node_frame: "@anthropic-ai/sdk/core/error.js",
    };

    static GEMINI: Provider = Provider {
        name: "gcp.gemini",
        server: "generativelanguage.googleapis.com",
        finish_tool: "STOP",
        finish_stop: "STOP",
        response_id: ("", 22),
        tool_call_id: ("", 0),
        cache_hit_rate: 0.3,
        rate_limited: ErrorText {
            class: "google.genai.errors.ClientError",
            message: "429 RESOURCE_EXHAUSTED. {'error': {'code': 429, 'message': 'You exceeded your current quota, please check your plan and billing details.', 'status': 'RESOURCE_EXHAUSTED'}}",
        },
        server_error: ErrorText {
            class: "google.genai.errors.ServerError",
            message: "500 INTERNAL. {'error': {'code': 500, 'message': 'An internal error has occurred. Please retry or report it.', 'status': 'INTERNAL'}}",
        },
        python_frame: "google/genai/_api_client.py",
        node_frame: "@google/genai/dist/node/index.mjs",
    };

    static GPT_4O: Model = Model {
        provider: &OPENAI,
        request: "gpt-4o",
        response: "gpt-4o-2024-08-06",
        token_micros: 12_000,
    };
    static GPT_4O_MINI: Model = Model {
        provider: &OPENAI,
        request: "gpt-4o-mini",
        response: "gpt-4o-mini-2024-07-18",
        token_micros: 8_000,
    };
    static CLAUDE_SONNET_4: Model = Model {
        provider: &ANTHROPIC,
        request: "claude-sonnet-4",
        response: "claude-sonnet-4-20250514",
        token_micros: 14_000,
    };
    static CLAUDE_HAIKU: Model = Model {
        provider: &ANTHROPIC,
        request: "claude-3-5-haiku",
        response: "claude-3-5-haiku-20241022",
        token_micros: 7_000,
    };
    static GEMINI_FLASH: Model = Model {
        provider: &GEMINI,
        request: "gemini-2.5-flash",
        response: "gemini-2.5-flash",
        token_micros: 5_000,
    };

    // Agents and tools. Entry i of `questions` is topic i; the other lists (answers, tool
    // arguments and results) follow the topic, so one run reads as one coherent story.

    static SUPPORT_TRIAGE: Agent = Agent {
        name: "support-triage",
        id: "asst_8mKq2VZr1XbT4nLp0cWjYd3s",
        description: "Answers customer questions about orders, shipping and returns",
        instructions: "You are the support assistant of an online shop. Be concise and friendly. Look orders up before answering. Never promise a refund yourself: hand refunds to refund-agent.",
        models: &[&GPT_4O_MINI, &GPT_4O_MINI, &GPT_4O],
        tools: &[&LOOKUP_ORDER, &TRACK_SHIPMENT, &SEARCH_KB, &CREATE_TICKET],
        sub_agent: Some(&REFUND_AGENT),
        temperature: 0.2,
        max_tokens: 1024,
        questions: &[
            "My order #48213 was supposed to arrive last Tuesday but tracking has not moved for five days. What is going on?",
            "Can I still return the jacket from order 51907? I wore it once.",
            "I moved last week. Can you change the delivery address of order 47730?",
            "The mug in my order 52114 arrived broken. What can you do?",
        ],
        answers: &[
            "Your parcel is stuck at the DHL sorting center in Leipzig. I opened ticket SUP-20931 with the carrier and refunded the 4.90 EUR shipping fee; you will hear from us within two working days.",
            "Worn items can only be returned within 14 days if they show no signs of wear. I passed your case to the returns team, who will reply by email within 24 hours.",
            "Order 47730 is already out for delivery, so the address can no longer be changed, but you can redirect the parcel with the DHL link I just sent you.",
            "Sorry about that! I refunded 39.95 EUR for the broken mug to your original payment method; it shows up within 5 working days. No need to send it back.",
        ],
    };

    static REFUND_AGENT: Agent = Agent {
        name: "refund-agent",
        id: "asst_Rf4nD0aG3ntQp7xLm2Vc9TbE",
        description: "Decides on and issues refunds within the refund policy",
        instructions: "You handle refunds. Check the order and the refund policy, refund at most 100 EUR without approval, and say what you did in one sentence.",
        models: &[&GPT_4O],
        tools: &[&LOOKUP_ORDER, &ISSUE_REFUND],
        sub_agent: None,
        temperature: 0.0,
        max_tokens: 512,
        questions: &[
            "Order 48213 has been stuck in transit for five days. Refund the shipping fee of 4.90 EUR.",
            "Customer wants to return a worn jacket from order 51907 (89.00 EUR). Refund if the policy allows it.",
            "Order 47730 needs a parcel redirect. Refund the 4.90 EUR redirect fee as a goodwill gesture.",
            "The mug in order 52114 arrived broken (39.95 EUR). Refund if eligible.",
        ],
        answers: &[
            "Refunded the 4.90 EUR shipping fee of order 48213 (refund re_3PqL2kF9).",
            "Not refunded: worn items are outside the return policy; escalated to the returns team.",
            "Refunded the 4.90 EUR redirect fee of order 47730.",
            "Refunded 39.95 EUR for order 52114 (reason: damaged).",
        ],
    };

    static RESEARCHER: Agent = Agent {
        name: "researcher",
        id: "agent_01JXR7D3K9Q2M8V5T4N6B1C0ZP",
        description: "Researches a topic on the web and writes a short brief with sources",
        instructions: "You are a research assistant. Search, read the primary sources, and answer with a brief of at most 200 words that cites every claim.",
        models: &[&CLAUDE_SONNET_4, &CLAUDE_SONNET_4, &GPT_4O],
        tools: &[&WEB_SEARCH, &FETCH_URL, &READ_PDF],
        sub_agent: Some(&SUMMARIZER),
        temperature: 0.3,
        max_tokens: 4096,
        questions: &[
            "What do providers of general-purpose AI models have to do under the EU AI Act, and from when?",
            "Where does solid-state battery production stand in 2025?",
            "Summarise the evidence on four-day work weeks and productivity.",
        ],
        answers: &[
            "Since 2 August 2025 providers of general-purpose AI models must keep technical documentation, publish a summary of the training content and respect EU copyright law (Art. 53); models with systemic risk also need evaluations and incident reporting (Art. 55) [1][2].",
            "Pilot lines run at several makers, but volume production is not expected before 2027; sample cells reach 350-400 Wh/kg [1][3].",
            "Trials in the UK and Iceland found stable or slightly higher output with fewer hours and less burnout, though most participants were office workers [1][2].",
        ],
    };

    static SUMMARIZER: Agent = Agent {
        name: "summarizer",
        id: "agent_01JXR7E8W2H6Y1F9S3A7D5G4KM",
        description: "Condenses long documents into key findings with quotes",
        instructions: "Summarise the document in five bullet points, each with a short quote and its page.",
        models: &[&CLAUDE_HAIKU, &GEMINI_FLASH],
        tools: &[&FETCH_URL, &READ_PDF],
        sub_agent: None,
        temperature: 0.0,
        max_tokens: 1024,
        questions: &[
            "Summarise the General-Purpose AI Code of Practice (transparency and copyright chapters).",
            "Summarise arXiv 2406.12345 on degradation of sulfide solid-state cells.",
            "Summarise the 4 Day Week Global UK pilot report.",
        ],
        answers: &[
            "- Providers fill in a model documentation form (p. 3)\n- They publish a copyright policy and honour robots.txt (p. 11)",
            "- Capacity fade is dominated by lithium plating below 10 C (p. 4)\n- Stack pressure above 5 MPa halves dendrite growth (p. 7)",
            "- 56 of 61 companies continued the four-day week (p. 5)\n- Revenue stayed broadly the same (p. 9)",
        ],
    };

    static CODE_FIXER: Agent = Agent {
        name: "code-fixer",
        id: "code-fixer-v3",
        description: "Finds and fixes the cause of failing tests",
        instructions: "You work on a git repository. Reproduce the failure, read the relevant code, propose the smallest patch that fixes it, and run the tests again.",
        models: &[&CLAUDE_SONNET_4, &CLAUDE_SONNET_4, &GPT_4O],
        tools: &[&READ_FILE, &GREP_REPO, &RUN_TESTS, &APPLY_PATCH],
        sub_agent: Some(&PATCH_REVIEWER),
        temperature: 0.0,
        max_tokens: 8192,
        questions: &[
            "CI job unit-tests fails: 'parser > roundtrip > keeps comments'. Fix it.",
            "The date formatter test fails since we upgraded to Node 22. Find out why and fix it.",
        ],
        answers: &[
            "The printer dropped trailing comments when a statement ended the block. I patched src/parser/print.ts to flush pending comments before closing the block; all 42 parser tests pass.",
            "Node 22 ships ICU 74, which abbreviates September as 'Sept'. I pinned the test to an explicit month format; the date suite is green again.",
        ],
    };

    static PATCH_REVIEWER: Agent = Agent {
        name: "patch-reviewer",
        id: "patch-reviewer-v1",
        description: "Reviews a proposed patch for correctness and style",
        instructions: "Review the patch. Reply APPROVE or REQUEST_CHANGES with at most three concrete remarks.",
        models: &[&GPT_4O_MINI, &GEMINI_FLASH],
        tools: &[&READ_FILE, &GREP_REPO],
        sub_agent: None,
        temperature: 0.0,
        max_tokens: 1024,
        questions: &[
            "Review the patch to src/parser/print.ts that flushes pending comments before closing a block.",
            "Review the change to tests/date.test.ts that pins the month format.",
        ],
        answers: &[
            "APPROVE. The flush also covers nested blocks; consider a test for an empty block.",
            "REQUEST_CHANGES: also pin the locale, otherwise the test still depends on the machine.",
        ],
    };

    static PR_DESCRIBER: Agent = Agent {
        name: "pr-describer",
        id: "pr-describer-v2",
        description: "Writes pull-request titles and descriptions from the diff",
        instructions: "Write a pull-request title (at most 60 characters) and a description with a summary, the motivation and how it was tested.",
        models: &[&GEMINI_FLASH, &GPT_4O_MINI],
        tools: &[&GIT_DIFF, &READ_FILE],
        sub_agent: None,
        temperature: 0.4,
        max_tokens: 2048,
        questions: &[
            "Describe the pull request for branch fix/parser-comments.",
            "Describe the pull request for branch fix/date-format-node22.",
        ],
        answers: &[
            "Title: Keep trailing comments when printing blocks\n\nThe printer dropped comments at the end of a block. Pending comments are now flushed before the closing brace. Tested with the parser round-trip suite.",
            "Title: Pin the month format in date tests\n\nNode 22 (ICU 74) abbreviates September as 'Sept', which broke the snapshot. The test now formats with an explicit pattern and locale. Tested on Node 20 and 22.",
        ],
    };

    static LOOKUP_ORDER: Tool = Tool {
        name: "lookup_order",
        kind: "function",
        description: "Look up an order by its number: items, status, shipping address.",
        millis: (20, 150),
        arguments: &[
            r#"{"order_id": "48213"}"#,
            r#"{"order_id": "51907"}"#,
            r#"{"order_id": "47730"}"#,
            r#"{"order_id": "52114"}"#,
        ],
        results: &[
            r#"{"order_id": "48213", "status": "shipped", "carrier": "DHL", "tracking": "JD014600006281234567", "items": 2, "total_eur": 84.9}"#,
            r#"{"order_id": "51907", "status": "delivered", "items": [{"sku": "JKT-220-M", "name": "Rain jacket", "price_eur": 89.0}], "delivered_at": "2025-05-12"}"#,
            r#"{"order_id": "47730", "status": "out_for_delivery", "carrier": "DHL", "tracking": "JD014600006281299810"}"#,
            r#"{"order_id": "52114", "status": "delivered", "items": [{"sku": "MUG-12", "name": "Stoneware mug", "price_eur": 39.95}]}"#,
        ],
        error: ErrorText {
            class: "httpx.HTTPStatusError",
            message: "Server error '503 Service Unavailable' for url 'http://orders.internal:8080/v1/orders/48213'",
        },
        error_line: "response.raise_for_status()",
    };

    static TRACK_SHIPMENT: Tool = Tool {
        name: "track_shipment",
        kind: "function",
        description: "Get the latest tracking events of a parcel.",
        millis: (80, 450),
        arguments: &[
            r#"{"carrier": "DHL", "tracking_number": "JD014600006281234567"}"#,
            r#"{"carrier": "DHL", "tracking_number": "JD014600006281177102"}"#,
            r#"{"carrier": "DHL", "tracking_number": "JD014600006281299810"}"#,
            r#"{"carrier": "DPD", "tracking_number": "01505080612345"}"#,
        ],
        results: &[
            r#"{"status": "in_transit", "last_event": "Arrived at sorting center Leipzig", "last_update": "2025-06-02T14:11:00Z"}"#,
            r#"{"status": "delivered", "last_event": "Delivered to recipient", "last_update": "2025-05-12T10:03:00Z"}"#,
            r#"{"status": "out_for_delivery", "last_event": "Loaded onto delivery vehicle", "last_update": "2025-06-03T07:45:00Z"}"#,
            r#"{"status": "delivered", "last_event": "Delivered to parcel shop", "last_update": "2025-06-01T16:20:00Z"}"#,
        ],
        error: ErrorText {
            class: "httpx.ReadTimeout",
            message: "The read operation timed out",
        },
        error_line: "resp = await self.client.get(url, timeout=0.4)",
    };

    static SEARCH_KB: Tool = Tool {
        name: "search_kb",
        kind: "datastore",
        description: "Search the help-center articles.",
        millis: (30, 250),
        arguments: &[
            r#"{"query": "parcel delayed tracking not updated", "limit": 5}"#,
            r#"{"query": "return window for worn items", "limit": 5}"#,
            r#"{"query": "change delivery address after shipping", "limit": 5}"#,
            r#"{"query": "item damaged on arrival", "limit": 5}"#,
        ],
        results: &[
            r#"[{"title": "My parcel is late", "url": "https://help.example.com/late", "score": 0.91}]"#,
            r#"[{"title": "Returns and refunds", "url": "https://help.example.com/returns", "score": 0.89}]"#,
            r#"[{"title": "Changing your address", "url": "https://help.example.com/address", "score": 0.93}]"#,
            r#"[{"title": "Damaged items", "url": "https://help.example.com/damaged", "score": 0.95}]"#,
        ],
        error: ErrorText {
            class: "qdrant_client.http.exceptions.UnexpectedResponse",
            message: "Unexpected Response: 503 (Service Unavailable)",
        },
        error_line: "hits = await self.qdrant.search(collection_name=\"help-center\", query_vector=vector, limit=limit)",
    };

    static CREATE_TICKET: Tool = Tool {
        name: "create_ticket",
        kind: "function",
        description: "Open a support ticket for the human support team.",
        millis: (60, 300),
        arguments: &[
            r#"{"subject": "Parcel stuck in transit", "priority": "normal", "order_id": "48213"}"#,
            r#"{"subject": "Return of a worn item", "priority": "low", "order_id": "51907"}"#,
            r#"{"subject": "Address change after shipping", "priority": "normal", "order_id": "47730"}"#,
            r#"{"subject": "Item damaged on arrival", "priority": "normal", "order_id": "52114"}"#,
        ],
        results: &[
            r#"{"ticket_id": "SUP-20931", "queue": "shipping"}"#,
            r#"{"ticket_id": "SUP-20944", "queue": "returns"}"#,
            r#"{"ticket_id": "SUP-20957", "queue": "shipping"}"#,
            r#"{"ticket_id": "SUP-20962", "queue": "returns"}"#,
        ],
        error: ErrorText {
            class: "zenpy.lib.exception.APIException",
            message: "{\"error\": \"RecordInvalid\", \"description\": \"Record validation errors\"}",
        },
        error_line: "ticket = self.zendesk.tickets.create(Ticket(subject=subject, priority=priority))",
    };

    static ISSUE_REFUND: Tool = Tool {
        name: "issue_refund",
        kind: "function",
        description: "Refund an order, or part of it, to the original payment method.",
        millis: (150, 700),
        arguments: &[
            r#"{"order_id": "48213", "amount_eur": 4.9, "reason": "late_delivery"}"#,
            r#"{"order_id": "51907", "amount_eur": 89.0, "reason": "returned"}"#,
            r#"{"order_id": "47730", "amount_eur": 4.9, "reason": "goodwill"}"#,
            r#"{"order_id": "52114", "amount_eur": 39.95, "reason": "damaged"}"#,
        ],
        results: &[
            r#"{"refund_id": "re_3PqL2kF9", "status": "pending"}"#,
            r#"{"refund_id": null, "status": "rejected", "reason": "worn items are not returnable"}"#,
            r#"{"refund_id": "re_3PqM8sX1", "status": "pending"}"#,
            r#"{"refund_id": "re_3PqN4tB7", "status": "pending"}"#,
        ],
        error: ErrorText {
            class: "PermissionError",
            message: "refund of 240.00 EUR exceeds the agent limit of 100.00 EUR",
        },
        error_line: "raise PermissionError(f\"refund of {amount:.2f} EUR exceeds the agent limit of {limit:.2f} EUR\")",
    };

    static WEB_SEARCH: Tool = Tool {
        name: "web_search",
        kind: "extension",
        description: "Search the web and return the top results.",
        millis: (300, 800),
        arguments: &[
            r#"{"query": "EU AI Act obligations general-purpose AI models", "max_results": 5}"#,
            r#"{"query": "solid-state battery mass production 2025", "max_results": 5}"#,
            r#"{"query": "four-day week trial productivity results", "max_results": 5}"#,
        ],
        results: &[
            r#"[{"title": "Article 53: Obligations for Providers of General-Purpose AI Models", "url": "https://artificialintelligenceact.eu/article/53/"}, {"title": "General-Purpose AI Code of Practice", "url": "https://digital-strategy.ec.europa.eu/en/policies/contents-code-gpai"}]"#,
            r#"[{"title": "Solid-state batteries: where production stands", "url": "https://www.example.org/solid-state-2025"}, {"title": "Degradation of sulfide solid-state cells", "url": "https://arxiv.org/abs/2406.12345"}]"#,
            r#"[{"title": "The results are in: the UK's four-day week pilot", "url": "https://www.4dayweek.com/uk-pilot-results"}, {"title": "Going public: Iceland's journey to a shorter working week", "url": "https://autonomy.work/portfolio/icelandsww/"}]"#,
        ],
        error: ErrorText {
            class: "httpx.ReadTimeout",
            message: "The read operation timed out",
        },
        error_line: "r = await self.http.get(SEARCH_URL, params=params, timeout=0.8)",
    };

    static FETCH_URL: Tool = Tool {
        name: "fetch_url",
        kind: "function",
        description: "Fetch a web page and return its main text.",
        millis: (150, 700),
        arguments: &[
            r#"{"url": "https://artificialintelligenceact.eu/article/53/"}"#,
            r#"{"url": "https://www.example.org/solid-state-2025"}"#,
            r#"{"url": "https://www.4dayweek.com/uk-pilot-results"}"#,
        ],
        results: &[
            "Article 53. Providers of general-purpose AI models shall: (a) draw up and keep up-to-date the technical documentation of the model...",
            "Solid-state batteries replace the liquid electrolyte with a solid one. Several manufacturers run pilot lines, but none expects volume production before 2027...",
            "61 companies and around 2,900 workers took part in the six-month trial. 56 companies are continuing with the four-day week...",
        ],
        error: ErrorText {
            class: "httpx.HTTPStatusError",
            message: "Client error '403 Forbidden' for url 'https://www.example.org/solid-state-2025'",
        },
        error_line: "response.raise_for_status()",
    };

    static READ_PDF: Tool = Tool {
        name: "read_pdf",
        kind: "function",
        description: "Extract the text of a PDF document.",
        millis: (100, 600),
        arguments: &[
            r#"{"url": "https://digital-strategy.ec.europa.eu/gpai-code-of-practice.pdf", "max_pages": 20}"#,
            r#"{"url": "https://arxiv.org/pdf/2406.12345", "max_pages": 20}"#,
            r#"{"url": "https://www.4dayweek.com/uk-pilot-report.pdf", "max_pages": 20}"#,
        ],
        results: &[
            r#"{"pages": 40, "text": "Transparency chapter. Signatories commit to drawing up and keeping up-to-date model documentation..."}"#,
            r#"{"pages": 14, "text": "Abstract. We study capacity fade in sulfide solid-state cells under stack pressure..."}"#,
            r#"{"pages": 68, "text": "Executive summary. The trial ran from June to December 2022 with 61 organisations..."}"#,
        ],
        error: ErrorText {
            class: "pypdf.errors.PdfReadError",
            message: "EOF marker not found",
        },
        error_line: "reader = PdfReader(io.BytesIO(data))",
    };

    static READ_FILE: Tool = Tool {
        name: "read_file",
        kind: "function",
        description: "Read a file of the repository.",
        millis: (5, 40),
        arguments: &[
            r#"{"path": "src/parser/print.ts"}"#,
            r#"{"path": "tests/date.test.ts"}"#,
        ],
        results: &[
            "export function printBlock(block: Block, out: Writer) {\n  out.open('{');\n  for (const stmt of block.body) printStatement(stmt, out);\n  out.close('}');\n}",
            "it('formats the month', () => {\n  expect(formatDate(new Date('2025-09-03'))).toBe('3 Sep 2025');\n});",
        ],
        error: ErrorText {
            class: "Error",
            message: "ENOENT: no such file or directory, open '/workspace/src/parser/printer.ts'",
        },
        error_line: "",
    };

    static GREP_REPO: Tool = Tool {
        name: "grep_repo",
        kind: "function",
        description: "Search the repository with a regular expression.",
        millis: (10, 120),
        arguments: &[
            r#"{"pattern": "pendingComments", "glob": "src/**/*.ts"}"#,
            r#"{"pattern": "toLocaleDateString|Intl.DateTimeFormat", "glob": "src/**/*.ts"}"#,
        ],
        results: &[
            "src/parser/print.ts:41:  const pendingComments: Comment[] = [];\nsrc/parser/print.ts:88:  flush(pendingComments, out);",
            "src/format/date.ts:12:  return new Intl.DateTimeFormat(undefined, { month: 'short' }).format(date);",
        ],
        error: ErrorText {
            class: "Error",
            message: "Command failed: rg --json -e 'pendingComments(' src: regex parse error: unclosed group",
        },
        error_line: "",
    };

    static RUN_TESTS: Tool = Tool {
        name: "run_tests",
        kind: "function",
        description: "Run the test suite, or the tests matching a filter.",
        millis: (300, 800),
        arguments: &[r#"{"filter": "parser"}"#, r#"{"filter": "date"}"#],
        results: &[
            r#"{"passed": 41, "failed": 1, "failures": ["parser > roundtrip > keeps comments"]}"#,
            r#"{"passed": 11, "failed": 1, "failures": ["date > formats the month: expected '3 Sep 2025', got '3 Sept 2025'"]}"#,
        ],
        error: ErrorText {
            class: "Error",
            message: "Command failed with exit code 137: npm test -- parser (killed: out of memory)",
        },
        error_line: "",
    };

    static APPLY_PATCH: Tool = Tool {
        name: "apply_patch",
        kind: "function",
        description: "Apply a unified diff to the working tree.",
        millis: (10, 80),
        arguments: &[
            r#"{"diff": "--- a/src/parser/print.ts\n+++ b/src/parser/print.ts\n@@ -86,3 +86,4 @@\n   for (const stmt of block.body) printStatement(stmt, out);\n+  flush(pendingComments, out);\n   out.close('}');\n"}"#,
            r#"{"diff": "--- a/tests/date.test.ts\n+++ b/tests/date.test.ts\n@@ -2,1 +2,1 @@\n-  expect(formatDate(new Date('2025-09-03'))).toBe('3 Sep 2025');\n+  expect(formatDate(new Date('2025-09-03'), 'd MMM yyyy')).toBe('3 Sep 2025');\n"}"#,
        ],
        results: &[
            r#"{"applied": true, "files": ["src/parser/print.ts"]}"#,
            r#"{"applied": true, "files": ["tests/date.test.ts"]}"#,
        ],
        error: ErrorText {
            class: "Error",
            message: "patch does not apply: src/parser/print.ts:86",
        },
        error_line: "",
    };

    static GIT_DIFF: Tool = Tool {
        name: "git_diff",
        kind: "function",
        description: "Show the diff of a branch against its base.",
        millis: (20, 200),
        arguments: &[
            r#"{"base": "main", "branch": "fix/parser-comments"}"#,
            r#"{"base": "main", "branch": "fix/date-format-node22"}"#,
        ],
        results: &[
            " src/parser/print.ts            |  3 ++-\n tests/parser/roundtrip.test.ts | 12 ++++++++++++\n 2 files changed, 14 insertions(+), 1 deletion(-)",
            " tests/date.test.ts | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)",
        ],
        error: ErrorText {
            class: "Error",
            message: "fatal: ambiguous argument 'main...HEAD': unknown revision or path not in the working tree.",
        },
        error_line: "",
    };
}

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
