// The trace's span tree as a waterfall: one row per visible span, bars on a shared time axis.
// Keys: ↑/↓ move, ← collapses or goes to the parent, → expands or goes to the first child,
// Enter selects (opens the side panel).
import { useEffect, useRef } from "preact/hooks";
import type { Span, Tree } from "../lib/otlp";
import { fmtCost, fmtDurationMs } from "../lib/format";
import { costBadge, type SpanCost } from "../lib/api";

interface Props {
  tree: Tree;
  collapsed: Set<string>;
  onToggle: (id: string) => void;
  selected: string;
  onSelect: (id: string) => void;
  /** Per-span costs from the trace summary API, by span id. */
  costs?: Map<string, SpanCost>;
}


/** The spans shown: every span whose ancestors are all expanded. */
export function visibleSpans(tree: Tree, collapsed: Set<string>): Span[] {
  const out: Span[] = [];
  let hideBelow = Infinity;
  for (const s of tree.spans) {
    if (s.depth > hideBelow) continue;
    hideBelow = Infinity;
    out.push(s);
    if (collapsed.has(s.id) && s.children.length > 0) hideBelow = s.depth;
  }
  return out;
}

/** Long bars that reach the right edge carry their label inside (or before them). */
const durInside = (left: number, width: number) => left + width > 85 && left < 15;

function durStyle(left: number, width: number): Record<string, string> {
  if (left + width <= 85) return { left: `${left + width}%` };
  if (durInside(left, width)) return { right: `${100 - left - width}%` };
  return { right: `${100 - left}%` };
}

export function Waterfall({ tree, collapsed, onToggle, selected, onSelect, costs }: Props) {
  const rows = visibleSpans(tree, collapsed);
  const total = Math.max(tree.endMs - tree.startMs, 1e-6);
  const list = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = list.current?.querySelector<HTMLElement>(`[data-span-id="${selected}"]`);
    if (el && list.current?.contains(document.activeElement)) el.focus();
  }, [selected]);

  const onKey = (e: KeyboardEvent, i: number, s: Span) => {
    const move = (to: Span | undefined) => to && onSelect(to.id);
    if (e.key === "ArrowDown") move(rows[i + 1]);
    else if (e.key === "ArrowUp") move(rows[i - 1]);
    else if (e.key === "ArrowLeft") {
      if (s.children.length > 0 && !collapsed.has(s.id)) onToggle(s.id);
      else move(tree.byId.get(s.parentId));
    } else if (e.key === "ArrowRight") {
      if (collapsed.has(s.id)) onToggle(s.id);
      else move(s.children[0]);
    } else if (e.key === "Enter" || e.key === " ") onSelect(s.id);
    else return;
    e.preventDefault();
  };

  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div class="waterfall" role="tree" aria-label="Span tree" ref={list}>
      <div class="wf-row wf-axis" aria-hidden="true">
        <div class="wf-name">Span</div>
        <div class="wf-track">
          {ticks.map((t) => (
            <span class="wf-tick" style={{ left: `${t * 100}%` }}>
              {fmtDurationMs(t * total)}
            </span>
          ))}
        </div>
      </div>
      {rows.map((s, i) => {
        const left = ((s.startMs - tree.startMs) / total) * 100;
        const width = Math.max((s.durationMs / total) * 100, 0.2);
        const open = !collapsed.has(s.id);
        const cost = costBadge(costs?.get(s.id), fmtCost);
        return (
          <div
            key={s.id}
            data-span-id={s.id}
            data-testid="span-row"
            class={`wf-row ${s.error ? "error" : ""} ${s.id === selected ? "selected" : ""}`}
            role="treeitem"
            aria-level={s.depth + 1}
            aria-expanded={s.children.length > 0 ? open : undefined}
            aria-selected={s.id === selected}
            tabIndex={s.id === selected || (!selected && i === 0) ? 0 : -1}
            onKeyDown={(e) => onKey(e, i, s)}
            onClick={() => onSelect(s.id)}
          >
            <div class="wf-name" style={{ paddingLeft: `${s.depth * 14 + 4}px` }}>
              {s.children.length > 0 ? (
                <button
                  type="button"
                  class="toggle"
                  tabIndex={-1}
                  aria-label={open ? "Collapse" : "Expand"}
                  onClick={(e) => {
                    e.stopPropagation();
                    onToggle(s.id);
                  }}
                >
                  {open ? "▾" : "▸"}
                </button>
              ) : (
                <span class="toggle-space" />
              )}
              <span class="svc">{s.service}</span> <span class="span-name">{s.name}</span>
              {s.error && <span class="badge bad">error</span>}
              {cost && (
                <span class={`badge cost ${cost.unpriced ? "warn" : ""}`} data-testid="span-cost" title={cost.unpriced ? "No price matched this model call" : "Cost of this model call"}>
                  {cost.text}
                </span>
              )}
            </div>
            <div class="wf-track">
              <div class="wf-bar" style={{ left: `${left}%`, width: `${width}%` }} />
              <span class={`wf-dur ${durInside(left, width) ? "inside" : ""}`} style={durStyle(left, width)}>
                {fmtDurationMs(s.durationMs)}
              </span>
            </div>
          </div>
        );
      })}
    </div>
  );
}
