//! One agent run: its plan (rounds, tools, delegation, the fault it will hit), the
//! `invoke_agent` span and the turns between model calls and tools.

use super::*;

/// What one agent run will do, decided before its spans are built.
pub(super) struct Plan {
    /// Which of the agent's questions the run answers; tools and answers follow it.
    pub(super) topic: usize,
    pub(super) question: &'static str,
    /// Prompt tokens of earlier runs of the conversation.
    pub(super) history_tokens: i64,
    pub(super) steps: Vec<Step>,
    pub(super) fault: Option<Fault>,
}

/// What the agent does after a model call asked for tools.
pub(super) enum Step {
    Tools(Vec<&'static Tool>),
    /// Hands the topic to a sub-agent (called by the model like a tool).
    Delegate(&'static Agent),
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Fault {
    /// The first tool of this step raises; the agent goes on.
    Tool { step: usize },
    /// The model call before this step (or the final one) fails with this HTTP status.
    Chat { call: usize, status: u16 },
}

/// Token counts of one model call, or summed over a run.
#[derive(Clone, Copy, Default)]
pub(super) struct Usage {
    pub(super) input: i64,
    pub(super) output: i64,
    pub(super) cache_read: i64,
}

impl Usage {
    pub(super) fn add(&mut self, other: Usage) {
        self.input += other.input;
        self.output += other.output;
        self.cache_read += other.cache_read;
    }
}

/// An exception as the instrumentations record it.
pub(super) struct Failure {
    pub(super) class: String,
    pub(super) message: String,
    pub(super) stacktrace: String,
}

/// How an agent run, model call or tool call ended.
pub(super) struct Outcome {
    pub(super) end: u64,
    pub(super) usage: Usage,
    /// Set when the run must stop (a failed model call, or a sub-agent that failed).
    pub(super) failure: Option<Failure>,
    /// What goes back to the caller: the final answer, or the tool result.
    pub(super) result: String,
}

/// The agent run a span belongs to, and the span to hang children on.
#[derive(Clone, Copy)]
pub(super) struct Caller {
    pub(super) agent: &'static Agent,
    pub(super) model: &'static Model,
    pub(super) topic: usize,
    pub(super) span_id: [u8; 8],
}

/// One tool call requested by the model.
pub(super) struct Call {
    pub(super) id: String,
    pub(super) name: &'static str,
    pub(super) arguments: String,
}

/// Builds the spans of one trace.
pub(super) struct Run<'a> {
    pub(super) rng: &'a mut StdRng,
    pub(super) trace_id: [u8; 16],
    pub(super) service: &'static Service,
    pub(super) conversation: String,
    pub(super) user: String,
    pub(super) spans: Vec<Span>,
}

impl<'a> Run<'a> {
    pub(super) fn new(
        rng: &'a mut StdRng,
        service: &'static Service,
        conversation: &Conversation,
    ) -> Self {
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
    pub(super) fn plan(
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

    pub(super) fn pick_tools(&mut self, agent: &Agent) -> Vec<&'static Tool> {
        let n = match self.rng.random_range(0..100) {
            0..70 => 1,
            70..95 => 2,
            _ => 3,
        };
        agent.tools.choose_multiple(self.rng, n).copied().collect()
    }

    pub(super) fn fault(&mut self, steps: &[Step]) -> Fault {
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

    pub(super) fn between(&mut self, low_ms: u64, high_ms: u64) -> u64 {
        self.rng.random_range(low_ms * MS..=high_ms * MS)
    }

    /// Attributes on every span of an agent (propagated context).
    pub(super) fn context(&self, agent: &Agent) -> [KeyValue; 3] {
        [
            string("gen_ai.conversation.id", &self.conversation),
            string("gen_ai.agent.name", agent.name),
            string("user.id", &self.user),
        ]
    }

    pub(super) fn span(
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
    pub(super) fn invoke_agent(
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
    pub(super) fn turns(&mut self, caller: Caller, plan: &Plan, start: u64) -> Outcome {
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
    pub(super) fn requested_calls(&mut self, step: &Step, caller: Caller) -> Vec<Call> {
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
    pub(super) fn step(
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

    pub(super) fn agent_attributes(
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
