// Overview: request rate, error rate, p95 latency, tokens per hour, cost today, per-service
// health and cost by model, for a time range, refreshed every 30 seconds. Everything comes from
// one call to the overview API (span metrics), so the page is as fast with 10 M spans stored as
// with ten. Requests are traces, counted by their root span; a failed request's root span has
// status error.
import { fmtCost, fmtDurationMs, fmtInt, parseRange, nowSecs } from "../lib/format";
import { useAsync } from "../lib/hooks";
import { setQuery, useLocation } from "../lib/router";
import { ErrorNote, Link, Loading, NotAvailable, RangePicker, Stat } from "../components/common";
import { Table, type Column } from "../components/table";
import { Chart } from "../components/chart";
import { loadOverview, percent, ratesPerMinute, type ModelCost, type ServiceHealth } from "../lib/overview";

const REFRESH_MS = 30_000;

const secsToMs = (s: number | null) => (s === null ? NaN : s * 1000);

const HEALTH_COLS: Column<ServiceHealth>[] = [
  { key: "service", label: "Service", render: (h) => <Link href={`/traces?service=${encodeURIComponent(h.service)}`}>{h.service || "(not set)"}</Link>, sort: (h) => h.service },
  { key: "requests", label: "Requests", render: (h) => fmtInt(h.requests), sort: (h) => h.requests, numeric: true },
  {
    key: "errors",
    label: "Error rate",
    render: (h) => <span class={h.failed > 0 ? "bad" : ""}>{percent(h.failed, h.requests)}</span>,
    sort: (h) => (h.requests > 0 ? h.failed / h.requests : -1),
    numeric: true,
  },
  { key: "p95", label: "p95 duration", render: (h) => fmtDurationMs(secsToMs(h.p95Seconds)), sort: (h) => h.p95Seconds ?? -1, numeric: true },
  { key: "spans", label: "Spans", render: (h) => fmtInt(h.spans), sort: (h) => h.spans, numeric: true },
  {
    key: "span-errors",
    label: "Failed spans",
    render: (h) => <span class={h.failedSpans > 0 ? "bad" : ""}>{percent(h.failedSpans, h.spans)}</span>,
    sort: (h) => (h.spans > 0 ? h.failedSpans / h.spans : -1),
    numeric: true,
  },
  { key: "cost", label: "Cost", render: (h) => fmtCost(h.costUsd), sort: (h) => h.costUsd, numeric: true },
];

const MODEL_COLS: Column<ModelCost>[] = [
  { key: "model", label: "Model", render: (m) => m.model || "(not set)", sort: (m) => m.model },
  { key: "tokens", label: "Tokens", render: (m) => fmtInt(m.totalTokens), sort: (m) => m.totalTokens, numeric: true },
  { key: "cost", label: "Cost", render: (m) => (m.costUsd === null ? "unpriced" : fmtCost(m.costUsd)), sort: (m) => m.costUsd ?? -1, numeric: true },
];

function startOfToday(): number {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
}

export function OverviewPage() {
  const { query } = useLocation();
  const range = parseRange(query.get("range"));
  const sort = query.get("sort") ?? "-requests";
  const ov = useAsync((signal) => loadOverview(range, nowSecs(), startOfToday(), signal), [range], REFRESH_MS);
  const body = ov.data;
  const o = body?.overview;
  return (
    <section>
      <h1>Overview</h1>
      <div class="filters">
        <RangePicker secs={range} onChange={(r) => setQuery({ range: r })} />
        <span class="note muted">Refreshes every 30 s. Requests are traces (root spans); figures come from the span metrics.</span>
      </div>
      {ov.error ? (
        <ErrorNote error={ov.error} what="Overview" />
      ) : ov.loading && !body ? (
        <Loading />
      ) : !o || !body ? (
        <NotAvailable what="The overview API" />
      ) : (
        <>
          <div class="stats" data-testid="overview-stats">
            <Stat label="Requests / min" value={(o.requests.total / Math.max((body.end - body.start) / 60, 1 / 60)).toFixed(2)} testid="ov-rate" hint={`${fmtInt(o.requests.total)} traces`} />
            <Stat label="Error rate" value={percent(o.requests.failed, o.requests.total)} testid="ov-errors" hint={`${fmtInt(o.requests.failed)} of ${fmtInt(o.requests.total)} requests`} />
            <Stat label="p95 latency" value={fmtDurationMs(secsToMs(o.requests.p95Seconds))} testid="ov-p95" />
            <Stat label="Tokens / hour" value={fmtInt((o.totalTokens / Math.max(body.end - body.start, 1)) * 3600)} testid="ov-tokens" />
            <Stat label="Cost today" value={fmtCost(o.costTodayUsd)} testid="ov-cost-today" hint={o.models.some((m) => m.costUsd === null) ? "some models are unpriced" : undefined} />
          </div>
          {o.requests.total > 0 && <Chart title="Requests and failed requests per minute" series={ratesPerMinute(body)} height={180} format={(v) => v.toFixed(1)} />}
          <div class="two-col">
            <div>
              <h2>Service health</h2>
              <Table label="Service health" columns={HEALTH_COLS} rows={o.services} rowKey={(h) => h.service} sort={sort} onSort={(s) => setQuery({ sort: s })} />
            </div>
            <div>
              <h2>Cost by model</h2>
              <Table label="Cost by model" columns={MODEL_COLS} rows={o.models} rowKey={(m) => m.model} sort="-cost" />
            </div>
          </div>
        </>
      )}
    </section>
  );
}
