// One trace: totals at the top, the waterfall, and the selected span's panel (`?span=` in the URL).
import { useMemo, useState } from "preact/hooks";
import { costLabel, getJson, optional, totalsOf, type TempoTrace, type TraceTotals } from "../lib/api";
import { buildTree, idToHex, type Tree } from "../lib/otlp";
import { genaiOf, isModelCall } from "../lib/genai";
import { fmtCost, fmtDurationMs, fmtInt, fmtTime } from "../lib/format";
import { useAsync } from "../lib/hooks";
import { setQuery, useLocation } from "../lib/router";
import { ErrorNote, Loading, Stat } from "../components/common";
import { Waterfall } from "../components/waterfall";
import { SpanPanel, type SpanCost } from "../components/span-panel";

interface Summary {
  totals: TraceTotals | null;
  spans: Map<string, SpanCost>;
}

async function loadSummary(id: string, signal: AbortSignal): Promise<Summary | null> {
  const body = await optional<Record<string, unknown>>(`/sextant/api/v1/traces/${id}/summary`, signal);
  if (!body) return null;
  const spans = new Map<string, SpanCost>();
  const list = Array.isArray(body.spans) ? (body.spans as (SpanCost & { spanId?: string })[]) : [];
  for (const s of list) if (s.spanId) spans.set(idToHex(s.spanId), s);
  return { totals: totalsOf(body), spans };
}

/** Totals from the spans' own attributes, for servers without the summary API. */
function localTotals(tree: Tree): TraceTotals {
  const t: TraceTotals = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, llmCalls: 0, toolCalls: 0 };
  for (const s of tree.spans) {
    const g = genaiOf(s.attrs);
    if (g?.operation === "execute_tool") t.toolCalls = (t.toolCalls ?? 0) + 1;
    if (!isModelCall(g) || !g) continue;
    t.llmCalls = (t.llmCalls ?? 0) + 1;
    t.inputTokens = (t.inputTokens ?? 0) + (g.inputTokens ?? 0);
    t.outputTokens = (t.outputTokens ?? 0) + (g.outputTokens ?? 0);
    t.cacheReadTokens = (t.cacheReadTokens ?? 0) + (g.cacheReadTokens ?? 0);
  }
  return t;
}

function Totals({ tree, summary }: { tree: Tree; summary: Summary | null | undefined }) {
  const server = summary?.totals ?? null;
  const t = server ?? localTotals(tree);
  const root = tree.roots[0];
  const errors = tree.spans.filter((s) => s.error).length;
  const cost = server ? costLabel(server.costUsd, server.unpricedCalls, server.llmCalls, fmtCost) : "not available yet";
  return (
    <div class="stats" data-testid="trace-totals">
      <Stat label="Root" value={root ? `${root.service}: ${root.name}` : "–"} />
      <Stat label="Start" value={fmtTime(tree.startMs)} />
      <Stat label="Duration" value={fmtDurationMs(tree.endMs - tree.startMs)} />
      <Stat label="Spans" value={fmtInt(tree.spans.length)} testid="total-spans" />
      <Stat label="Errors" value={fmtInt(errors)} testid="total-errors" />
      <Stat label="Input tokens" value={fmtInt(t.inputTokens)} testid="total-input-tokens" />
      <Stat label="Output tokens" value={fmtInt(t.outputTokens)} testid="total-output-tokens" />
      <Stat label="Cost" value={cost} testid="total-cost" />
      <Stat label="LLM calls" value={fmtInt(t.llmCalls)} testid="total-llm-calls" />
      <Stat label="Tool calls" value={fmtInt(t.toolCalls)} testid="total-tool-calls" />
      {!server && <p class="note muted">Totals computed from the spans' attributes (the trace summary API is not available yet).</p>}
    </div>
  );
}

export function TracePage({ id }: { id: string }) {
  const { query } = useLocation();
  const trace = useAsync((signal) => getJson<TempoTrace>(`/api/traces/${encodeURIComponent(id)}`, signal), [id]);
  const summary = useAsync((signal) => loadSummary(id, signal).catch(() => null), [id]);
  const tree = useMemo(() => (trace.data ? buildTree(trace.data) : undefined), [trace.data]);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  if (trace.error) return <ErrorNote error={trace.error} what={`Trace ${id}`} />;
  if (!tree) return <Loading />;
  if (tree.spans.length === 0) return <p class="note">Trace {id} has no spans.</p>;
  const selectedId = query.get("span") ?? tree.spans[0]?.id ?? "";
  const selected = tree.byId.get(selectedId) ?? tree.spans[0];
  const toggle = (sid: string) =>
    setCollapsed((c) => {
      const n = new Set(c);
      if (n.has(sid)) n.delete(sid);
      else n.add(sid);
      return n;
    });
  return (
    <section>
      <h1>
        Trace <code data-testid="trace-id">{id}</code>
      </h1>
      <Totals tree={tree} summary={summary.data} />
      <div class="trace-layout">
        <Waterfall tree={tree} collapsed={collapsed} onToggle={toggle} selected={selected?.id ?? ""} onSelect={(s) => setQuery({ span: s })} costs={summary.data?.spans} />
        {selected && <SpanPanel span={selected} traceStart={tree.startMs} cost={summary.data?.spans.get(selected.id)} />}
      </div>
    </section>
  );
}
