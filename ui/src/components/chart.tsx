// Time-series chart on uPlot, loaded on first use so that pages without charts stay small.
import { useEffect, useRef } from "preact/hooks";
import type uPlot from "uplot";

export interface Series {
  label: string;
  /** [unix seconds, value] */
  points: [number, number][];
}

const COLORS = ["#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#84cc16"];

/** Series on one shared, sorted time axis (missing points are null). */
export function align(series: Series[]): [number[], ...(number | null)[][]] {
  const ts = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(ts.map((t, i) => [t, i]));
  const cols = series.map((s) => {
    const col: (number | null)[] = ts.map(() => null);
    for (const [t, v] of s.points) col[index.get(t) ?? 0] = v;
    return col;
  });
  return [ts, ...cols];
}

export function Chart({ series, height = 220, format, title }: { series: Series[]; height?: number; format?: (v: number) => string; title: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let plot: uPlot | undefined;
    let cancelled = false;
    const el = box.current;
    if (!el) return;
    void import("uplot").then((mod) => {
      if (cancelled) return;
      const UPlot = mod.default;
      const axisColor = getComputedStyle(el).color;
      const fmt = format ?? ((v: number) => String(v));
      plot = new UPlot(
        {
          width: Math.max(el.clientWidth, 300),
          height,
          series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, value: (_: uPlot, v: number | null) => (v === null ? "–" : fmt(v)) }))],
          axes: [
            { stroke: axisColor, grid: { stroke: "rgba(128,128,128,.15)" } },
            { stroke: axisColor, grid: { stroke: "rgba(128,128,128,.15)" }, values: (_: uPlot, vals: number[]) => vals.map(fmt), size: 70 },
          ],
        },
        align(series) as uPlot.AlignedData,
        el,
      );
    });
    const resize = () => plot?.setSize({ width: Math.max(el.clientWidth, 300), height });
    window.addEventListener("resize", resize);
    return () => {
      cancelled = true;
      window.removeEventListener("resize", resize);
      plot?.destroy();
    };
  }, [series, height]);
  return <div class="chart" ref={box} role="img" aria-label={title} />;
}
