// Overview: request rate, error rate, p95 latency, tokens and cost, per-service health and cost
// by model, for a time range, refreshed every 30 seconds. Trace figures come from the trace
// listing (the newest 1000 traces of the range); token and cost figures from the costs API.
import { costLabel, getJson, qs, type TraceRow } from "../lib/api";
import { fmtCost, fmtDurationMs, fmtInt, parseRange, nowSecs } from "../lib/format";
import { useAsync } from "../lib/hooks";
import { setQuery, useLocation } from "../lib/router";
import { ErrorNote, Link, Loading, NotAvailable, RangePicker, Stat } from "../components/common";
import { Table, type Column } from "../components/table";
import { loadCosts, type CostGroup } from "../lib/costs";
import { Chart, type Series } from "../components/chart";

const REFRESH_MS = 30_000;
const MAX_TRACES = 1000;

export function p95(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)] ?? NaN;
}

interface Health {
  service: string;
  traces: number;
  errors: number;
  p95: number;
}

function health(rows: TraceRow[]): Health[] {
  const by = new Map<string, TraceRow[]>();
  for (const r of rows) {
    const k = r.rootServiceName ?? "unknown";
    by.set(k, [...(by.get(k) ?? []), r]);
  }
  return [...by].map(([service, rs]) => ({
    service,
    traces: rs.length,
    errors: rs.filter((r) => r.errorCount > 0).length,
    p95: p95(rs.map((r) => r.durationMs)),
  }));
}

const HEALTH_COLS: Column<Health>[] = [
  { key: "service", label: "Service", render: (h) => <Link href={`/traces?service=${encodeURIComponent(h.service)}`}>{h.service}</Link>, sort: (h) => h.service },
  { key: "traces", label: "Traces", render: (h) => fmtInt(h.traces), sort: (h) => h.traces, numeric: true },
  {
    key: "errors",
    label: "Error rate",
    render: (h) => <span class={h.errors > 0 ? "bad" : ""}>{((h.errors / h.traces) * 100).toFixed(1)}%</span>,
    sort: (h) => h.errors / h.traces,
    numeric: true,
  },
  { key: "p95", label: "p95 duration", render: (h) => fmtDurationMs(h.p95), sort: (h) => h.p95, numeric: true },
];

const MODEL_COLS: Column<CostGroup>[] = [
  { key: "model", label: "Model", render: (g) => g.key, sort: (g) => g.key },
  { key: "tokens", label: "Tokens", render: (g) => fmtInt(g.tokens), sort: (g) => g.tokens ?? 0, numeric: true },
  { key: "cost", label: "Cost", render: (g) => costLabel(g.costUsd, g.unpricedCalls, g.calls, fmtCost), sort: (g) => g.costUsd, numeric: true },
];

const BUCKETS = 60;

/** Traces and failed traces per minute, in BUCKETS buckets from `start` to `end` (seconds). */
export function ratesOverTime(rows: TraceRow[], start: number, end: number): Series[] {
  const width = Math.max((end - start) / BUCKETS, 1);
  const all = new Array<number>(BUCKETS).fill(0);
  const failed = new Array<number>(BUCKETS).fill(0);
  for (const r of rows) {
    const i = Math.floor((Number(r.startTimeUnixNano) / 1e9 - start) / width);
    if (i < 0 || i >= BUCKETS) continue;
    all[i] = (all[i] ?? 0) + 1;
    if (r.errorCount > 0) failed[i] = (failed[i] ?? 0) + 1;
  }
  const perMin = 60 / width;
  const points = (counts: number[]) => counts.map((n, i): [number, number] => [start + i * width, n * perMin]);
  return [
    { label: "traces / min", points: points(all) },
    { label: "failed / min", points: points(failed) },
  ];
}

function startOfToday(): number {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
}

export function OverviewPage() {
  const { query } = useLocation();
  const range = parseRange(query.get("range"));
  const sort = query.get("sort") ?? "-traces";
  const traces = useAsync(
    async (signal) => {
      const end = nowSecs();
      const url = `/sextant/api/v1/traces${qs({ start: end - range, end, limit: MAX_TRACES })}`;
      const rows = (await getJson<{ traces: TraceRow[] }>(url, signal)).traces;
      const oldest = Number(rows[rows.length - 1]?.startTimeUnixNano ?? 0) / 1e9;
      const from = rows.length >= MAX_TRACES ? oldest : end - range;
      return { rows, chart: ratesOverTime(rows, from, end) };
    },
    [range],
    REFRESH_MS,
  );
  const costs = useAsync(
    async (signal) => {
      const end = nowSecs();
      const [byModel, today] = await Promise.all([
        loadCosts("model", end - range, end, Math.max(60, Math.floor(range / 60)), signal),
        loadCosts("model", startOfToday(), end, 3600, signal),
      ]);
      return { byModel, today: today?.totalCost ?? null, todayUnpriced: today?.unpricedCalls ?? 0 };
    },
    [range],
    REFRESH_MS,
  );
  const rows = traces.data?.rows ?? [];
  const errors = rows.filter((r) => r.errorCount > 0).length;
  const capped = rows.length >= MAX_TRACES;
  const spanSecs = capped && rows.length > 1 ? (Number(rows[0]?.startTimeUnixNano) - Number(rows[rows.length - 1]?.startTimeUnixNano)) / 1e9 : range;
  const perMin = rows.length / Math.max(spanSecs / 60, 1 / 60);
  const byModel = costs.data?.byModel;
  const tokensPerHour = byModel ? (byModel.totalTokens / range) * 3600 : undefined;
  return (
    <section>
      <h1>Overview</h1>
      <div class="filters">
        <RangePicker secs={range} onChange={(r) => setQuery({ range: r })} />
        <span class="note muted">Refreshes every 30 s{capped ? `; rates from the newest ${MAX_TRACES} traces` : ""}.</span>
      </div>
      {traces.error ? (
        <ErrorNote error={traces.error} what="Trace listing" />
      ) : !traces.data ? (
        <Loading />
      ) : (
        <div class="stats" data-testid="overview-stats">
          <Stat label="Requests / min" value={perMin.toFixed(2)} testid="ov-rate" />
          <Stat label="Error rate" value={rows.length ? `${((errors / rows.length) * 100).toFixed(1)}%` : "–"} testid="ov-errors" hint={`${errors} of ${rows.length} traces`} />
          <Stat label="p95 latency" value={fmtDurationMs(p95(rows.map((r) => r.durationMs)))} testid="ov-p95" />
          <Stat label="Tokens / hour" value={tokensPerHour === undefined ? "not available yet" : fmtInt(tokensPerHour)} testid="ov-tokens" />
          <Stat label="Cost today" value={costs.data?.today === null || costs.data?.today === undefined ? "not available yet" : fmtCost(costs.data.today)} testid="ov-cost-today" hint={costs.data?.todayUnpriced ? `${costs.data.todayUnpriced} unpriced calls` : undefined} />
        </div>
      )}
      {traces.data && rows.length > 0 && <Chart title="Traces and failed traces per minute" series={traces.data.chart} height={180} format={(v) => v.toFixed(1)} />}
      <div class="two-col">
        <div>
          <h2>Service health</h2>
          <Table label="Service health" columns={HEALTH_COLS} rows={health(rows)} rowKey={(h) => h.service} sort={sort} onSort={(s) => setQuery({ sort: s })} />
        </div>
        <div>
          <h2>Cost by model</h2>
          {costs.error ? (
            <ErrorNote error={costs.error} what="Costs" />
          ) : costs.loading && !costs.data ? (
            <Loading />
          ) : byModel ? (
            <Table label="Cost by model" columns={MODEL_COLS} rows={byModel.groups} rowKey={(g) => g.key} sort="-cost" />
          ) : (
            <NotAvailable what="The costs API" />
          )}
        </div>
      </div>
    </section>
  );
}
