//! Content policy: what happens to prompt and completion content before it reaches the WAL.
//!
//! * `capture = false` (the default): content attributes and content events are removed.
//! * `capture = true`: they are kept, with every redaction rule applied to their values.
//! * Either way, secrets (API keys, bearer tokens, `password=...`) are redacted in **every**
//!   string value (attributes, event attributes, status message): a credential in a trace is
//!   never useful and is harmful wherever it sits. Personal-data rules (email, card numbers) and
//!   user rules run on content only, so that identifiers users filter on (`user.id`,
//!   conversation ids) are stored as sent.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;
use crate::redact::{self, RedactRule, UserRedactRule};

/// Content attribute keys (exact).
pub static CONTENT_KEYS: &[&str] = &[
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.tool.args",
    "input.value",
    "output.value",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "pydantic_ai.all_messages",
    "final_result",
    "function.args",
    "function.kwargs",
    "llm.prompts",
    "gen_ai.content.prompt",
    "gen_ai.content.completion",
];

/// Content attribute key prefixes (indexed/flattened message keys).
pub static CONTENT_PREFIXES: &[&str] = &[
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.prompts.",
    "embedding.embeddings.",
    "llm.prompt_template.variables",
];

/// Content event names (span events or log records): dropped whole when capture is off.
pub static CONTENT_EVENTS: &[&str] = &[
    "gen_ai.client.inference.operation.details",
    "gen_ai.system.message",
    "gen_ai.user.message",
    "gen_ai.assistant.message",
    "gen_ai.tool.message",
    "gen_ai.choice",
    "gen_ai.content.prompt",
    "gen_ai.content.completion",
];

/// Attribute the policy adds where it dropped content attributes: a string array of the dropped
/// keys (an indexed key such as `gen_ai.prompt.0.content` is listed once by its prefix, as
/// `gen_ai.prompt.*`). Normalization runs after the policy, on what the WAL stores, so a rule
/// that only needs to know that a content key was sent (openlit's `function.args`) reads it here:
/// live ingest and WAL replay see the same span.
pub const DROPPED_KEYS_ATTR: &str = "sextant.content.dropped";

/// For each first byte, bit `n` is set when a content key of length `n` (below 64) starts with
/// it: almost every attribute key fails this test, so it is compared with no content key.
static EXACT_SHAPES: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < CONTENT_KEYS.len() {
        let k = CONTENT_KEYS[i].as_bytes();
        assert!(
            !k.is_empty() && k.len() < 64,
            "content keys are 1 to 63 bytes"
        );
        t[k[0] as usize] |= 1 << k.len();
        i += 1;
    }
    t
};

/// `EXACT_SHAPES` by last byte: most keys that share a first byte and length with a content key
/// (`gen_ai.operation.name`, `gen_ai.usage.input_tokens`) end differently, and then no content
/// key is compared either.
static EXACT_LAST: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < CONTENT_KEYS.len() {
        let k = CONTENT_KEYS[i].as_bytes();
        t[k[k.len() - 1] as usize] |= 1 << k.len();
        i += 1;
    }
    t
};

/// The content key equal to `key`, if any.
#[inline(always)]
fn exact_content_key(b: &[u8]) -> Option<&'static str> {
    let (first, last) = (*b.first()?, *b.last()?);
    let shapes = EXACT_SHAPES[usize::from(first)] & EXACT_LAST[usize::from(last)];
    if b.len() >= 64 || shapes & (1 << b.len()) == 0 {
        return None;
    }
    CONTENT_KEYS
        .iter()
        .copied()
        .find(|k| same_bytes(k.as_bytes(), b))
}

/// `a == b`, comparing the last byte first: keys that share a length and first byte with a
/// content key (`gen_ai.system`, `gen_ai.prompt`) almost always differ there, without a memcmp.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.last() == b.last() && a == b
}

/// True for a content attribute key.
pub fn is_content_key(key: &str) -> bool {
    content_key_label(key).is_some()
}

/// The prefixes with their labels in `DROPPED_KEYS_ATTR` (`gen_ai.prompt.*`), built once.
static PREFIX_LABELS: std::sync::LazyLock<Vec<(&'static str, String)>> =
    std::sync::LazyLock::new(|| {
        CONTENT_PREFIXES
            .iter()
            .map(|p| (*p, format!("{p}*")))
            .collect()
    });

/// How a dropped content key is listed in `DROPPED_KEYS_ATTR`: the key itself, or its prefix
/// followed by `*`; `None` when the key is not content.
fn content_key_label(key: &str) -> Option<&'static str> {
    content_key_label_bytes(key.as_bytes())
}

/// `content_key_label` on a key's bytes (the protobuf splice reads keys undecoded). Inlined: the
/// splice asks it for every attribute, and almost every answer comes from the tables above.
#[inline(always)]
fn content_key_label_bytes(key: &[u8]) -> Option<&'static str> {
    if let Some(exact) = exact_content_key(key) {
        return Some(exact);
    }
    // Within its namespace each prefix differs from the common keys (`gen_ai.request.model`,
    // `llm.token_count.prompt`) at one byte: most keys need no prefix comparison.
    let may_be_prefixed = match key.first() {
        Some(b'g') => matches!(key.get(7), Some(b'p' | b'c')),
        Some(b'l') => matches!(key.get(4), Some(b'i' | b'o' | b'p')),
        Some(b'e') => true,
        _ => false,
    };
    if !may_be_prefixed {
        return None;
    }
    prefixed_content_key_label(key)
}

/// The label of a key under a content prefix (`gen_ai.prompt.0.content` → `gen_ai.prompt.*`).
fn prefixed_content_key_label(key: &[u8]) -> Option<&'static str> {
    PREFIX_LABELS
        .iter()
        .find(|(p, _)| {
            key.get(..p.len())
                .is_some_and(|k| same_bytes(k, p.as_bytes()))
        })
        .map(|(_, label)| label.as_str())
}

/// True when `attrs` carries `DROPPED_KEYS_ATTR` listing `key`: the policy dropped that content
/// attribute from the same span.
pub fn content_key_dropped(attrs: &[KeyValue], key: &str) -> bool {
    attrs
        .iter()
        .filter(|kv| kv.key == DROPPED_KEYS_ATTR)
        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::ArrayValue(a) => Some(a),
            _ => None,
        })
        .flat_map(|a| &a.values)
        .any(|v| matches!(&v.value, Some(Value::StringValue(s)) if s == key))
}

/// True for a content event name.
pub fn is_content_event(name: &str) -> bool {
    CONTENT_EVENTS.contains(&name)
}

/// The policy's config (per tenant).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentPolicyConfig {
    /// Keep prompt/completion content (redacted). Default false: content is dropped.
    #[serde(default)]
    pub capture_content: bool,
    /// Extra redaction rules, run on content after the built-in ones.
    #[serde(default)]
    pub redact: Vec<UserRedactRule>,
}

/// The compiled policy.
#[derive(Debug, Clone)]
pub struct ContentPolicy {
    /// Keep content (redacted) instead of dropping it.
    pub capture: bool,
    /// Built-in rules, then the user's.
    pub redact: Vec<RedactRule>,
    /// All rules that apply outside content, as one regex: a single scan tells whether a
    /// non-content value needs redacting at all (almost none do).
    secrets_gate: regex::Regex,
    /// False for `disabled()`: spans and records pass unchanged.
    active: bool,
}

/// What `apply` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentStats {
    /// Attributes removed.
    pub attributes_dropped: u32,
    /// Events removed.
    pub events_dropped: u32,
    /// Matches replaced by a marker.
    pub values_redacted: u32,
}

impl std::ops::AddAssign for ContentStats {
    fn add_assign(&mut self, o: Self) {
        self.attributes_dropped += o.attributes_dropped;
        self.events_dropped += o.events_dropped;
        self.values_redacted += o.values_redacted;
    }
}

impl ContentStats {
    /// True when the span or record changed (it must be re-encoded).
    pub fn changed(&self) -> bool {
        self.attributes_dropped + self.events_dropped + self.values_redacted > 0
    }
}

impl ContentPolicy {
    /// Builds a policy; fails on an invalid user regex.
    pub fn new(capture: bool, user: &[UserRedactRule]) -> Result<Self, PolicyError> {
        let redact = redact::rules(user)?;
        let secrets_gate = redact::everywhere_gate(&redact)?;
        Ok(ContentPolicy {
            capture,
            redact,
            secrets_gate,
            active: true,
        })
    }

    /// A policy that leaves every span and log record as sent: nothing dropped, nothing
    /// redacted. It is the content side of the `[genai] enabled = false` switch, which stores
    /// spans raw (for deployments that do their own scrubbing, and to measure what GenAI
    /// processing costs at ingest).
    pub fn disabled() -> Self {
        ContentPolicy {
            capture: true,
            redact: Vec::new(),
            // Matches nothing; never consulted while inactive.
            secrets_gate: redact::everywhere_gate(&[]).unwrap_or_else(|_| {
                unreachable!("the empty gate is a literal pattern that compiles")
            }),
            active: false,
        }
    }

    /// False for a `disabled()` policy.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Builds a policy from its config.
    pub fn from_config(cfg: &ContentPolicyConfig) -> Result<Self, PolicyError> {
        Self::new(cfg.capture_content, &cfg.redact)
    }

    /// Applies the policy to a span in place.
    pub fn apply(&self, span: &mut Span) -> ContentStats {
        let mut st = ContentStats::default();
        if !self.active {
            return st;
        }
        self.attributes(&mut span.attributes, false, &mut st);
        let before = span.events.len();
        if !self.capture {
            span.events.retain(|e| !is_content_event(&e.name));
        }
        st.events_dropped += (before - span.events.len()) as u32;
        for ev in &mut span.events {
            let content = is_content_event(&ev.name);
            self.attributes(&mut ev.attributes, content, &mut st);
        }
        if let Some(status) = span.status.as_mut()
            && self.may_hold_secret(&status.message)
            && let Some((text, n)) = redact::redact(&status.message, &self.redact, false)
        {
            status.message = text;
            st.values_redacted += n;
        }
        st
    }

    /// Applies the policy to every span of a request, in place.
    pub fn apply_request(&self, req: &mut ExportTraceServiceRequest) -> ContentStats {
        let mut total = ContentStats::default();
        for span in req
            .resource_spans
            .iter_mut()
            .flat_map(|rs| rs.scope_spans.iter_mut())
            .flat_map(|ss| ss.spans.iter_mut())
        {
            total += self.apply(span);
        }
        total
    }

    /// Applies the policy to a log record (`gen_ai.client.inference.operation.details` and the
    /// deprecated per-message events carry content in attributes and body).
    pub fn apply_log(&self, rec: &mut LogRecord) -> ContentStats {
        let mut st = ContentStats::default();
        if !self.active {
            return st;
        }
        let content_event = is_content_event(&rec.event_name);
        if content_event && !self.capture {
            if rec.body.take().is_some_and(|b| b.value.is_some()) {
                st.attributes_dropped += 1;
            }
        } else if let Some(body) = rec.body.as_mut() {
            st.values_redacted += self.value(body, content_event);
        }
        self.attributes(&mut rec.attributes, content_event, &mut st);
        st
    }

    /// Drops or redacts content keys; redacts secrets in the others. `all_content` treats every
    /// attribute as content (inside a content event).
    fn attributes(&self, attrs: &mut Vec<KeyValue>, all_content: bool, st: &mut ContentStats) {
        let mut scan = attrs.len();
        if !self.capture {
            let (removed, listed) = drop_content(attrs);
            st.attributes_dropped += removed;
            // The list of dropped keys the policy just added holds only its own labels.
            scan = if listed { attrs.len() - 1 } else { attrs.len() };
        }
        for kv in attrs[..scan].iter_mut() {
            // Without capture the content keys are gone already: no second lookup per key.
            let content = all_content || (self.capture && is_content_key(&kv.key));
            if let Some(v) = kv.value.as_mut() {
                st.values_redacted += self.value(v, content);
            }
        }
    }

    /// False when no rule that runs outside content can match `s` (the usual case): a byte
    /// prefilter rejects most values, the gate (one regex for all such rules) the rest.
    fn may_hold_secret(&self, s: &str) -> bool {
        s.len() >= redact::MIN_SECRET_LEN
            && (s.len() > redact::prefilter::MAX_LEN || redact::prefilter::may_contain_secret(s))
            && self.secrets_gate.is_match(s)
    }

    fn value(&self, v: &mut AnyValue, content: bool) -> u32 {
        match v.value.as_mut() {
            Some(Value::StringValue(s)) if !content && !self.may_hold_secret(s) => 0,
            Some(Value::StringValue(s)) => match redact::redact(s, &self.redact, content) {
                Some((text, n)) => {
                    *s = text;
                    n
                }
                None => 0,
            },
            Some(Value::ArrayValue(a)) => a.values.iter_mut().map(|x| self.value(x, content)).sum(),
            Some(Value::KvlistValue(l)) => l
                .values
                .iter_mut()
                .filter_map(|kv| kv.value.as_mut())
                .map(|x| self.value(x, content))
                .sum(),
            _ => 0,
        }
    }
}

/// Removes the content attributes of `attrs` and lists their keys in `DROPPED_KEYS_ATTR`;
/// returns how many were removed, and true when the list was added as the last attribute.
fn drop_content(attrs: &mut Vec<KeyValue>) -> (u32, bool) {
    let mut dropped: Vec<AnyValue> = Vec::new();
    let before = attrs.len();
    attrs.retain(|kv| {
        let Some(label) = content_key_label(&kv.key) else {
            return true;
        };
        if !dropped
            .iter()
            .any(|v| matches!(&v.value, Some(Value::StringValue(s)) if s == label))
        {
            dropped.push(AnyValue {
                value: Some(Value::StringValue(label.to_string())),
            });
        }
        false
    });
    let removed = (before - attrs.len()) as u32;
    if dropped.is_empty() {
        return (removed, false);
    }
    // A span the policy already saw (or a client that sent the key) keeps one list.
    let existing = attrs
        .iter_mut()
        .filter(|kv| kv.key == DROPPED_KEYS_ATTR)
        .find_map(|kv| match kv.value.as_mut()?.value.as_mut()? {
            Value::ArrayValue(a) => Some(a),
            _ => None,
        });
    match existing {
        Some(list) => {
            list.values.extend(dropped);
            (removed, false)
        }
        None => {
            attrs.push(KeyValue {
                key: DROPPED_KEYS_ATTR.to_string(),
                value: Some(AnyValue {
                    value: Some(Value::ArrayValue(ArrayValue { values: dropped })),
                }),
                ..Default::default()
            });
            (removed, true)
        }
    }
}

mod splice;
pub use splice::Spliced;

#[cfg(test)]
mod tests;
