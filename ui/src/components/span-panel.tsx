// The side panel of the selected span: timing, status with exception events, the canonical
// GenAI fields, the captured conversation, and every attribute. All values render as text.
import type { Span, Value } from "../lib/otlp";
import { valueText } from "../lib/otlp";
import { genaiOf, isModelCall, transcript, type GenAi } from "../lib/genai";
import { fmtCost, fmtDurationMs, fmtInt, fmtTime } from "../lib/format";
import { Transcript } from "./transcript";
import { costSourceText, type SpanCost } from "../lib/api";

export type { SpanCost };

function Row({ k, v, testid }: { k: string; v: string; testid?: string }) {
  return (
    <tr>
      <th scope="row">{k}</th>
      <td data-testid={testid}>{v}</td>
    </tr>
  );
}

function costText(g: GenAi, server: SpanCost | undefined): { value: string; source: string } {
  const usd = server?.costUsd ?? g.costUsd;
  if (usd !== undefined && usd !== null) {
    const source = server?.costSource ?? g.costSource ?? (g.costUsd !== undefined ? "client-sent" : "");
    return { value: fmtCost(usd), source: costSourceText(source) };
  }
  if (!server) return { value: "–", source: "no cost recorded for this span" };
  return { value: "unpriced", source: server.unpricedReason ?? "no price matched" };
}

function GenAiFields({ g, server }: { g: GenAi; server?: SpanCost }) {
  const cost = costText(g, server);
  const model = g.responseModel && g.requestModel && g.responseModel !== g.requestModel ? `${g.requestModel} → ${g.responseModel}` : (g.responseModel ?? g.requestModel);
  return (
    <section class="panel-section" data-testid="genai-panel">
      <h3>GenAI</h3>
      <table class="kv">
        <tbody>
          {g.operation && <Row k="Operation" v={g.operation} testid="genai-operation" />}
          {model && <Row k="Model" v={model} testid="genai-model" />}
          {g.provider && <Row k="Provider" v={g.provider} testid="genai-provider" />}
          {g.agentName && <Row k="Agent" v={g.agentName} />}
          {g.toolName && <Row k="Tool" v={g.toolName} />}
          {g.inputTokens !== undefined && <Row k="Input tokens" v={fmtInt(g.inputTokens)} testid="genai-input-tokens" />}
          {g.outputTokens !== undefined && <Row k="Output tokens" v={fmtInt(g.outputTokens)} testid="genai-output-tokens" />}
          {g.cacheReadTokens !== undefined && <Row k="Cache read tokens" v={fmtInt(g.cacheReadTokens)} testid="genai-cache-read-tokens" />}
          {g.cacheWriteTokens !== undefined && <Row k="Cache write tokens" v={fmtInt(g.cacheWriteTokens)} />}
          {g.reasoningTokens !== undefined && <Row k="Reasoning tokens" v={fmtInt(g.reasoningTokens)} />}
          {(isModelCall(g) || g.costUsd !== undefined) && <Row k="Cost" v={cost.source ? `${cost.value} (${cost.source})` : cost.value} testid="genai-cost" />}
          {g.finishReasons && <Row k="Finish reason" v={g.finishReasons.join(", ")} testid="genai-finish" />}
          {g.timeToFirstChunkMs !== undefined && <Row k="Time to first chunk" v={fmtDurationMs(g.timeToFirstChunkMs)} />}
          {g.conversationId && <Row k="Conversation" v={g.conversationId} />}
          {g.userId && <Row k="User" v={g.userId} />}
        </tbody>
      </table>
    </section>
  );
}

function Attributes({ title, attrs, open = true }: { title: string; attrs: Map<string, Value>; open?: boolean }) {
  const keys = [...attrs.keys()].sort();
  return (
    <details class="panel-section" open={open}>
      <summary>
        {title} ({keys.length})
      </summary>
      <table class="kv attrs">
        <tbody>
          {keys.map((k) => (
            <tr>
              <th scope="row">{k}</th>
              <td>
                <span class="attr-value">{valueText(attrs.get(k))}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Events({ span, traceStart }: { span: Span; traceStart: number }) {
  if (span.events.length === 0) return null;
  return (
    <section class="panel-section">
      <h3>Events ({span.events.length})</h3>
      {span.events.map((e) => {
        const exception = e.name === "exception";
        return (
          <div class={`event ${exception ? "exception" : ""}`} data-testid={exception ? "exception" : "event"}>
            <div class="event-head">
              <b>{e.name}</b> <span class="muted">+{fmtDurationMs(e.timeMs - traceStart)}</span>
            </div>
            {exception && (
              <div class="exc">
                <b>{valueText(e.attrs.get("exception.type"))}</b>: {valueText(e.attrs.get("exception.message"))}
                {e.attrs.has("exception.stacktrace") && <pre>{valueText(e.attrs.get("exception.stacktrace"))}</pre>}
              </div>
            )}
            {!exception && <Attributes title="Attributes" attrs={e.attrs} open={false} />}
          </div>
        );
      })}
    </section>
  );
}

export function SpanPanel({ span, traceStart, cost }: { span: Span; traceStart: number; cost?: SpanCost }) {
  const g = genaiOf(span.attrs);
  const messages = transcript(span);
  return (
    <aside class="span-panel" aria-label="Span details" data-testid="span-panel">
      <h2 class="span-title">{span.name}</h2>
      <table class="kv">
        <tbody>
          <Row k="Service" v={span.service} />
          <Row k="Span id" v={span.id} testid="span-id" />
          <Row k="Kind" v={span.kind} />
          <Row k="Start" v={`${fmtTime(span.startMs)} (+${fmtDurationMs(span.startMs - traceStart)})`} />
          <Row k="Duration" v={fmtDurationMs(span.durationMs)} />
          <Row k="Status" v={span.error ? `error${span.statusMessage ? `: ${span.statusMessage}` : ""}` : "ok"} />
          {span.scope && <Row k="Scope" v={span.scope} />}
        </tbody>
      </table>
      {g && <GenAiFields g={g} server={cost} />}
      <Events span={span} traceStart={traceStart} />
      {messages.length > 0 && (
        <section class="panel-section">
          <h3>Conversation</h3>
          <Transcript messages={messages} />
        </section>
      )}
      <Attributes title="Attributes" attrs={span.attrs} />
      <Attributes title="Resource" attrs={span.resource} open={false} />
    </aside>
  );
}
