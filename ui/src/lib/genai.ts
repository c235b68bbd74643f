// The canonical GenAI fields of a span, read from whichever dialect the client spoke, and the
// conversation captured on it. The server's normalize stage is the source of truth for totals;
// this reads the raw attributes so that the span panel shows them for any span.
import type { Span, Value } from "./otlp";
import { valueText } from "./otlp";

export interface GenAi {
  operation?: string;
  provider?: string;
  requestModel?: string;
  responseModel?: string;
  agentName?: string;
  toolName?: string;
  toolCallId?: string;
  conversationId?: string;
  userId?: string;
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  costUsd?: number;
  costSource?: string;
  finishReasons?: string[];
  timeToFirstChunkMs?: number;
  errorType?: string;
}

/** Attribute keys per field, first match wins. A dialect is data, not code. */
const KEYS: { [F in keyof GenAi]-?: string[] } = {
  operation: ["gen_ai.operation.name", "sextant.genai.operation"],
  provider: ["gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"],
  requestModel: ["gen_ai.request.model", "llm.model_name", "llm.request.model", "llm.model"],
  responseModel: ["gen_ai.response.model", "llm.response.model"],
  agentName: ["gen_ai.agent.name", "agent.name", "traceloop.entity.name"],
  toolName: ["gen_ai.tool.name", "tool.name"],
  toolCallId: ["gen_ai.tool.call.id", "tool_call.id"],
  conversationId: ["gen_ai.conversation.id", "session.id", "conversation.id"],
  userId: ["user.id", "enduser.id", "gen_ai.user.id"],
  inputTokens: [
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "llm.usage.prompt_tokens",
    "llm.tokens.input",
  ],
  outputTokens: [
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.usage.completion_tokens",
    "llm.tokens.output",
  ],
  cacheReadTokens: [
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
  ],
  cacheWriteTokens: [
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
  ],
  reasoningTokens: [
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
  ],
  costUsd: ["sextant.cost_usd", "gen_ai.usage.cost", "gen_ai.cost_usd", "llm.usage.cost", "cost.usd"],
  costSource: ["sextant.cost_source", "sextant.price_entry"],
  finishReasons: ["gen_ai.response.finish_reasons", "llm.response.finish_reason"],
  timeToFirstChunkMs: ["gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token"],
  errorType: ["error.type"],
};

const NUMERIC = new Set<keyof GenAi>([
  "inputTokens",
  "outputTokens",
  "cacheReadTokens",
  "cacheWriteTokens",
  "reasoningTokens",
  "costUsd",
  "timeToFirstChunkMs",
]);

const OPENINFERENCE_KINDS: Record<string, string> = {
  LLM: "chat",
  EMBEDDING: "embeddings",
  TOOL: "execute_tool",
  AGENT: "invoke_agent",
};

function first(attrs: Map<string, Value>, keys: string[]): Value | undefined {
  for (const k of keys) {
    const v = attrs.get(k);
    if (v !== undefined && v !== null && v !== "") return v;
  }
  return undefined;
}

/** The span's canonical GenAI fields, or null for a span that is not a GenAI span. */
export function genaiOf(attrs: Map<string, Value>): GenAi | null {
  const g: GenAi = {};
  const out = g as Record<string, unknown>;
  for (const [field, keys] of Object.entries(KEYS) as [keyof GenAi, string[]][]) {
    const v = first(attrs, keys);
    if (v === undefined) continue;
    if (NUMERIC.has(field)) {
      const n = Number(v);
      if (Number.isFinite(n)) out[field] = n;
    } else if (field === "finishReasons") {
      g.finishReasons = Array.isArray(v) ? v.map(valueText) : [valueText(v)];
    } else {
      out[field] = valueText(v);
    }
  }
  if (g.timeToFirstChunkMs !== undefined) g.timeToFirstChunkMs *= 1000; // sent in seconds
  if (!g.operation) {
    const kind = valueText(attrs.get("openinference.span.kind"));
    if (kind) g.operation = OPENINFERENCE_KINDS[kind] ?? kind.toLowerCase();
  }
  const genai = g.operation || g.provider || g.requestModel || g.inputTokens !== undefined;
  return genai ? g : null;
}

/** Whether the span is a model call (its usage counts), rather than an agent repeating it. */
export function isModelCall(g: GenAi | null): boolean {
  if (!g) return false;
  const op = g.operation ?? "";
  return ["chat", "text_completion", "generate_content", "embeddings", "completion"].includes(op);
}

// ----- conversation transcript -----------------------------------------------------------------

export type Part =
  | { type: "text"; content: string }
  | { type: "tool_call"; id: string; name: string; arguments: string }
  | { type: "tool_call_response"; id: string; response: string }
  | { type: "other"; content: string };

export interface Message {
  role: string;
  parts: Part[];
  source: string;
}

function text(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined || v === null) return "";
  return JSON.stringify(v, null, 2);
}

function parsePart(p: unknown): Part {
  if (typeof p === "string") return { type: "text", content: p };
  const o = (p ?? {}) as Record<string, unknown>;
  switch (o.type) {
    case "text":
      return { type: "text", content: text(o.content ?? o.text) };
    case "tool_call":
      return { type: "tool_call", id: text(o.id), name: text(o.name), arguments: text(o.arguments) };
    case "tool_call_response":
      return { type: "tool_call_response", id: text(o.id), response: text(o.response ?? o.result) };
    default:
      return { type: "other", content: text(p) };
  }
}

function parseJson(v: Value | undefined): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Messages in the GenAI "parts" schema (`gen_ai.input.messages` and friends). */
function partsMessages(v: Value | undefined, source: string, role?: string): Message[] {
  const parsed = parseJson(v);
  if (parsed === undefined || parsed === null) return [];
  if (typeof parsed === "string") return [{ role: role ?? "user", parts: [{ type: "text", content: parsed }], source }];
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (role) return [{ role, parts: list.map(parsePart), source }];
  return list.map((m) => {
    const o = (m ?? {}) as Record<string, unknown>;
    const parts = Array.isArray(o.parts) ? o.parts.map(parsePart) : [parsePart(o.content ?? m)];
    return { role: text(o.role) || "user", parts, source };
  });
}

/** Flattened `prefix.N.<role>` / `prefix.N.<content>` attributes (OpenInference, Traceloop). */
function flattened(attrs: Map<string, Value>, prefix: string, roleKey: string, contentKey: string): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < 1000; i++) {
    const role = attrs.get(`${prefix}.${i}.${roleKey}`);
    const content = attrs.get(`${prefix}.${i}.${contentKey}`);
    if (role === undefined && content === undefined) break;
    out.push({ role: valueText(role) || "user", parts: [{ type: "text", content: valueText(content) }], source: prefix });
  }
  return out;
}

const EVENT_ROLES: Record<string, string> = {
  "gen_ai.system.message": "system",
  "gen_ai.user.message": "user",
  "gen_ai.assistant.message": "assistant",
  "gen_ai.tool.message": "tool",
  "gen_ai.choice": "assistant",
};

/** The conversation captured on a span, in order; empty when no content was captured. */
export function transcript(span: Span): Message[] {
  const a = span.attrs;
  const msgs: Message[] = [];
  msgs.push(...partsMessages(a.get("gen_ai.system_instructions"), "gen_ai.system_instructions", "system"));
  msgs.push(...partsMessages(a.get("gen_ai.input.messages"), "gen_ai.input.messages"));
  msgs.push(...flattened(a, "llm.input_messages", "message.role", "message.content"));
  msgs.push(...flattened(a, "gen_ai.prompt", "role", "content"));
  for (const e of span.events) {
    const role = EVENT_ROLES[e.name];
    if (role) {
      const body = e.attrs.get("content") ?? e.attrs.get("message") ?? e.attrs.get("body");
      msgs.push(...partsMessages(body ?? "", e.name, role));
    } else if (e.name === "gen_ai.client.inference.operation.details") {
      msgs.push(...partsMessages(e.attrs.get("gen_ai.input.messages"), e.name));
      msgs.push(...partsMessages(e.attrs.get("gen_ai.output.messages"), e.name));
    }
  }
  msgs.push(...partsMessages(a.get("gen_ai.output.messages"), "gen_ai.output.messages"));
  msgs.push(...flattened(a, "llm.output_messages", "message.role", "message.content"));
  msgs.push(...flattened(a, "gen_ai.completion", "role", "content"));
  const args = a.get("gen_ai.tool.call.arguments");
  const result = a.get("gen_ai.tool.call.result");
  const id = valueText(a.get("gen_ai.tool.call.id"));
  const name = valueText(a.get("gen_ai.tool.name"));
  if (args !== undefined) msgs.push({ role: "assistant", parts: [{ type: "tool_call", id, name, arguments: text(parseJson(args)) }], source: "gen_ai.tool.call.arguments" });
  if (result !== undefined) msgs.push({ role: "tool", parts: [{ type: "tool_call_response", id, response: text(parseJson(result)) }], source: "gen_ai.tool.call.result" });
  return msgs;
}
