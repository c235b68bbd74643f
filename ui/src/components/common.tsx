import type { ComponentChildren } from "preact";
import { isMissingApi } from "../lib/api";
import { onLinkClick } from "../lib/router";
import { RANGES, rangeParam } from "../lib/format";

export function Link({ href, children, class: cls }: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={href} class={cls} onClick={(e) => onLinkClick(e, href)}>
      {children}
    </a>
  );
}

/** Shows an error; a missing API is "not available yet", not a failure. */
export function ErrorNote({ error, what }: { error: Error; what: string }) {
  if (isMissingApi(error)) return <NotAvailable what={what} />;
  return (
    <p class="note error" role="alert">
      {what}: {error.message}
    </p>
  );
}

export function NotAvailable({ what }: { what: string }) {
  return (
    <p class="note muted" data-testid="not-available">
      {what} is not available yet on this server.
    </p>
  );
}

export function Loading() {
  return (
    <p class="note muted" data-testid="loading">
      Loading…
    </p>
  );
}

export function RangePicker({ secs, onChange }: { secs: number; onChange: (range: string) => void }) {
  const known = RANGES.some((r) => r.secs === secs);
  return (
    <label class="field">
      <span>Time range</span>
      <select value={rangeParam(secs)} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        {!known && <option value={rangeParam(secs)}>Last {rangeParam(secs)}</option>}
        {RANGES.map((r) => (
          <option value={rangeParam(r.secs)}>{r.label}</option>
        ))}
      </select>
    </label>
  );
}

export function Stat({ label, value, hint, testid }: { label: string; value: string; hint?: string; testid?: string }) {
  return (
    <div class="stat" data-testid={testid}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {hint && <div class="stat-hint">{hint}</div>}
    </div>
  );
}
