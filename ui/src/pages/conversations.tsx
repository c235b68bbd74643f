// Conversations: sessions (by `gen_ai.conversation.id`) and, for the selected one, its traces in
// order. `?id=` in the URL selects a conversation.
import { costLabel, getJson, optional, qs, type Conversation, type TraceRow } from "../lib/api";
import { fmtCost, fmtDurationMs, fmtInt, fmtTime, nanosToMs, parseRange, nowSecs } from "../lib/format";
import { useAsync } from "../lib/hooks";
import { navigate, setQuery, useLocation } from "../lib/router";
import { ErrorNote, Link, Loading, NotAvailable, RangePicker } from "../components/common";
import { Table, type Column } from "../components/table";

const start = (c: Conversation) => nanosToMs(c.firstStartUnixNano ?? c.startTimeUnixNano ?? c.start);

const COLS: Column<Conversation>[] = [
  { key: "start", label: "Started", render: (c) => fmtTime(start(c)), sort: start },
  { key: "id", label: "Conversation", render: (c) => <Link href={`/conversations?id=${encodeURIComponent(c.conversationId)}`}>{c.conversationId}</Link>, sort: (c) => c.conversationId },
  { key: "agents", label: "Agents", render: (c) => (c.agents ?? []).join(", ") || "–", sort: (c) => (c.agents ?? []).join(",") },
  { key: "user", label: "User", render: (c) => (c.users ?? (c.userId ? [c.userId] : [])).join(", ") || "–", sort: (c) => (c.users ?? []).join(",") },
  { key: "errors", label: "Errors", render: (c) => (c.errorCount ? <span class="bad">{fmtInt(c.errorCount)}</span> : "0"), sort: (c) => c.errorCount ?? 0, numeric: true },
  { key: "tokens", label: "Tokens", render: (c) => fmtInt(c.totalTokens), sort: (c) => c.totalTokens ?? 0, numeric: true },
  { key: "traces", label: "Traces", render: (c) => fmtInt(c.traceCount ?? c.traces?.length), sort: (c) => c.traceCount ?? 0, numeric: true },
  { key: "cost", label: "Cost", render: (c) => costLabel(c.costUsd, c.unpricedCalls, c.llmCalls, fmtCost), sort: (c) => c.costUsd ?? -1, numeric: true },
];

const TRACE_COLS: Column<TraceRow>[] = [
  { key: "start", label: "Start", render: (r) => fmtTime(nanosToMs(r.startTimeUnixNano)) },
  { key: "root", label: "Root span", render: (r) => <Link href={`/trace/${r.traceId}`}>{r.rootTraceName ?? r.traceId}</Link> },
  { key: "duration", label: "Duration", render: (r) => fmtDurationMs(r.durationMs), numeric: true },
  { key: "errors", label: "Errors", render: (r) => (r.errorCount > 0 ? <span class="bad">{r.errorCount}</span> : "0"), numeric: true },
  { key: "tokens", label: "Tokens", render: (r) => fmtInt(r.totalTokens), numeric: true },
  { key: "cost", label: "Cost", render: (r) => costLabel(r.costUsd, r.unpricedCalls, r.llmCalls, fmtCost), numeric: true },
];

function Detail({ id, fromList }: { id: string; fromList?: Conversation }) {
  const detail = useAsync(async (signal) => {
    if (fromList?.traces) return fromList;
    return getJson<Conversation>(`/sextant/api/v1/conversations/${encodeURIComponent(id)}`, signal);
  }, [id]);
  if (detail.error) return <ErrorNote error={detail.error} what={`Conversation ${id}`} />;
  if (!detail.data) return <Loading />;
  const traces = [...(detail.data.traces ?? [])].sort((a, b) => nanosToMs(a.startTimeUnixNano) - nanosToMs(b.startTimeUnixNano));
  return (
    <>
      <h2>
        Conversation <code>{id}</code>
      </h2>
      <Table label="Traces of the conversation" columns={TRACE_COLS} rows={traces} rowKey={(r) => r.traceId} onOpen={(r) => navigate(`/trace/${r.traceId}`)} />
    </>
  );
}

export function ConversationsPage() {
  const { query } = useLocation();
  const range = parseRange(query.get("range"), 86400);
  const sort = query.get("sort") ?? "-start";
  const selected = query.get("id") ?? "";
  const list = useAsync(
    async (signal) => {
      const end = nowSecs();
      const body = await optional<{ conversations?: Conversation[] }>(`/sextant/api/v1/conversations${qs({ start: end - range, end, limit: 200 })}`, signal);
      return body ? (body.conversations ?? []) : null;
    },
    [range],
  );
  return (
    <section>
      <h1>Conversations</h1>
      <div class="filters">
        <RangePicker secs={range} onChange={(r) => setQuery({ range: r })} />
      </div>
      {list.error ? (
        <ErrorNote error={list.error} what="Conversations" />
      ) : list.loading && list.data === undefined ? (
        <Loading />
      ) : list.data === null ? (
        <NotAvailable what="The conversations API" />
      ) : (
        <Table
          label="Conversations"
          columns={COLS}
          rows={list.data ?? []}
          rowKey={(c) => c.conversationId}
          sort={sort}
          onSort={(s) => setQuery({ sort: s })}
          onOpen={(c) => setQuery({ id: c.conversationId }, true)}
        />
      )}
      {selected && <Detail id={selected} fromList={list.data?.find((c) => c.conversationId === selected)} />}
    </section>
  );
}
