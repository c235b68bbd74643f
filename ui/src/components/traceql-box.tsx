// The TraceQL input, with tag and value suggestions from the Tempo search-tags API when the
// server has it (it stays a plain input otherwise).
import { useEffect, useState } from "preact/hooks";
import { optional } from "../lib/api";
import { useAsync } from "../lib/hooks";

interface TagsV2 {
  scopes?: { name: string; tags?: string[] }[];
}

async function loadTags(signal: AbortSignal): Promise<string[] | null> {
  const v2 = await optional<TagsV2>("/api/v2/search/tags", signal);
  if (v2?.scopes) {
    return v2.scopes.flatMap((s) => (s.tags ?? []).map((t) => (s.name === "intrinsic" ? t : `${s.name}.${t}`)));
  }
  const v1 = await optional<{ tagNames?: string[] }>("/api/search/tags", signal);
  return v1?.tagNames?.map((t) => `.${t}`) ?? null;
}

/** The word being typed at the end of the query, and what comes before it. */
function lastToken(q: string): { head: string; token: string; tagBefore?: string } {
  const m = /^(.*?)([\w.:"-]*)$/s.exec(q);
  const head = m?.[1] ?? q;
  const token = m?.[2] ?? "";
  const tag = /([\w.]+)\s*(=|!=|=~)\s*$/.exec(head)?.[1];
  return { head, token, tagBefore: tag };
}

export function TraceQLBox({ value, onSubmit }: { value: string; onSubmit: (q: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const tags = useAsync(loadTags, []);
  const { head, token, tagBefore } = lastToken(text);
  const values = useAsync(
    async (signal) => {
      if (!tagBefore) return null;
      const body = await optional<{ tagValues?: ({ type?: string; value?: string } | string)[] }>(
        `/api/v2/search/tag/${encodeURIComponent(tagBefore)}/values`,
        signal,
      );
      return (body?.tagValues ?? []).map((v) => (typeof v === "string" ? JSON.stringify(v) : v.type === "string" ? JSON.stringify(v.value ?? "") : String(v.value ?? "")));
    },
    [tagBefore],
  );
  const pool = tagBefore ? (values.data ?? []) : (tags.data ?? []);
  const suggestions = token || tagBefore ? pool.filter((s) => s.startsWith(token) && s !== token).slice(0, 8) : [];
  const available = tags.data !== null && tags.data !== undefined;
  return (
    <form
      class="traceql"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(text.trim());
      }}
    >
      <label class="field grow">
        <span>TraceQL</span>
        <input
          value={text}
          spellcheck={false}
          autocomplete="off"
          placeholder='{ span.gen_ai.request.model = "gpt-4o" && duration > 2s }'
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
          data-testid="traceql-input"
        />
      </label>
      <button type="submit">Search</button>
      {value && (
        <button type="button" class="secondary" onClick={() => onSubmit("")}>
          Clear
        </button>
      )}
      {suggestions.length > 0 && (
        <div class="suggestions" role="listbox" aria-label="Suggestions">
          {suggestions.map((s) => (
            <button type="button" class="chip" role="option" onClick={() => setText(head + s + " ")}>
              {s}
            </button>
          ))}
        </div>
      )}
      {!tags.loading && !available && <span class="hint muted">tag suggestions not available yet</span>}
    </form>
  );
}
