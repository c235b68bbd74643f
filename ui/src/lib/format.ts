// Number, time and size formatting. Everything here returns plain strings (rendered as text).

export function fmtDurationMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${((ms % 60_000) / 1000).toFixed(0)} s`;
}

/** Unix nanoseconds (as a decimal string or number) to milliseconds. */
export function nanosToMs(n: string | number | undefined): number {
  if (n === undefined) return NaN;
  if (typeof n === "number") return n / 1e6;
  // Split to keep precision: the last 6 digits are sub-millisecond.
  if (n.length <= 6) return Number(n) / 1e6;
  return Number(n.slice(0, -6)) + Number(n.slice(-6)) / 1e6;
}

export function fmtTime(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtInt(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return "–";
  return Math.round(n).toLocaleString("en-US");
}

export function fmtCost(usd: number | undefined | null): string {
  if (usd === undefined || usd === null || !Number.isFinite(usd)) return "–";
  if (usd === 0) return "$0";
  if (Math.abs(usd) < 0.01) return `$${usd.toFixed(6)}`;
  return `$${usd.toFixed(4)}`;
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function fmtRate(perSec: number | undefined): string {
  if (perSec === undefined || !Number.isFinite(perSec)) return "–";
  return `${perSec < 10 ? perSec.toFixed(2) : perSec.toFixed(0)}/s`;
}

/** Time ranges offered by the pickers, in seconds. */
export const RANGES: { label: string; secs: number }[] = [
  { label: "Last 15 minutes", secs: 900 },
  { label: "Last hour", secs: 3600 },
  { label: "Last 6 hours", secs: 21600 },
  { label: "Last 24 hours", secs: 86400 },
  { label: "Last 7 days", secs: 604800 },
];

/** Parses "1h", "15m", "7d" or a number of seconds; falls back to `dflt`. */
export function parseRange(s: string | null, dflt = 3600): number {
  if (!s) return dflt;
  const m = /^(\d+)([smhd]?)$/.exec(s.trim());
  if (!m) return dflt;
  const mult = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * mult;
}

export function rangeParam(secs: number): string {
  if (secs % 86400 === 0) return `${secs / 86400}d`;
  if (secs % 3600 === 0) return `${secs / 3600}h`;
  if (secs % 60 === 0) return `${secs / 60}m`;
  return `${secs}s`;
}

/** The end of a "last N" range in Unix seconds: rounded up, so that a span that arrived this
 * very second is inside it. */
export function nowSecs(): number {
  return Math.ceil(Date.now() / 1000) + 1;
}
