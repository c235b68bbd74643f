// Client of `GET /sextant/api/v1/overview?start=&end=&step=&today=`: the Overview's figures,
// which the server computes from the span metrics (cumulative series written at ingest), so
// the dashboard costs the same at any number of stored spans.
import { optional, qs } from "./api";
import type { Series } from "../components/chart";

export interface ServiceHealth {
  service: string;
  /** Agent runs (`invoke_agent` spans) and the failed ones. */
  requests: number;
  failed: number;
  p95Seconds: number | null;
  spans: number;
  failedSpans: number;
  costUsd: number;
}

export interface ModelCost {
  /** `gen_ai.request.model`. */
  model: string;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** null: no call of this model had a price (unknown, not zero). */
  costUsd: number | null;
}

export interface Overview {
  requests: { total: number; failed: number; p95Seconds: number | null };
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  costUsd: number;
  costTodayUsd: number;
  services: ServiceHealth[];
  models: ModelCost[];
  series: { t: number; requests: number; failed: number }[];
}

export interface OverviewBody {
  start: number;
  end: number;
  step: number;
  today: number;
  overview: Overview;
}

/** The Overview of the last `range` seconds, or null when the server has no such API. */
export function loadOverview(range: number, end: number, today: number, signal: AbortSignal): Promise<OverviewBody | null> {
  const step = Math.max(60, Math.floor(range / 60));
  return optional<OverviewBody>(`/sextant/api/v1/overview${qs({ start: end - range, end, step, today })}`, signal);
}

/** Runs and failed runs per minute, one point per step. */
export function ratesPerMinute(body: OverviewBody): Series[] {
  const perMin = 60 / body.step;
  const points = (f: (p: Overview["series"][number]) => number) => body.overview.series.map((p): [number, number] => [p.t, f(p) * perMin]);
  return [
    { label: "requests / min", points: points((p) => p.requests) },
    { label: "failed / min", points: points((p) => p.failed) },
  ];
}

/** "12.5%" of `part` in `whole`, or "–" when there is nothing to divide. */
export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : "–";
}
