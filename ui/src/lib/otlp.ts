// Tempo JSON (batches → scopeSpans → spans) to a span tree the waterfall can draw.
import type { AnyValue, KeyValue, OtlpEvent, TempoTrace } from "./api";
import { nanosToMs } from "./format";

export type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

export interface SpanEvent {
  name: string;
  timeMs: number;
  attrs: Map<string, Value>;
}

export interface Span {
  id: string;
  parentId: string;
  traceId: string;
  name: string;
  kind: string;
  service: string;
  scope: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  attrs: Map<string, Value>;
  resource: Map<string, Value>;
  events: SpanEvent[];
  error: boolean;
  statusMessage: string;
  depth: number;
  children: Span[];
}

export interface Tree {
  /** Spans in depth-first order (parents before children, siblings by start time). */
  spans: Span[];
  roots: Span[];
  startMs: number;
  endMs: number;
  byId: Map<string, Span>;
}

/** Base64 (as Tempo sends ids) to lowercase hex; hex input is returned as is. */
export function idToHex(id: string | undefined): string {
  if (!id) return "";
  if (/^[0-9a-f]+$/i.test(id) && (id.length === 16 || id.length === 32)) return id.toLowerCase();
  try {
    const bin = atob(id);
    let hex = "";
    for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, "0");
    return hex;
  } catch {
    return id;
  }
}

export function anyValue(v: AnyValue | undefined): Value {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue) {
    const o: { [k: string]: Value } = {};
    for (const kv of v.kvlistValue.values ?? []) o[kv.key] = anyValue(kv.value);
    return o;
  }
  return null;
}

export function attrMap(kvs: KeyValue[] | undefined): Map<string, Value> {
  const m = new Map<string, Value>();
  for (const kv of kvs ?? []) m.set(kv.key, anyValue(kv.value));
  return m;
}

/** A value as one line of text (strings as they are, the rest as JSON). */
export function valueText(v: Value | undefined): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function event(e: OtlpEvent): SpanEvent {
  return { name: e.name, timeMs: nanosToMs(e.timeUnixNano), attrs: attrMap(e.attributes) };
}

/** Builds the span tree; spans whose parent is missing become roots. */
export function buildTree(trace: TempoTrace): Tree {
  const spans: Span[] = [];
  for (const batch of trace.batches ?? []) {
    const resource = attrMap(batch.resource?.attributes);
    const service = valueText(resource.get("service.name")) || "unknown";
    for (const ss of batch.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const startMs = nanosToMs(s.startTimeUnixNano);
        const endMs = Math.max(startMs, nanosToMs(s.endTimeUnixNano));
        spans.push({
          id: idToHex(s.spanId),
          parentId: idToHex(s.parentSpanId),
          traceId: idToHex(s.traceId),
          name: s.name,
          kind: (s.kind ?? "").replace("SPAN_KIND_", "").toLowerCase(),
          service,
          scope: ss.scope?.name ?? "",
          startMs,
          endMs,
          durationMs: endMs - startMs,
          attrs: attrMap(s.attributes),
          resource,
          events: (s.events ?? []).map(event),
          error: s.status?.code === "STATUS_CODE_ERROR",
          statusMessage: s.status?.message ?? "",
          depth: 0,
          children: [],
        });
      }
    }
  }
  return link(spans);
}

function link(spans: Span[]): Tree {
  const byId = new Map(spans.map((s) => [s.id, s]));
  const roots: Span[] = [];
  for (const s of spans) {
    const parent = s.parentId ? byId.get(s.parentId) : undefined;
    if (parent && parent !== s) parent.children.push(s);
    else roots.push(s);
  }
  const order: Span[] = [];
  const byStart = (a: Span, b: Span) => a.startMs - b.startMs;
  const visit = (s: Span, depth: number, seen: Set<Span>) => {
    if (seen.has(s)) return; // a cycle of parent ids: show each span once
    seen.add(s);
    s.depth = depth;
    order.push(s);
    s.children.sort(byStart);
    for (const c of s.children) visit(c, depth + 1, seen);
  };
  roots.sort(byStart);
  const seen = new Set<Span>();
  for (const r of roots) visit(r, 0, seen);
  for (const s of spans) if (!seen.has(s)) visit(s, 0, seen); // parents that form a cycle
  const startMs = Math.min(...spans.map((s) => s.startMs));
  const endMs = Math.max(...spans.map((s) => s.endMs));
  return { spans: order, roots, startMs, endMs, byId };
}
