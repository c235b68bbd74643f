// A tiny client-side router: the URL (path + query) is the whole page state.
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
window.addEventListener("popstate", notify);

/** Goes to `to` (a path with an optional query), adding a history entry unless `replace`. */
export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  notify();
}

/** Replaces query parameters of the current URL (empty values are removed). */
export function setQuery(updates: Record<string, string | number | undefined | null>, push = false): void {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(updates)) {
    if (v === undefined || v === null || v === "") params.delete(k);
    else params.set(k, String(v));
  }
  const qs = params.toString();
  navigate(location.pathname + (qs ? `?${qs}` : ""), !push);
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

/** The current location; re-renders the caller when it changes. */
export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((n) => n + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** Handles a click on an in-app link without a page load (modifier clicks open tabs as usual). */
export function onLinkClick(e: MouseEvent, href: string): void {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(href);
}
