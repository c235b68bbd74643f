// TraceQL search through the Tempo API (`/api/search`), mapped to the listing's row shape.
import { getJson, qs, type TraceRow } from "./api";

interface TempoSearchTrace {
  traceID: string;
  rootServiceName?: string;
  rootTraceName?: string;
  startTimeUnixNano?: string;
  durationMs?: number;
  spanSets?: { matched?: number }[];
  spanSet?: { matched?: number };
  serviceStats?: Record<string, { spanCount?: number; errorCount?: number }>;
}

function stats(t: TempoSearchTrace): { spans: number; errors: number } {
  let spans = 0;
  let errors = 0;
  for (const s of Object.values(t.serviceStats ?? {})) {
    spans += s.spanCount ?? 0;
    errors += s.errorCount ?? 0;
  }
  return { spans, errors };
}

export async function searchTraceQL(
  q: string,
  service: string,
  start: number,
  end: number,
  limit: number,
  signal: AbortSignal,
): Promise<TraceRow[]> {
  const query = service ? `${q} && { resource.service.name = ${JSON.stringify(service)} }` : q;
  const body = await getJson<{ traces?: TempoSearchTrace[] }>(`/api/search${qs({ q: query, start, end, limit })}`, signal);
  return (body.traces ?? []).map((t) => {
    const s = stats(t);
    const extra = t as unknown as Partial<TraceRow>;
    return {
      ...extra,
      traceId: t.traceID,
      rootServiceName: t.rootServiceName ?? null,
      rootTraceName: t.rootTraceName ?? null,
      startTimeUnixNano: t.startTimeUnixNano ?? "0",
      durationMs: t.durationMs ?? 0,
      spanCount: extra.spanCount ?? s.spans,
      errorCount: extra.errorCount ?? s.errors,
    };
  });
}

/** TraceQL for the quick filters that only a search can answer (empty when none is set). */
export function quickFilterQuery(f: { model: string; agent: string; minCost: number }): string {
  const conds: string[] = [];
  if (f.model) conds.push(`span.gen_ai.request.model = ${JSON.stringify(f.model)}`);
  if (f.agent) conds.push(`span.gen_ai.agent.name = ${JSON.stringify(f.agent)}`);
  if (f.minCost > 0) conds.push(`span.gen_ai.cost_usd >= ${f.minCost}`);
  return conds.length ? `{ ${conds.join(" && ")} }` : "";
}
