//! The spans of model calls (`chat`) and tool calls (`execute_tool`), and the exceptions
//! they raise when the run's plan makes them fail.

use super::*;

impl Run<'_> {
    /// One model call: asks for `calls`, or gives the final answer when there are none.
    pub(super) fn chat(
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

    pub(super) fn chat_request_attributes(
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
    pub(super) fn chat_response(
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
    pub(super) fn chat_duration(&mut self, model: &Model, output_tokens: i64) -> u64 {
        let jitter = self.rng.random_range(80..130);
        let generation = output_tokens.unsigned_abs() * model.token_micros * jitter * 10;
        match self.between(250, 900) + generation {
            // Long answers hit the client's streaming budget; keep a spread, not a wall.
            long if long > 4000 * MS => self.between(3200, 4000),
            duration => duration,
        }
    }

    pub(super) fn chat_failure(&mut self, model: &Model, status: u16) -> Failure {
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
    pub(super) fn execute_tool(
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

    pub(super) fn tool_attributes(
        &self,
        caller: Caller,
        tool: &Tool,
        call: &Call,
    ) -> Vec<KeyValue> {
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
    pub(super) fn failure(
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
pub(super) fn fail(span: &mut Span, failure: Option<&Failure>) {
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
