// Unit tests of the UI's pure modules (parsing and formatting), bundled on the fly with esbuild.
// Run: npm run test:unit (needs no server and no browser).
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

async function load(entry) {
  const out = await build({ entryPoints: [join(root, entry)], bundle: true, format: "esm", write: false, platform: "neutral", logLevel: "silent" });
  const code = out.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}

const format = await load("src/lib/format.ts");
const otlp = await load("src/lib/otlp.ts");
const genai = await load("src/lib/genai.ts");
const metrics = await load("src/lib/metrics.ts");
const api = await load("src/lib/api.ts");

const kv = (key, value) => ({ key, value: typeof value === "number" ? { intValue: String(value) } : { stringValue: value } });
const span = (id, parent, start, end, attrs = [], extra = {}) => ({
  traceId: Buffer.from("0af7651916cd43dd8448eb211c80319c", "hex").toString("base64"),
  spanId: Buffer.from(id, "hex").toString("base64"),
  parentSpanId: parent ? Buffer.from(parent, "hex").toString("base64") : undefined,
  name: `span ${id}`,
  startTimeUnixNano: String(start),
  endTimeUnixNano: String(end),
  attributes: attrs,
  ...extra,
});

test("nanosecond strings keep sub-millisecond precision past 2^53", () => {
  assert.equal(format.nanosToMs("1795465696971726344"), 1795465696971 + 0.726344);
  assert.equal(format.nanosToMs("999"), 0.000999);
  assert.ok(Number.isNaN(format.nanosToMs(undefined)));
});

test("ranges parse and print", () => {
  assert.equal(format.parseRange("15m"), 900);
  assert.equal(format.parseRange("7d"), 604800);
  assert.equal(format.parseRange("bogus", 42), 42);
  assert.equal(format.rangeParam(3600), "1h");
  assert.equal(format.rangeParam(90), "90s");
  for (const secs of [60, 900, 3600, 86400, 604800, 45]) assert.equal(format.parseRange(format.rangeParam(secs)), secs);
});

test("durations, costs and sizes format for people", () => {
  assert.equal(format.fmtDurationMs(0.5), "500 µs");
  assert.equal(format.fmtDurationMs(1234), "1.23 s");
  assert.equal(format.fmtCost(0), "$0");
  assert.equal(format.fmtCost(0.000123), "$0.000123");
  assert.equal(format.fmtCost(null), "–");
  assert.equal(format.fmtBytes(1536), "1.5 KiB");
  assert.equal(format.fmtInt(1234567), "1,234,567");
});

test("ids: base64 to hex, hex kept", () => {
  assert.equal(otlp.idToHex("swqrd/pRL7g="), "b30aab77fa512fb8");
  assert.equal(otlp.idToHex("0af7651916cd43dd8448eb211c80319c"), "0af7651916cd43dd8448eb211c80319c");
  assert.equal(otlp.idToHex(undefined), "");
});

test("the span tree orders children by start, keeps orphans and survives parent cycles", () => {
  const trace = {
    batches: [
      {
        resource: { attributes: [kv("service.name", "svc")] },
        scopeSpans: [
          {
            scope: { name: "s" },
            spans: [
              span("0000000000000003", "0000000000000001", 3000000, 4000000),
              span("0000000000000001", null, 1000000, 9000000, [], { status: { code: "STATUS_CODE_ERROR", message: "boom" } }),
              span("0000000000000002", "0000000000000001", 2000000, 2500000),
              span("0000000000000004", "00000000000000ff", 5000000, 6000000),
              span("00000000000000aa", "00000000000000bb", 1, 2),
              span("00000000000000bb", "00000000000000aa", 1, 2),
            ],
          },
        ],
      },
    ],
  };
  const tree = otlp.buildTree(trace);
  assert.deepEqual(
    tree.spans.map((s) => [s.id.slice(-2), s.depth]),
    [["01", 0], ["02", 1], ["03", 1], ["04", 0], ["aa", 0], ["bb", 1]],
  );
  const root = tree.byId.get("0000000000000001");
  assert.equal(root.error, true);
  assert.equal(root.statusMessage, "boom");
  assert.equal(root.service, "svc");
  assert.equal(root.durationMs, 8);
});

test("GenAI fields come from any dialect, first key wins", () => {
  const m = (o) => new Map(Object.entries(o));
  const otel = genai.genaiOf(m({ "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.system": "ignored", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 3, "gen_ai.usage.cache_read.input_tokens": 8, "gen_ai.response.finish_reasons": ["stop"] }));
  assert.deepEqual(otel, { operation: "chat", provider: "openai", requestModel: "gpt-4o", inputTokens: 12, outputTokens: 3, cacheReadTokens: 8, finishReasons: ["stop"] });
  assert.equal(genai.isModelCall(otel), true);
  const oi = genai.genaiOf(m({ "openinference.span.kind": "LLM", "llm.model_name": "claude", "llm.token_count.prompt": 5, "llm.token_count.completion": "7" }));
  assert.deepEqual(oi, { operation: "chat", requestModel: "claude", inputTokens: 5, outputTokens: 7 });
  const legacy = genai.genaiOf(m({ "gen_ai.system": "anthropic", "gen_ai.usage.prompt_tokens": 1, "gen_ai.cost_usd": "0.5" }));
  assert.equal(legacy.provider, "anthropic");
  assert.equal(legacy.costUsd, 0.5);
  assert.equal(genai.genaiOf(m({ "http.method": "GET" })), null);
  assert.equal(genai.isModelCall(genai.genaiOf(m({ "gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 9 }))), false);
});

test("transcripts read the parts schema, tool calls and results, and flattened messages", () => {
  const attrs = new Map([
    ["gen_ai.system_instructions", JSON.stringify([{ type: "text", content: "be brief" }])],
    ["gen_ai.input.messages", JSON.stringify([{ role: "user", parts: [{ type: "text", content: "<script>x</script>" }] }, { role: "assistant", parts: [{ type: "tool_call", id: "c1", name: "lookup", arguments: { id: 7 } }] }, { role: "tool", parts: [{ type: "tool_call_response", id: "c1", response: "found" }] }])],
    ["gen_ai.output.messages", JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: "done" }] }])],
    ["llm.input_messages.0.message.role", "user"],
    ["llm.input_messages.0.message.content", "hi"],
  ]);
  const msgs = genai.transcript({ attrs, events: [] });
  assert.deepEqual(msgs.map((x) => x.role), ["system", "user", "assistant", "tool", "user", "assistant"]);
  assert.deepEqual(msgs[1].parts, [{ type: "text", content: "<script>x</script>" }]);
  assert.equal(msgs[2].parts[0].name, "lookup");
  assert.equal(JSON.parse(msgs[2].parts[0].arguments).id, 7);
  assert.equal(msgs[3].parts[0].response, "found");
  assert.equal(msgs[4].parts[0].content, "hi");
  const broken = genai.transcript({ attrs: new Map([["gen_ai.input.messages", "not json"]]), events: [] });
  assert.deepEqual(broken[0].parts, [{ type: "text", content: "not json" }]);
  const events = genai.transcript({ attrs: new Map(), events: [{ name: "gen_ai.user.message", attrs: new Map([["content", "from an event"]]) }] });
  assert.equal(events[0].parts[0].content, "from an event");
});

test("OpenMetrics text parses into labelled samples", () => {
  const text = [
    "# TYPE sextant_spans_rejected counter",
    'sextant_spans_rejected_total{reason="invalid_trace_id"} 3',
    'sextant_spans_rejected_total{reason="quote\\"d"} 2',
    "sextant_spans_accepted_total 1513",
    'sextant_fsync_bucket{le="+Inf"} 20',
    "# EOF",
  ].join("\n");
  const s = metrics.parseMetrics(text);
  assert.equal(metrics.sum(s, "sextant_spans_rejected_total"), 5);
  assert.equal(metrics.sum(s, "sextant_spans_accepted_total"), 1513);
  assert.deepEqual([...metrics.byLabel(s, "sextant_spans_rejected_total", "reason")], [["invalid_trace_id", 3], ['quote"d', 2]]);
  assert.equal(s.find((x) => x.name === "sextant_fsync_bucket").labels.le, "+Inf");
});

test("per-span costs: a price, unpriced with its reason, or nothing", () => {
  const usd = (n) => `$${n.toFixed(4)}`;
  assert.deepEqual(api.costBadge({ costUsd: 0.0123, costSource: "catalog:openai/gpt-4o" }, usd), { text: "$0.0123", unpriced: false });
  assert.deepEqual(api.costBadge({ costUsd: 0 }, usd), { text: "$0.0000", unpriced: false });
  assert.deepEqual(api.costBadge({ costUsd: null, unpricedReason: "unknown model acme-1" }, usd), { text: "unpriced", unpriced: true });
  assert.equal(api.costBadge({ costUsd: null }, usd), null);
  assert.equal(api.costBadge(undefined, usd), null);
  assert.equal(api.costBadge({ llmCall: false, costUsd: 0.5 }, usd), null);
  assert.equal(api.costSourceText("catalog:openai/gpt-4o"), "price catalog: openai/gpt-4o");
  assert.equal(api.costSourceText("client:gen_ai.usage.cost"), "sent by the client in gen_ai.usage.cost");
  assert.equal(api.costSourceText("other"), "other");
});
