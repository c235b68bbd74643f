// A sortable table with keyboard navigation: arrow keys move between rows, Enter opens one.
import type { ComponentChildren } from "preact";
import { useRef } from "preact/hooks";

export interface Column<R> {
  key: string;
  label: string;
  render: (row: R) => ComponentChildren;
  sort?: (row: R) => number | string;
  numeric?: boolean;
}

interface Props<R> {
  columns: Column<R>[];
  rows: R[];
  rowKey: (row: R) => string;
  /** `key` or `-key` (descending). */
  sort?: string;
  onSort?: (sort: string) => void;
  onOpen?: (row: R) => void;
  rowClass?: (row: R) => string;
  label: string;
}

export function sortRows<R>(rows: R[], columns: Column<R>[], sort: string | undefined): R[] {
  if (!sort) return rows;
  const desc = sort.startsWith("-");
  const col = columns.find((c) => c.key === sort.replace(/^-/, ""));
  if (!col?.sort) return rows;
  const get = col.sort;
  return [...rows].sort((a, b) => {
    const x = get(a);
    const y = get(b);
    const c = x < y ? -1 : x > y ? 1 : 0;
    return desc ? -c : c;
  });
}

export function Table<R>({ columns, rows, rowKey, sort, onSort, onOpen, rowClass, label }: Props<R>) {
  const body = useRef<HTMLTableSectionElement>(null);
  const focusRow = (i: number) => {
    const trs = body.current?.querySelectorAll<HTMLTableRowElement>("tr");
    if (!trs || trs.length === 0) return;
    trs[Math.max(0, Math.min(trs.length - 1, i))]?.focus();
  };
  const onKey = (e: KeyboardEvent, i: number, row: R) => {
    if (e.key === "ArrowDown") focusRow(i + 1);
    else if (e.key === "ArrowUp") focusRow(i - 1);
    else if (e.key === "Home") focusRow(0);
    else if (e.key === "End") focusRow(rows.length - 1);
    else if (e.key === "Enter" && onOpen) onOpen(row);
    else return;
    e.preventDefault();
  };
  const sorted = sortRows(rows, columns, sort);
  const header = (c: Column<R>) => {
    const active = sort?.replace(/^-/, "") === c.key;
    const desc = active && sort?.startsWith("-");
    const aria = active ? (desc ? "descending" : "ascending") : "none";
    if (!c.sort || !onSort) return <th class={c.numeric ? "num" : ""}>{c.label}</th>;
    const next = active && !desc ? `-${c.key}` : c.key;
    return (
      <th class={c.numeric ? "num" : ""} aria-sort={aria}>
        <button type="button" class="sort" onClick={() => onSort(next)}>
          {c.label}
          <span aria-hidden="true">{active ? (desc ? " ▼" : " ▲") : ""}</span>
        </button>
      </th>
    );
  };
  return (
    <table class="grid" aria-label={label}>
      <thead>
        <tr>{columns.map(header)}</tr>
      </thead>
      <tbody ref={body}>
        {sorted.map((row, i) => (
          <tr
            key={rowKey(row)}
            tabIndex={0}
            class={`${onOpen ? "clickable" : ""} ${rowClass?.(row) ?? ""}`}
            onKeyDown={(e) => onKey(e, i, row)}
            onClick={(e) => {
              if (onOpen && !(e.target as HTMLElement).closest("a,button")) onOpen(row);
            }}
          >
            {columns.map((c) => (
              <td class={c.numeric ? "num" : ""}>{c.render(row)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
