// Browser tests of the embedded UI against the real binary loaded with `sextant demo` traffic.
// Run: SEXTANT_BIN=/path/to/sextant npm test   (see harness.mjs for the other variables)
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { getJson, hasApi, launchBrowser, runDemo, screenshotDir, startServer } from "./harness.mjs";

let server;
let browser;
let page;
let shots;
const external = [];
const pageErrors = [];

const fmtInt = (n) => Math.round(n).toLocaleString("en-US");
// The UI's own formatting of dollars (src/lib/format.ts).
const fmtCost = (usd) => (usd === 0 ? "$0" : Math.abs(usd) < 0.01 ? `$${usd.toFixed(6)}` : `$${usd.toFixed(4)}`);
const b64hex = (b64) => Buffer.from(b64, "base64").toString("hex");
const attr = (span, key) => {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue ?? v.arrayValue));
};
const spansOf = (trace) => trace.batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans));
/** The spans without a parent, with their service (`service.name` of their resource). */
const rootSpans = (trace) =>
  trace.batches.flatMap((b) => {
    const service = b.resource?.attributes?.find((a) => a.key === "service.name")?.value?.stringValue ?? "";
    return b.scopeSpans.flatMap((s) => s.spans.filter((span) => !span.parentSpanId).map((span) => ({ service, span })));
  });

async function shot(name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// Span-metrics buckets of root-span (request) durations (crates/metrics LATENCY_BUCKETS), seconds.
const LATENCY_BUCKETS = [0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384, Infinity];

/** The Overview's figures computed from every stored span (Tempo's trace API and the trace
 * summaries), independently of the span metrics the Overview reads. */
async function storedSpanFigures() {
  // Requests are traces: their root spans (no parent), by duration, failures and service.
  const out = { requests: [], failed: 0, byService: new Map(), tokens: 0, cost: 0, costByModel: new Map() };
  for (const row of await listing()) {
    out.tokens += row.totalTokens;
    const trace = await getJson(`${server.api}/api/traces/${row.traceId}`);
    const spans = spansOf(trace);
    const byId = new Map(spans.map((s) => [b64hex(s.spanId), s]));
    for (const { service, span: s } of rootSpans(trace)) {
      out.requests.push(Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e9);
      const code = s.status?.code;
      const failed = code === 2 || code === "STATUS_CODE_ERROR";
      if (failed) out.failed += 1;
      const svc = out.byService.get(service) ?? { requests: 0, failed: 0 };
      svc.requests += 1;
      svc.failed += failed ? 1 : 0;
      out.byService.set(service, svc);
    }
    const summary = await getJson(`${server.api}/sextant/api/v1/traces/${row.traceId}/summary`);
    for (const c of summary.spans.filter((c) => c.llmCall && c.costUsd !== null)) {
      const model = attr(byId.get(c.spanId), "gen_ai.request.model") ?? "";
      out.cost += c.costUsd;
      out.costByModel.set(model, (out.costByModel.get(model) ?? 0) + c.costUsd);
    }
  }
  return out;
}

async function listing(params = "") {
  return (await getJson(`${server.api}/sextant/api/v1/traces?limit=1000${params}`)).traces;
}

before(async () => {
  shots = screenshotDir();
  server = await startServer();
  await runDemo(server);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const origin = new URL(server.api).origin;
  page.on("request", (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) external.push(r.url());
  });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("dialog", (d) => {
    pageErrors.push(`dialog opened: ${d.message()}`);
    void d.dismiss();
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("sextant ui", () => {
  test("the binary serves the app at / and for client-side routes", async () => {
    const res = await fetch(`${server.api}/traces?service=x`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    assert.equal((await fetch(`${server.api}/api/definitely-not-a-route`)).status, 404);
    await page.goto(`${server.api}/`);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    assert.equal(await page.title(), "Sextant");
  });

  test("traces: listing matches the API, filters by service, sorts, keyboard opens a trace", async () => {
    const all = await listing();
    assert.ok(all.length >= 100, `demo traffic listed: ${all.length}`);
    await page.goto(`${server.api}/traces?limit=1000`);
    await page.getByTestId("trace-count").waitFor();
    assert.equal(await page.getByTestId("trace-count").textContent(), `${all.length} traces`);
    await shot("traces");

    const service = all[0].rootServiceName;
    await page.getByTestId("service-filter").selectOption(service);
    await page.waitForURL((u) => u.searchParams.get("service") === service);
    const expected = await listing(`&service=${encodeURIComponent(service)}`);
    await page.getByTestId("trace-count").filter({ hasText: `${expected.length} trace` }).waitFor();
    const services = await page.locator("table.grid tbody tr td:nth-child(2)").allTextContents();
    assert.ok(services.length > 0 && services.every((s) => s === service), services.join(","));

    await page.getByRole("button", { name: "Duration" }).click();
    await page.getByRole("button", { name: "Duration" }).click(); // descending
    await page.waitForURL((u) => u.searchParams.get("sort") === "-duration");
    const slowest = [...expected].sort((a, b) => b.durationMs - a.durationMs)[0];
    const firstRoot = page.locator("table.grid tbody tr").first().locator("a");
    assert.equal(await firstRoot.getAttribute("href"), `/trace/${slowest.traceId}`);

    await page.locator("table.grid tbody tr").first().focus();
    await page.keyboard.press("ArrowDown");
    const second = await page.locator("table.grid tbody tr").nth(1).locator("a").getAttribute("href");
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.pathname === second);
    await page.getByTestId("span-panel").waitFor();
  });

  test("trace: the GenAI panel and totals agree with the API", async () => {
    const rows = await listing();
    let picked;
    for (const row of rows.filter((r) => r.errorCount === 0 && r.spanCount > 3)) {
      const trace = await getJson(`${server.api}/api/traces/${row.traceId}`);
      const chat = spansOf(trace).find((s) => attr(s, "gen_ai.operation.name") === "chat" && attr(s, "gen_ai.usage.input_tokens") > 0 && attr(s, "gen_ai.input.messages"));
      if (chat) {
        picked = { row, trace, chat };
        break;
      }
    }
    assert.ok(picked, "a demo trace with a chat span whose prompt was captured");
    const { row, trace, chat } = picked;
    await page.goto(`${server.api}/trace/${row.traceId}?span=${b64hex(chat.spanId)}`);
    const panel = page.getByTestId("genai-panel");
    await panel.waitFor();
    assert.equal(await page.getByTestId("genai-input-tokens").textContent(), fmtInt(attr(chat, "gen_ai.usage.input_tokens")));
    assert.equal(await page.getByTestId("genai-output-tokens").textContent(), fmtInt(attr(chat, "gen_ai.usage.output_tokens")));
    const model = await page.getByTestId("genai-model").textContent();
    assert.ok(model.includes(attr(chat, "gen_ai.request.model")), model);
    assert.equal(await page.getByTestId("genai-provider").textContent(), attr(chat, "gen_ai.provider.name"));
    assert.equal(await page.getByTestId("genai-finish").textContent(), attr(chat, "gen_ai.response.finish_reasons").values.map((v) => v.stringValue).join(", "));
    assert.match(await page.getByTestId("genai-cost").textContent(), /\$|unpriced/);

    const spans = spansOf(trace);
    const chats = spans.filter((s) => attr(s, "gen_ai.operation.name") === "chat");
    const summaryUrl = `${server.api}/sextant/api/v1/traces/${row.traceId}/summary`;
    const summary = (await hasApi(summaryUrl)) ? await getJson(summaryUrl) : null;
    const totals = summary?.totals ?? summary;
    const input = totals?.inputTokens ?? chats.reduce((a, s) => a + (attr(s, "gen_ai.usage.input_tokens") ?? 0), 0);
    const output = totals?.outputTokens ?? chats.reduce((a, s) => a + (attr(s, "gen_ai.usage.output_tokens") ?? 0), 0);
    const totalsBox = page.getByTestId("trace-totals");
    assert.ok((await totalsBox.getByTestId("total-input-tokens").textContent()).includes(fmtInt(input)));
    assert.ok((await totalsBox.getByTestId("total-output-tokens").textContent()).includes(fmtInt(output)));
    assert.ok((await totalsBox.getByTestId("total-spans").textContent()).includes(fmtInt(spans.length)));
    assert.ok((await totalsBox.getByTestId("total-llm-calls").textContent()).includes(fmtInt(totals?.llmCalls ?? chats.length)));
    if (totals && !totals.unpricedCalls) {
      assert.ok(totals.costUsd > 0, JSON.stringify(totals));
      assert.equal(await totalsBox.getByTestId("total-cost").locator(".stat-value").textContent(), fmtCost(totals.costUsd));
    }
    assert.equal(await page.getByTestId("span-row").count(), spans.length);
    // Per-span cost: the panel and the waterfall badges show what the summary API computed.
    const spanCost = summary.spans.find((s) => s.spanId === b64hex(chat.spanId));
    assert.ok(spanCost, `the summary lists the chat span's cost: ${JSON.stringify(summary.spans)}`);
    const panelCost = await page.getByTestId("genai-cost").textContent();
    if (spanCost.costUsd !== null) {
      assert.ok(panelCost.startsWith(fmtCost(spanCost.costUsd)), panelCost);
      assert.match(panelCost, /price catalog: |sent by the client/);
    } else assert.ok(panelCost.startsWith("unpriced") && panelCost.includes(spanCost.unpricedReason), panelCost);
    const badges = await page.getByTestId("span-cost").allTextContents();
    const calls = summary.spans.filter((s) => s.llmCall);
    assert.equal(badges.length, calls.filter((s) => s.costUsd !== null || s.unpricedReason).length);
    const priced = calls.filter((s) => s.costUsd !== null).map((s) => fmtCost(s.costUsd));
    assert.deepEqual(badges.filter((b) => b !== "unpriced").sort(), priced.sort());
    await shot("trace-genai");

    const messages = JSON.parse(attr(chat, "gen_ai.input.messages"));
    const firstText = messages.flatMap((m) => m.parts).find((p) => p.type === "text").content;
    await page.getByTestId("transcript").getByText(firstText.slice(0, 40), { exact: false }).first().waitFor();
  });

  test("trace: failed spans are red with their exception, the waterfall works from the keyboard", async () => {
    const failed = (await listing()).find((r) => r.errorCount > 0 && r.spanCount > 1);
    assert.ok(failed, "demo traffic has a failed trace");
    await page.goto(`${server.api}/trace/${failed.traceId}`);
    await page.getByTestId("span-panel").waitFor();
    const errorRows = page.locator('[data-testid="span-row"].error');
    assert.equal(await errorRows.count(), failed.errorCount);
    const color = await errorRows.first().locator(".span-name").evaluate((e) => getComputedStyle(e).color);
    const [r, g, b] = color.match(/\d+/g).map(Number);
    assert.ok(r > 180 && g < 120 && b < 120, `error spans are red, got ${color}`);
    await errorRows.first().click();
    await page.getByTestId("exception").first().waitFor();
    await shot("trace-error");

    const rows = page.getByTestId("span-row");
    const count = await rows.count();
    await rows.first().click();
    await rows.first().focus();
    const before = new URL(page.url()).searchParams.get("span");
    await page.keyboard.press("ArrowDown");
    await page.waitForURL((u) => u.searchParams.get("span") !== before);
    assert.equal(await rows.nth(1).getAttribute("aria-selected"), "true");
    await page.keyboard.press("ArrowUp");
    await page.waitForURL((u) => u.searchParams.get("span") === before);
    await page.waitForFunction(() => document.activeElement?.getAttribute("aria-level") === "1");
    await page.keyboard.press("ArrowLeft"); // collapse the root
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="span-row"]').length === 1);
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="span-row"]').length === n, count);
  });

  test("hostile content is shown as text and never executed", async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const traceId = "de" + "ad".repeat(15);
    const payload = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "hostile<b>svc</b>" } }] },
          scopeSpans: [
            {
              scope: { name: "hostile" },
              spans: [
                {
                  traceId,
                  spanId: "0102030405060708",
                  name: '<img src=x onerror="window.__xss=1">',
                  kind: 3,
                  startTimeUnixNano: String(now),
                  endTimeUnixNano: String(now + 5_000_000n),
                  status: { code: 2, message: "<script>window.__xss=2</script>" },
                  attributes: [
                    { key: "gen_ai.operation.name", value: { stringValue: "chat" } },
                    { key: "prompt", value: { stringValue: "<script>window.__xss=3</script>" } },
                    { key: "gen_ai.input.messages", value: { stringValue: JSON.stringify([{ role: "user", parts: [{ type: "text", content: "<img src=x onerror=window.__xss=4>" }] }]) } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${server.otlp}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) });
    const answer = await res.text();
    assert.equal(res.status, 200, answer);
    assert.ok(!answer.includes("rejected"), answer);
    const stored = await getJson(`${server.api}/sextant/api/v1/traces?limit=5&service=${encodeURIComponent("hostile<b>svc</b>")}`);
    assert.equal(stored.traces.length, 1, JSON.stringify(stored));

    await page.goto(`${server.api}/traces?service=${encodeURIComponent("hostile<b>svc</b>")}`);
    await page.getByText('<img src=x onerror="window.__xss=1">').first().waitFor();
    await page.goto(`${server.api}/trace/${traceId}`);
    await page.getByTestId("span-panel").waitFor();
    await page.getByText("<script>window.__xss=3</script>").first().waitFor();
    await page.getByTestId("transcript").getByText("<img src=x onerror=window.__xss=4>").waitFor();
    await shot("hostile");
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator("main img, main script, main b").count(), 0);
    assert.deepEqual(pageErrors, []);
  });

  test("status: ingest counters and version match /metrics and buildinfo", async () => {
    await page.goto(`${server.api}/status`);
    await page.getByTestId("spans-accepted").waitFor();
    const metrics = await (await fetch(`${server.api}/metrics`)).text();
    const accepted = metrics.split("\n").filter((l) => l.startsWith("sextant_spans_accepted_total")).reduce((a, l) => a + Number(l.split(/\s+/).at(-1)), 0);
    assert.ok(accepted > 0);
    assert.ok((await page.getByTestId("spans-accepted").textContent()).includes(fmtInt(accepted)));
    const build = await getJson(`${server.api}/api/status/buildinfo`);
    await page.getByTestId("version").filter({ hasText: build.version }).waitFor();
    await shot("status");
  });

  test("overview: requests, errors, p95, tokens and costs match the stored spans", async () => {
    await page.goto(`${server.api}/?range=1h`);
    await page.getByTestId("ov-errors").waitFor();
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    const now = Math.floor(Date.now() / 1000);
    const q = `start=${now - 3600}&end=${now}&step=60&today=${Math.floor(midnight.getTime() / 1000)}`;
    const { overview: api } = await getJson(`${server.api}/sextant/api/v1/overview?${q}`);
    const truth = await storedSpanFigures();

    // The API (span metrics) agrees with the stored spans ...
    assert.ok(truth.requests.length > 0 && truth.failed > 0, "the demo has requests and failures");
    assert.equal(api.requests.total, truth.requests.length);
    assert.equal(api.requests.failed, truth.failed);
    const apiServices = api.services.filter((s) => s.requests > 0);
    assert.deepEqual(
      new Map(apiServices.map((s) => [s.service, { requests: s.requests, failed: s.failed }])),
      truth.byService,
    );
    assert.equal(api.totalTokens, truth.tokens);
    assert.ok(Math.abs(api.costTodayUsd - truth.cost) < 1e-9, `${api.costTodayUsd} vs ${truth.cost}`);
    const priced = api.models.filter((m) => m.costUsd !== null);
    assert.deepEqual(priced.map((m) => m.model).sort(), [...truth.costByModel.keys()].sort());
    for (const m of priced) assert.ok(Math.abs(m.costUsd - truth.costByModel.get(m.model)) < 1e-9, m.model);
    // ... and its p95, interpolated inside a histogram bucket, is in the bucket of the exact p95.
    const sorted = truth.requests.sort((a, b) => a - b);
    const exact = sorted[Math.ceil(0.95 * sorted.length) - 1];
    const bucket = (v) => LATENCY_BUCKETS.findIndex((le) => v <= le + 1e-12);
    assert.equal(bucket(api.requests.p95Seconds), bucket(exact), `${api.requests.p95Seconds} vs exact ${exact}`);

    // ... and the page shows what the API says.
    assert.ok((await page.getByTestId("ov-errors").textContent()).includes(`${fmtInt(truth.failed)} of ${fmtInt(truth.requests.length)} requests`));
    const p95 = api.requests.p95Seconds * 1000;
    const shown = await page.getByTestId("ov-p95").textContent();
    assert.ok(shown.includes(p95 < 1000 ? `${p95.toFixed(0)} ms` : `${(p95 / 1000).toFixed(2)} s`), shown);
    await page.getByTestId("ov-tokens").locator(".stat-value").filter({ hasText: fmtInt(truth.tokens) }).waitFor();
    await page.getByTestId("ov-cost-today").locator(".stat-value").filter({ hasText: fmtCost(api.costTodayUsd) }).waitFor();
    const models = page.getByRole("table", { name: "Cost by model" }).locator("tbody tr");
    assert.equal(await models.count(), api.models.length);
    assert.ok((await models.first().textContent()).includes(fmtCost(api.models[0].costUsd)));
    await shot("overview");
  });

  test("themes switch between light and dark; other pages degrade gracefully", async () => {
    await page.goto(`${server.api}/costs`);
    await page.getByRole("heading", { name: "Costs" }).waitFor();
    await page.getByTestId("theme").click();
    await page.waitForFunction(() => document.documentElement.dataset.theme === "light");
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.getByTestId("theme").click();
    await page.waitForFunction(() => document.documentElement.dataset.theme === "dark");
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(light, dark);
    const costsUrl = `${server.api}/sextant/api/v1/costs?group_by=model&start=${Math.floor(Date.now() / 1000) - 86400}&step=600`;
    if (await hasApi(costsUrl)) {
      const costs = await getJson(costsUrl);
      await page.getByTestId("costs-total").locator(".stat-value").filter({ hasText: fmtCost(costs.total.costUsd) }).waitFor();
      await page.getByTestId("costs-tokens").locator(".stat-value").filter({ hasText: fmtInt(costs.total.totalTokens) }).waitFor();
      await page.locator(".chart canvas").first().waitFor();
    }
    await shot("costs-dark");
    await page.goto(`${server.api}/conversations`);
    await page.getByRole("heading", { name: "Conversations" }).waitFor();
    await page.locator("table.grid, [data-testid=not-available]").first().waitFor();
    await shot("conversations-dark");
  });

  test("no request leaves the origin and no script error happened", () => {
    assert.deepEqual(external, []);
    assert.deepEqual(pageErrors, []);
  });
});
