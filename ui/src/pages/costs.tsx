// Costs: cost and tokens over time, grouped by model, provider, agent, service or user.
import { useMemo } from "preact/hooks";
import { costLabel } from "../lib/api";
import { fmtCost, fmtInt, parseRange, nowSecs } from "../lib/format";
import { useAsync } from "../lib/hooks";
import { setQuery, useLocation } from "../lib/router";
import { ErrorNote, Loading, NotAvailable, RangePicker, Stat } from "../components/common";
import { Chart } from "../components/chart";
import { Table, type Column } from "../components/table";
import { GROUPS, costSeries, loadCosts, tokenSeries, type CostGroup, type GroupBy } from "../lib/costs";

function columns(by: string): Column<CostGroup>[] {
  return [
    { key: "key", label: by[0]?.toUpperCase() + by.slice(1), render: (g) => g.key, sort: (g) => g.key },
    { key: "input", label: "Input tokens", render: (g) => fmtInt(g.inputTokens), sort: (g) => g.inputTokens ?? 0, numeric: true },
    { key: "output", label: "Output tokens", render: (g) => fmtInt(g.outputTokens), sort: (g) => g.outputTokens ?? 0, numeric: true },
    { key: "tokens", label: "Tokens", render: (g) => fmtInt(g.tokens), sort: (g) => g.tokens ?? 0, numeric: true },
    { key: "unpriced", label: "Unpriced calls", render: (g) => fmtInt(g.unpricedCalls), sort: (g) => g.unpricedCalls ?? 0, numeric: true },
    { key: "cost", label: "Cost", render: (g) => costLabel(g.costUsd, g.unpricedCalls, g.calls, fmtCost), sort: (g) => g.costUsd, numeric: true },
  ];
}

export function CostsPage() {
  const { query } = useLocation();
  const by = (GROUPS as readonly string[]).includes(query.get("by") ?? "") ? (query.get("by") as GroupBy) : "model";
  const range = parseRange(query.get("range"), 86400);
  const sort = query.get("sort") ?? "-cost";
  const step = Math.max(60, Math.floor(range / 120));
  const costs = useAsync(
    (signal) => {
      const end = nowSecs();
      return loadCosts(by, end - range, end, step, signal);
    },
    [by, range],
  );
  const cost = useMemo(() => (costs.data ? costSeries(costs.data) : []), [costs.data]);
  const tokens = useMemo(() => (costs.data ? tokenSeries(costs.data) : []), [costs.data]);
  return (
    <section>
      <h1>Costs</h1>
      <div class="filters">
        <label class="field">
          <span>Group by</span>
          <select value={by} onChange={(e) => setQuery({ by: (e.target as HTMLSelectElement).value })}>
            {GROUPS.map((g) => (
              <option value={g}>{g}</option>
            ))}
          </select>
        </label>
        <RangePicker secs={range} onChange={(r) => setQuery({ range: r })} />
      </div>
      {costs.error ? (
        <ErrorNote error={costs.error} what="Costs" />
      ) : costs.loading && costs.data === undefined ? (
        <Loading />
      ) : !costs.data ? (
        <NotAvailable what="The costs API" />
      ) : (
        <>
          <div class="stats">
            <Stat label="Total cost" value={fmtCost(costs.data.totalCost)} testid="costs-total" />
            <Stat label="Tokens" value={fmtInt(costs.data.totalTokens)} testid="costs-tokens" />
            <Stat label="Unpriced calls" value={fmtInt(costs.data.unpricedCalls)} hint="no price matched: cost unknown, not zero" />
            <Stat label="Groups" value={fmtInt(costs.data.groups.length)} />
          </div>
          <h2>Cost over time</h2>
          <Chart title="Cost over time" series={cost} format={(v) => fmtCost(v)} />
          {tokens.length > 0 && (
            <>
              <h2>Tokens over time</h2>
              <Chart title="Tokens over time" series={tokens} format={(v) => fmtInt(v)} />
            </>
          )}
          <Table label={`Cost by ${by}`} columns={columns(by)} rows={costs.data.groups} rowKey={(g) => g.key} sort={sort} onSort={(s) => setQuery({ sort: s })} />
        </>
      )}
    </section>
  );
}
