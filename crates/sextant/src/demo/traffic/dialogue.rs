//! The running prompt of one agent: token counts, prompt-cache hits and, for services that
//! capture content, the messages in the OTel GenAI parts schema.

use super::*;

/// The running context of one agent: the prompt size so far and, when the service captures
/// content, the messages in the OTel GenAI parts schema (otherwise `messages` stays empty).
pub(super) struct Dialogue {
    pub(super) prompt_tokens: i64,
    pub(super) last_prompt: i64,
    pub(super) messages: Vec<Json>,
}

impl Dialogue {
    pub(super) fn new(run: &mut Run<'_>, plan: &Plan) -> Self {
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
    pub(super) fn cached(&mut self, hit: bool) -> i64 {
        let cached = if hit && self.last_prompt >= 1024 {
            self.last_prompt / 128 * 128
        } else {
            0
        };
        self.last_prompt = self.prompt_tokens;
        cached
    }

    /// The assistant message of a model call; it is part of the next prompt.
    pub(super) fn reply(
        &mut self,
        calls: &[Call],
        answer: &str,
        finish: &str,
        output_tokens: i64,
    ) -> Json {
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

    pub(super) fn tool_result(&mut self, call: &Call, result: &str, tokens: i64) {
        self.prompt_tokens += tokens;
        if !self.messages.is_empty() {
            let response =
                json!({ "type": "tool_call_response", "id": call.id, "response": result });
            self.messages
                .push(json!({ "role": "tool", "parts": [response] }));
        }
    }

    pub(super) fn messages_json(&self) -> String {
        Json::Array(self.messages.clone()).to_string()
    }
}

pub(super) fn tool_call_part(call: &Call) -> Json {
    let arguments = serde_json::from_str::<Json>(&call.arguments)
        .unwrap_or_else(|_| Json::from(call.arguments.as_str()));
    json!({ "type": "tool_call", "id": call.id, "name": call.name, "arguments": arguments })
}
