// Traces: the recent-trace listing (service, time range, status and duration filters) or a
// TraceQL search when the server has it; sortable, keyboard-navigable, state in the URL.
import { costLabel, getJson, qs, type TraceRow } from "../lib/api";
import { fmtCost, fmtDurationMs, fmtInt, fmtTime, nanosToMs, parseRange, nowSecs } from "../lib/format";
import { useAsync } from "../lib/hooks";
import { navigate, setQuery, useLocation } from "../lib/router";
import { ErrorNote, Link, Loading, RangePicker } from "../components/common";
import { Table, type Column } from "../components/table";
import { TraceQLBox } from "../components/traceql-box";
import { searchTraceQL, quickFilterQuery } from "../lib/search";

const LIMITS = [20, 50, 100, 500, 1000];

function hasTokens(r: TraceRow): boolean {
  return r.inputTokens !== undefined || r.outputTokens !== undefined || r.totalTokens !== undefined;
}
function tokens(r: TraceRow): number {
  return r.totalTokens ?? (r.inputTokens ?? 0) + (r.outputTokens ?? 0);
}

const BASE: Column<TraceRow>[] = [
  { key: "start", label: "Start", render: (r) => fmtTime(nanosToMs(r.startTimeUnixNano)), sort: (r) => nanosToMs(r.startTimeUnixNano) },
  { key: "service", label: "Service", render: (r) => r.rootServiceName ?? "–", sort: (r) => r.rootServiceName ?? "" },
  {
    key: "root",
    label: "Root span",
    render: (r) => <Link href={`/trace/${r.traceId}`}>{r.rootTraceName ?? r.traceId}</Link>,
    sort: (r) => r.rootTraceName ?? "",
  },
  { key: "duration", label: "Duration", render: (r) => fmtDurationMs(r.durationMs), sort: (r) => r.durationMs, numeric: true },
  { key: "spans", label: "Spans", render: (r) => fmtInt(r.spanCount), sort: (r) => r.spanCount, numeric: true },
  {
    key: "errors",
    label: "Errors",
    render: (r) => (r.errorCount > 0 ? <span class="bad">{fmtInt(r.errorCount)}</span> : "0"),
    sort: (r) => r.errorCount,
    numeric: true,
  },
];
const GENAI: Column<TraceRow>[] = [
  { key: "tokens", label: "Tokens", render: (r) => fmtInt(tokens(r)), sort: tokens, numeric: true },
  { key: "cost", label: "Cost", render: (r) => costLabel(r.costUsd, r.unpricedCalls, r.llmCalls, fmtCost), sort: (r) => r.costUsd ?? -1, numeric: true },
];

export function TracesPage() {
  const { query } = useLocation();
  const service = query.get("service") ?? "";
  const range = parseRange(query.get("range"));
  const limit = Number(query.get("limit") ?? 50) || 50;
  const errorsOnly = query.get("status") === "error";
  const minMs = Number(query.get("minMs") ?? 0) || 0;
  const model = query.get("model") ?? "";
  const agent = query.get("agent") ?? "";
  const minCost = Number(query.get("minCost") ?? 0) || 0;
  const q = query.get("q") ?? "";
  const sort = query.get("sort") ?? "-start";
  const traceql = q;

  const result = useAsync(
    async (signal) => {
      const end = nowSecs();
      const start = end - range;
      if (traceql) return searchTraceQL(traceql, service, start, end, limit, signal);
      const url = `/sextant/api/v1/traces${qs({ start, end, limit, service, model, agent, minCost: minCost || undefined })}`;
      try {
        return (await getJson<{ traces: TraceRow[] }>(url, signal)).traces;
      } catch (e) {
        // A server without the GenAI filters rejects them: search with TraceQL instead.
        if (!(model || agent || minCost)) throw e;
        return searchTraceQL(quickFilterQuery({ model, agent, minCost }), service, start, end, limit, signal);
      }
    },
    [service, range, limit, traceql, model, agent, minCost],
  );
  const rows = (result.data ?? []).filter((r) => (!errorsOnly || r.errorCount > 0) && r.durationMs >= minMs);
  const columns = rows.some(hasTokens) || rows.some((r) => r.costUsd !== undefined) ? [...BASE, ...GENAI] : BASE;
  const known = useAsync(
    async (signal) => {
      const end = nowSecs();
      const url = `/sextant/api/v1/traces${qs({ start: end - range, end, limit: 1000 })}`;
      const all = (await getJson<{ traces: TraceRow[] }>(url, signal)).traces;
      return [...new Set(all.map((r) => r.rootServiceName).filter(Boolean))] as string[];
    },
    [range],
  );
  const services = [...(known.data ?? [])];
  if (service && !services.includes(service)) services.push(service);

  return (
    <section>
      <h1>Traces</h1>
      <TraceQLBox value={q} onSubmit={(v) => setQuery({ q: v }, true)} />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label class="field">
          <span>Service</span>
          <select value={service} onChange={(e) => setQuery({ service: (e.target as HTMLSelectElement).value })} data-testid="service-filter">
            <option value="">All services</option>
            {services.sort().map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <RangePicker secs={range} onChange={(r) => setQuery({ range: r })} />
        <label class="field">
          <span>Status</span>
          <select value={errorsOnly ? "error" : ""} onChange={(e) => setQuery({ status: (e.target as HTMLSelectElement).value })}>
            <option value="">Any</option>
            <option value="error">With errors</option>
          </select>
        </label>
        <label class="field">
          <span>Min duration (ms)</span>
          <input type="number" min="0" value={minMs || ""} onChange={(e) => setQuery({ minMs: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field">
          <span>Model</span>
          <input value={model} placeholder="gpt-4o" onChange={(e) => setQuery({ model: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field">
          <span>Agent</span>
          <input value={agent} placeholder="support-triage" onChange={(e) => setQuery({ agent: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field">
          <span>Min cost ($)</span>
          <input type="number" min="0" step="0.001" value={minCost || ""} onChange={(e) => setQuery({ minCost: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field">
          <span>Limit</span>
          <select value={String(limit)} onChange={(e) => setQuery({ limit: (e.target as HTMLSelectElement).value })}>
            {LIMITS.map((l) => (
              <option value={String(l)}>{l}</option>
            ))}
          </select>
        </label>
      </form>
      {result.error ? (
        <ErrorNote error={result.error} what={traceql ? "TraceQL search" : "Trace listing"} />
      ) : result.loading && !result.data ? (
        <Loading />
      ) : (
        <>
          <p class="note muted" data-testid="trace-count">
            {rows.length} trace{rows.length === 1 ? "" : "s"}
          </p>
          <Table
            label="Traces"
            columns={columns}
            rows={rows}
            rowKey={(r) => r.traceId}
            sort={sort}
            onSort={(s) => setQuery({ sort: s })}
            onOpen={(r) => navigate(`/trace/${r.traceId}`)}
            rowClass={(r) => (r.errorCount > 0 ? "row-error" : "")}
          />
        </>
      )}
    </section>
  );
}
