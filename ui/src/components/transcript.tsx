// A captured conversation as a chat transcript. Every value is rendered as text.
import type { Message, Part } from "../lib/genai";

function PartView({ part }: { part: Part }) {
  switch (part.type) {
    case "text":
      return <div class="msg-text">{part.content}</div>;
    case "tool_call":
      return (
        <div class="tool-call">
          <div class="tool-head">
            Tool call <b>{part.name}</b> {part.id && <code>{part.id}</code>}
          </div>
          <pre>{part.arguments}</pre>
        </div>
      );
    case "tool_call_response":
      return (
        <div class="tool-result">
          <div class="tool-head">Tool result {part.id && <code>{part.id}</code>}</div>
          <pre>{part.response}</pre>
        </div>
      );
    default:
      return <pre>{part.content}</pre>;
  }
}

export function Transcript({ messages }: { messages: Message[] }) {
  return (
    <ol class="transcript" data-testid="transcript">
      {messages.map((m) => (
        <li class={`msg role-${m.role.replace(/[^a-z]/gi, "")}`}>
          <div class="msg-role" title={m.source}>
            {m.role}
          </div>
          {m.parts.map((p) => (
            <PartView part={p} />
          ))}
        </li>
      ))}
    </ol>
  );
}
