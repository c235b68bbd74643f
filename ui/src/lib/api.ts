// Client for Sextant's query APIs (same origin). APIs that a server may not have yet answer
// 404/501; `optional` turns that into `null` so pages can say "not available yet".

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function request(url: string, signal?: AbortSignal): Promise<Response> {
  const res = await fetch(url, { signal, headers: { Accept: "application/json" } });
  if (!res.ok) {
    const text = (await res.text().catch(() => "")).trim();
    throw new ApiError(res.status, text || `${res.status} ${res.statusText}`);
  }
  return res;
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  return (await request(url, signal)).json() as Promise<T>;
}

export async function getText(url: string, signal?: AbortSignal): Promise<string> {
  return (await request(url, signal)).text();
}

/** True when the error means "this server does not have that API (yet)". */
export function isMissingApi(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 404 || e.status === 501 || e.status === 405);
}

/** Like getJson, but `null` when the API does not exist on this server. */
export async function optional<T>(url: string, signal?: AbortSignal): Promise<T | null> {
  try {
    return await getJson<T>(url, signal);
  } catch (e) {
    if (isMissingApi(e)) return null;
    throw e;
  }
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

// ----- shapes ------------------------------------------------------------------------------------

/** A row of `GET /sextant/api/v1/traces` (token and cost fields appear once the server has them). */
export interface TraceRow {
  traceId: string;
  rootServiceName?: string | null;
  rootTraceName?: string | null;
  startTimeUnixNano: string;
  durationMs: number;
  spanCount: number;
  errorCount: number;
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  costUsd?: number | null;
  /** Model calls no price matched: their cost is unknown, not zero. */
  unpricedCalls?: number;
  llmCalls?: number;
  toolCalls?: number;
  models?: string[];
  agents?: string[];
  conversationId?: string | null;
}

/** A cost for people: "unpriced" when no call was priced, a note when some were not. */
export function costLabel(costUsd: number | null | undefined, unpriced: number | undefined, calls: number | undefined, fmt: (usd: number) => string): string {
  if (costUsd === undefined || costUsd === null) return "–";
  if (unpriced && (calls === undefined || unpriced >= calls) && costUsd === 0) return "unpriced";
  return unpriced ? `${fmt(costUsd)} + ${unpriced} unpriced` : fmt(costUsd);
}

/** One span's cost as the trace summary API reports it (`spans` of the summary). */
export interface SpanCost {
  llmCall?: boolean;
  costUsd?: number | null;
  /** `catalog:<provider>/<model>` or `client:<attribute>`. */
  costSource?: string | null;
  /** Why no price matched a model call (its cost is unknown, not zero). */
  unpricedReason?: string | null;
}

/** The server's cost source for people. */
export function costSourceText(source: string): string {
  if (source.startsWith("catalog:")) return `price catalog: ${source.slice("catalog:".length)}`;
  if (source.startsWith("client:")) return `sent by the client in ${source.slice("client:".length)}`;
  return source;
}

/**
 * The waterfall's cost badge of a model call: its price, or "unpriced"; null for other spans
 * (an agent span's usage repeats its calls', so a badge there would read as double the cost).
 */
export function costBadge(c: SpanCost | undefined, fmt: (usd: number) => string): { text: string; unpriced: boolean } | null {
  if (!c || c.llmCall === false) return null;
  if (c.costUsd !== undefined && c.costUsd !== null) return { text: fmt(c.costUsd), unpriced: false };
  if (c.unpricedReason) return { text: "unpriced", unpriced: true };
  return null;
}

export interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
export interface KeyValue {
  key: string;
  value?: AnyValue;
}
export interface OtlpEvent {
  name: string;
  timeUnixNano?: string;
  attributes?: KeyValue[];
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  events?: OtlpEvent[];
  status?: { code?: string; message?: string };
}
/** Tempo v1 JSON of `GET /api/traces/<id>`. */
export interface TempoTrace {
  batches?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }[];
  }[];
}

/** `GET /sextant/api/v1/traces/<id>/summary`: the trace's GenAI totals. */
export interface TraceTotals {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  costUsd?: number | null;
  unpricedCalls?: number;
  llmCalls?: number;
  toolCalls?: number;
  agents?: string[];
  models?: string[];
  conversationId?: string | null;
  userId?: string | null;
}

/** The summary answer: totals either at the top level or under `totals`/`genai`. */
export function totalsOf(body: unknown): TraceTotals | null {
  if (!body || typeof body !== "object") return null;
  const o = body as Record<string, unknown>;
  const inner = (o.totals ?? o.genai ?? o.summary) as TraceTotals | undefined;
  return inner && typeof inner === "object" ? inner : (o as TraceTotals);
}

export interface BuildInfo {
  version?: string;
  revision?: string;
  branch?: string;
  buildDate?: string;
  goVersion?: string;
}

/** One series of `GET /sextant/api/v1/costs`. */
export interface CostSeries {
  key: string;
  points: { t: number; costUsd: number; tokens?: number; inputTokens?: number; outputTokens?: number }[];
  costUsd?: number;
  tokens?: number;
}

export interface Conversation {
  conversationId: string;
  traceCount?: number;
  traces?: TraceRow[];
  firstStartUnixNano?: string;
  lastEndUnixNano?: string;
  users?: string[];
  totalTokens?: number;
  unpricedCalls?: number;
  llmCalls?: number;
  start?: string;
  startTimeUnixNano?: string;
  lastTimeUnixNano?: string;
  durationMs?: number;
  userId?: string | null;
  agents?: string[];
  rootServiceName?: string | null;
  costUsd?: number | null;
  inputTokens?: number;
  outputTokens?: number;
  errorCount?: number;
}
