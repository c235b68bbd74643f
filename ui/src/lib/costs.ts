// Client of `GET /sextant/api/v1/costs?group_by=&start=&end=&step=`, read defensively: series
// `{total, groups: [{key, total, series: [{t, costUsd, totalTokens, ...}]}]}`; older or other
// shapes (points as `[t, cost]` pairs, `series` at the top) are read too.
import { optional, qs } from "./api";
import type { Series } from "../components/chart";

export const GROUPS = ["model", "provider", "agent", "service", "user"] as const;
export type GroupBy = (typeof GROUPS)[number];

export interface CostGroup {
  key: string;
  costUsd: number;
  tokens?: number;
  inputTokens?: number;
  outputTokens?: number;
  unpricedCalls?: number;
  calls?: number;
  cost: [number, number][];
  tokenPoints: [number, number][];
}

export interface Costs {
  groups: CostGroup[];
  totalCost: number;
  totalTokens: number;
  /** Model calls without a price: their cost is unknown, not zero. */
  unpricedCalls: number;
}

type Obj = Record<string, unknown>;
const num = (v: unknown): number | undefined => (v === undefined || v === null || v === "" || !Number.isFinite(Number(v)) ? undefined : Number(v));

function seconds(t: unknown): number {
  const n = Number(t);
  if (typeof t === "string" && t.length > 13) return n / 1e9; // unix nanoseconds
  return n > 1e12 ? n / 1000 : n; // milliseconds or seconds
}

function group(s: Obj): CostGroup {
  const labels = s.labels as Obj | undefined;
  const raw = s.key ?? s.group ?? s.name ?? (labels ? Object.values(labels).join(", ") : undefined);
  const key = raw === undefined || raw === null || raw === "" ? "(not set)" : String(raw);
  const total = (s.total ?? s) as Obj;
  const cost: [number, number][] = [];
  const tokenPoints: [number, number][] = [];
  const points = (s.series ?? s.points ?? s.values ?? []) as unknown[];
  for (const p of points) {
    if (Array.isArray(p)) {
      cost.push([seconds(p[0]), num(p[1]) ?? 0]);
      continue;
    }
    const o = p as Obj;
    const t = seconds(o.t ?? o.time ?? o.timestamp ?? o.start);
    cost.push([t, num(o.costUsd ?? o.cost_usd ?? o.cost) ?? 0]);
    const tok = num(o.totalTokens ?? o.tokens) ?? (num(o.inputTokens) ?? 0) + (num(o.outputTokens) ?? 0);
    tokenPoints.push([t, tok]);
  }
  const costUsd = num(total.costUsd ?? total.cost_usd) ?? cost.reduce((a, p) => a + p[1], 0);
  const inputTokens = num(total.inputTokens);
  const outputTokens = num(total.outputTokens);
  const summed = tokenPoints.length ? tokenPoints.reduce((a, p) => a + p[1], 0) : undefined;
  const tokens = num(total.totalTokens ?? total.tokens) ?? (inputTokens !== undefined || outputTokens !== undefined ? (inputTokens ?? 0) + (outputTokens ?? 0) : summed);
  const unpricedCalls = num(total.unpricedCalls);
  return { key, costUsd, tokens, inputTokens, outputTokens, unpricedCalls, calls: num(total.calls), cost, tokenPoints };
}

/** Costs grouped by `by`, or null when the server has no costs API yet. */
export async function loadCosts(by: GroupBy, start: number, end: number, step: number, signal: AbortSignal): Promise<Costs | null> {
  const body = await optional<Obj>(`/sextant/api/v1/costs${qs({ group_by: by, start, end, step })}`, signal);
  if (!body) return null;
  const list = (body.groups ?? body.series ?? body.data ?? []) as Obj[];
  const groups = list.map(group).sort((a, b) => b.costUsd - a.costUsd);
  const total = body.total as Obj | undefined;
  const totalCost = num(total?.costUsd) ?? groups.reduce((a, g) => a + g.costUsd, 0);
  const totalTokens = num(total?.totalTokens) ?? groups.reduce((a, g) => a + (g.tokens ?? 0), 0);
  return { groups, totalCost, totalTokens, unpricedCalls: num(total?.unpricedCalls) ?? 0 };
}

export function costSeries(c: Costs): Series[] {
  return c.groups.map((g) => ({ label: g.key, points: g.cost }));
}
export function tokenSeries(c: Costs): Series[] {
  return c.groups.filter((g) => g.tokenPoints.length > 0).map((g) => ({ label: g.key, points: g.tokenPoints }));
}
