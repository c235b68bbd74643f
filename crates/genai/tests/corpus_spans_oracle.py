#!/usr/bin/env python3
"""Drafts `corpus_spans.json`: the canonical GenAI fields of every span of every
`../shared/corpus/<lib>/*.traces.pb` (read through its `.json` twin), and each trace's totals.

This is an independent, deliberately plain reading of the payloads, written per library from
`../shared/corpus/ATTRIBUTES.md` and the price list, *not* from `src/rules.rs`: which key each
library uses for each fact, and the per-token prices of the three models the corpus calls, typed
in by hand from `../shared/data/genai-prices/data.json`. The Rust test then checks `normalize` +
`price` + `TraceTotals` against the file; every disagreement found while drafting was settled by
reading the payload (see the report of the commit that added this file).

Run from the repository root: `python3 crates/genai/tests/corpus_spans_oracle.py`.
"""

import base64
import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "../../../../shared/corpus"))

# USD per million tokens (input, cache read, output), from genai-prices data.json (openai).
PRICES = {
    "gpt-4o-mini": (0.15, 0.075, 0.6),
    "gpt-4o": (2.5, 1.25, 10.0),
    "text-embedding-3-small": (0.02, None, 0.0),
}
# Dated snapshots the fake server answers with, and what the catalog entry is called.
SNAPSHOT = {"gpt-4o-mini-2024-07-18": "gpt-4o-mini"}

# Client-sent cost keys, per library.
CLIENT_COST = ["gen_ai.cost_usd", "gen_ai.usage.cost", "operation.cost", "ajolopy.cost_usd.total"]
OI_KIND = {"LLM": "chat", "EMBEDDING": "embeddings", "TOOL": "execute_tool", "AGENT": "invoke_agent",
           "CHAIN": "workflow"}
MODEL_CALLS = {"chat", "embeddings", "text_completion", "generate_content"}


def val(v):
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return v["boolValue"]
    if "arrayValue" in v:
        return [val(x) for x in v["arrayValue"].get("values", [])]
    return None


def first(a, *keys):
    for k in keys:
        if k in a and a[k] not in (None, ""):
            return a[k]
    return None


def read_span(span, scope):
    a = {kv["key"]: val(kv["value"]) for kv in span.get("attributes", [])}
    name = span["name"]
    op = a.get("gen_ai.operation.name")
    kind = a.get("openinference.span.kind")
    if op is None and kind:
        op = OI_KIND.get(kind.upper())
    if op is None and ("ajolopy.agent.name" in a or "agent.name" in a):
        op = "invoke_agent"
    if op is None and scope == "openlit" and "function.args" in a:
        op = "execute_tool"  # @openlit.trace
    if op is None and "gen_ai.tool.call.id" in a:
        op = "execute_tool"  # ajolopy tool span
    agent = first(a, "gen_ai.agent.name", "ajolopy.agent.name", "agent.name")
    if agent is None and kind == "AGENT":
        agent = name
    tool = first(a, "gen_ai.tool.name", "tool.name")
    if tool is None and (kind == "TOOL" or (scope == "openlit" and "function.args" in a)):
        tool = name
    req_model = a.get("gen_ai.request.model")
    if req_model is None and "llm.invocation_parameters" in a:
        req_model = json.loads(a["llm.invocation_parameters"]).get("model")
    out = {
        "name": name,
        "operation": op,
        "provider": first(a, "gen_ai.provider.name", "gen_ai.system", "llm.system"),
        "request_model": req_model,
        "response_model": first(a, "gen_ai.response.model", "llm.model_name", "embedding.model_name"),
        "agent_name": agent,
        "tool_name": tool,
        "tool_call_id": a.get("gen_ai.tool.call.id"),
        "conversation_id": first(a, "gen_ai.conversation.id", "session.id"),
        "user_id": a.get("user.id"),
        "input_tokens": first(a, "gen_ai.usage.input_tokens", "llm.token_count.prompt"),
        "output_tokens": first(a, "gen_ai.usage.output_tokens", "llm.token_count.completion"),
        "cache_read_tokens": first(a, "gen_ai.usage.cache_read.input_tokens",
                                   "llm.token_count.prompt_details.cache_read",
                                   "gen_ai.usage.details.cache_read_tokens"),
        "cache_write_tokens": a.get("gen_ai.usage.cache_creation.input_tokens"),
        "reasoning_tokens": first(a, "gen_ai.usage.reasoning_tokens",
                                  "llm.token_count.completion_details.reasoning",
                                  "gen_ai.usage.details.reasoning_tokens"),
        "error": span.get("status", {}).get("code") == "STATUS_CODE_ERROR",
        "cost_usd": None,
        "cost_source": None,
    }
    client = [k for k in CLIENT_COST if isinstance(a.get(k), (int, float))]
    if client:
        out["cost_usd"] = float(a[client[0]])
        out["cost_source"] = "client:" + client[0]
    usage = any(out[k] is not None for k in ("input_tokens", "output_tokens", "cache_read_tokens"))
    if op in MODEL_CALLS and usage and out["cost_usd"] is None:
        model = out["response_model"] or out["request_model"]
        entry = SNAPSHOT.get(model, model)
        if entry not in PRICES:
            raise SystemExit(f"no price for {entry!r}: {name} {a}")
        inp, cached, outp = PRICES[entry]
        n_in = out["input_tokens"] or 0
        n_cached = out["cache_read_tokens"] or 0
        cost = (n_in - n_cached) * inp + n_cached * (cached if cached is not None else inp)
        cost += (out["output_tokens"] or 0) * outp
        out["cost_usd"] = cost / 1e6
        out["cost_source"] = "catalog:openai/" + entry
    return out, op in MODEL_CALLS, op == "execute_tool"


def main():
    entries = []
    for pb in sorted(glob.glob(f"{CORPUS}/*/*.traces.pb")):
        twin = pb[: -len(".pb")] + ".json"
        doc = json.load(open(twin))
        spans, traces = [], {}
        for rs in doc.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                scope = ss.get("scope", {}).get("name", "")
                for s in ss.get("spans", []):
                    e, is_call, is_tool = read_span(s, scope)
                    spans.append({k: v for k, v in e.items() if v is not None and v is not False})
                    tid = base64.b64decode(s["traceId"]).hex()
                    t = traces.setdefault(tid, {"trace_id": tid, "input_tokens": 0, "output_tokens": 0,
                                                "cache_read_tokens": 0, "llm_calls": 0, "tool_calls": 0,
                                                "cost_usd": 0.0, "agents": set()})
                    if e["agent_name"]:
                        t["agents"].add(e["agent_name"])
                    if is_tool:
                        t["tool_calls"] += 1
                    if is_call:
                        t["llm_calls"] += 1
                        for k in ("input_tokens", "output_tokens", "cache_read_tokens"):
                            t[k] += e[k] or 0
                        t["cost_usd"] += e["cost_usd"] or 0.0
        for t in traces.values():
            t["agents"] = sorted(t["agents"])
            t["cost_usd"] = round(t["cost_usd"], 15)
        entries.append({"file": os.path.relpath(pb, CORPUS), "spans": spans,
                        "traces": sorted(traces.values(), key=lambda t: t["trace_id"])})
    with open(os.path.join(HERE, "corpus_spans.json"), "w") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(e, separators=(", ", ": ")) for e in entries))
        f.write("\n]\n")


if __name__ == "__main__":
    main()
