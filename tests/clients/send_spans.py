#!/usr/bin/env python3
"""Send synthetic GenAI-agent traces to a Sextant server with the real OpenTelemetry Python SDK.

Used by Sextant's end-to-end tests (run with the venv built from requirements.txt next to this file):

    send_spans.py --protocol {http/protobuf,http/json,grpc} --endpoint URL
                  --traces N --spans-per-trace M --tag STRING
                  [--compression {none,gzip}] [--service NAME] [--tenant ID]

Protocols
    http/protobuf  the SDK's own OTLPSpanExporter (opentelemetry-exporter-otlp-proto-http),
                   POST URL/v1/traces
    grpc           the SDK's own OTLPSpanExporter (opentelemetry-exporter-otlp-proto-grpc),
                   insecure channel to URL
    http/json      OtlpJsonHttpSpanExporter below. The Python SDK has no stable OTLP/JSON trace
                   exporter (only the beta opentelemetry-exporter-otlp-json-http, whose newest
                   release cannot be installed next to the 1.45.2 packages pinned here), so this
                   one builds the ExportTraceServiceRequest with the SDK's own encoder
                   (opentelemetry.exporter.otlp.proto.common.trace_encoder.encode_spans),
                   converts it to the OTLP/JSON mapping (lowerCamelCase keys, hex trace/span ids,
                   enums as integers, 64-bit integers as strings) and POSTs it to URL/v1/traces.

With --tenant the tenant is sent as `X-Scope-OrgID` (HTTP header; `x-scope-orgid` gRPC metadata,
which must be lowercase).

Each trace is one agent invocation, M spans in all:
    invoke_agent demo-agent            (root, INTERNAL)
      chat gpt-4o-mini                 (CLIENT)       span index 1, 4, 7, ...
      execute_tool get_weather         (INTERNAL)     span index 2, 5, 8, ...
        GET                            (CLIENT)       span index 3, 6, 9, ... (grandchild)
Every span carries attributes of each type (string, int, double, bool, string array, int array)
including test.tag=<tag>; the root and chat spans carry gen_ai.request.model and
gen_ai.usage.input_tokens (int). Per trace, exactly one span has status ERROR and an "exception"
event (the first chat span, or the root when M == 1), and the last span has a link to the root of
the previous trace (to its own root in the first trace; no link when M == 1 in the first trace).
Resource: service.name=<service> (default e2e-client), test.tag=<tag>, plus what the SDK adds
(telemetry.sdk.*, a random service.instance.id, OTEL_RESOURCE_ATTRIBUTES).

Output: when every span was exported and every export returned SUCCESS, exactly one line of JSON
on stdout describing what was sent, built from the SDK's own span objects:
    {"spans": [{"trace_id": hex32, "span_id": hex16, "parent_span_id": hex16 or "",
                "name": str, "kind": OTLP SpanKind int (1 INTERNAL, 2 SERVER, 3 CLIENT, ...),
                "status_code": OTLP StatusCode int (0 UNSET, 1 OK, 2 ERROR), "status_message": str,
                "start_time_unix_nano": int, "end_time_unix_nano": int,
                "attributes": {key: value}, "resource": {key: value},
                "events": [name, ...], "links": int}, ...]}
Spans are ordered by trace, then span index. Diagnostics go to stderr. Exit status 1 (and nothing
on stdout) if any export failed or any span was not exported.

The exporters connect directly to URL: HTTP(S)_PROXY / grpc_proxy environment variables are ignored.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import json
import logging
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.sdk.version import __version__ as SDK_VERSION
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, set_span_in_context

PROTOCOLS = ("http/protobuf", "http/json", "grpc")
MODEL = "gpt-4o-mini"
TENANT_HEADER = "X-Scope-OrgID"

# opentelemetry.trace.SpanKind -> OTLP Span.SpanKind (the SDK enum has no UNSPECIFIED, so it is off by one).
OTLP_SPAN_KIND = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
# opentelemetry.trace.StatusCode -> OTLP Status.StatusCode (same numbers, spelled out for clarity).
OTLP_STATUS_CODE = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}

log = logging.getLogger("send_spans")


# --------------------------------------------------------------------------------------------------
# OTLP/JSON exporter
# --------------------------------------------------------------------------------------------------

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _ids_to_hex(obj):
    """proto3 JSON writes bytes as base64; OTLP/JSON wants trace/span ids as lowercase hex."""
    if isinstance(obj, dict):
        return {
            k: (base64.b64decode(v).hex() if k in _ID_KEYS and isinstance(v, str) else _ids_to_hex(v))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_ids_to_hex(v) for v in obj]
    return obj


def encode_otlp_json(spans: Sequence[ReadableSpan]) -> dict:
    """ExportTraceServiceRequest for `spans` in the OTLP/JSON mapping, as a dict."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    request = encode_spans(spans)
    as_dict = MessageToDict(
        request,
        preserving_proto_field_name=False,  # lowerCamelCase keys, as OTLP/JSON requires
        use_integers_for_enums=True,  # OTLP/JSON: enums are integers (kind, status.code)
    )
    # int64/uint64/fixed64 (timestamps, intValue) stay JSON strings, which OTLP/JSON allows.
    # AnyValue.bytesValue stays base64, as OTLP/JSON requires; only ids become hex.
    return _ids_to_hex(as_dict)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a successful export: surface 3xx as an HTTPError."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class OtlpJsonHttpSpanExporter(SpanExporter):
    """OTLP/HTTP exporter with JSON bodies (Content-Type: application/json), driven by any SpanProcessor.

    One POST per export() call, no retries: any non-2xx status, transport error or partial-success
    rejection is logged and reported as SpanExportResult.FAILURE.
    """

    def __init__(self, endpoint: str, headers: dict[str, str] | None = None,
                 compression: str = "none", timeout: float = 10.0):
        if compression not in ("none", "gzip"):
            raise ValueError(f"unsupported compression {compression!r}")
        self._endpoint = endpoint
        self._headers = dict(headers or {})
        self._compression = compression
        self._timeout = timeout
        self._shutdown = False
        # Direct connection (no proxy from the environment), no redirects.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            log.error("OTLP/JSON exporter already shut down, dropping %d spans", len(spans))
            return SpanExportResult.FAILURE
        try:
            body = json.dumps(encode_otlp_json(spans), separators=(",", ":")).encode("utf-8")
        except Exception:  # encoding bug: report it, the processor only sees FAILURE
            log.exception("OTLP/JSON encoding of %d spans failed", len(spans))
            return SpanExportResult.FAILURE
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"sextant-e2e-otlp-json/{SDK_VERSION} (OpenTelemetry Python SDK)",
            **self._headers,
        }
        if self._compression == "gzip":
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        request = urllib.request.Request(self._endpoint, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                status = response.status
                payload = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read()[:1000].decode("utf-8", "replace")
            log.error("OTLP/JSON export to %s failed: HTTP %s %s: %s", self._endpoint, err.code, err.reason, detail)
            return SpanExportResult.FAILURE
        except (urllib.error.URLError, OSError) as err:
            log.error("OTLP/JSON export to %s failed: %s", self._endpoint, err)
            return SpanExportResult.FAILURE
        if not 200 <= status < 300:
            log.error("OTLP/JSON export to %s failed: HTTP %s", self._endpoint, status)
            return SpanExportResult.FAILURE
        return self._check_partial_success(payload)

    def _check_partial_success(self, payload: bytes) -> SpanExportResult:
        """ExportTraceServiceResponse.partialSuccess.rejectedSpans > 0 counts as a failure."""
        if not payload.strip():
            return SpanExportResult.SUCCESS
        try:
            reply = json.loads(payload)
        except ValueError:
            log.error("OTLP/JSON export to %s: 2xx reply is not JSON: %r", self._endpoint, payload[:200])
            return SpanExportResult.FAILURE
        partial = (reply.get("partialSuccess") or {}) if isinstance(reply, dict) else {}
        rejected = int(partial.get("rejectedSpans") or 0)
        if rejected:
            log.error("OTLP/JSON export to %s: server rejected %d spans: %s",
                      self._endpoint, rejected, partial.get("errorMessage", ""))
            return SpanExportResult.FAILURE
        if partial.get("errorMessage"):
            log.warning("OTLP/JSON export to %s: server warning: %s", self._endpoint, partial["errorMessage"])
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is buffered here


# --------------------------------------------------------------------------------------------------
# Exporter selection and result capture
# --------------------------------------------------------------------------------------------------

class RecordingExporter(SpanExporter):
    """Delegates to the real exporter and records every result, so the caller can insist on SUCCESS.

    Span processors swallow export failures (they only log them); this wrapper keeps the spans whose
    export succeeded and counts the ones that failed.
    """

    def __init__(self, inner: SpanExporter):
        self.inner = inner
        self.exported: list[ReadableSpan] = []
        self.export_calls = 0
        self.failed_calls = 0
        self.failed_spans = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:
            log.exception("%s.export raised", type(self.inner).__name__)
            result = SpanExportResult.FAILURE
        with self._lock:
            self.export_calls += 1
            if result == SpanExportResult.SUCCESS:
                self.exported.extend(spans)
            else:
                self.failed_calls += 1
                self.failed_spans += len(spans)
                log.error("export of %d spans returned %s", len(spans), result)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def build_exporter(args) -> SpanExporter:
    base = args.endpoint.rstrip("/")
    gzip_on = args.compression == "gzip"
    if args.protocol == "http/protobuf":
        import requests
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        session = requests.Session()
        session.trust_env = False  # no proxies / netrc from the environment
        return OTLPSpanExporter(
            endpoint=base + "/v1/traces",
            headers={TENANT_HEADER: args.tenant} if args.tenant else None,
            compression=Compression.Gzip if gzip_on else Compression.NoCompression,
            timeout=args.timeout,
            session=session,
        )
    if args.protocol == "grpc":
        import grpc
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(
            endpoint=base,
            insecure=True,
            headers=((TENANT_HEADER.lower(), args.tenant),) if args.tenant else None,
            compression=grpc.Compression.Gzip if gzip_on else grpc.Compression.NoCompression,
            timeout=args.timeout,
            channel_options=(("grpc.enable_http_proxy", 0),),
        )
    return OtlpJsonHttpSpanExporter(
        endpoint=base + "/v1/traces",
        headers={TENANT_HEADER: args.tenant} if args.tenant else None,
        compression=args.compression,
        timeout=args.timeout,
    )


# --------------------------------------------------------------------------------------------------
# The traces
# --------------------------------------------------------------------------------------------------

def common_attributes(tag: str, k: int, i: int) -> dict:
    """One attribute of every OTLP scalar/array type, on every span."""
    return {
        "test.tag": tag,                                   # string
        "test.trace_index": k,                             # int
        "test.span_index": i,                              # int
        "test.weight": i + 0.25 + (k % 7) / 10,            # double (never integral)
        "test.is_root": i == 0,                            # bool
        "test.labels": ("e2e", f"trace-{k}", f"span-{i}"),  # string array
        "test.numbers": (k, i, k * 1000 + i),              # int array
    }


def span_spec(k: int, i: int) -> tuple[str, SpanKind, dict]:
    """(name, kind, type-specific attributes) of span i (i >= 1) of trace k."""
    if i % 3 == 1:
        return f"chat {MODEL}", SpanKind.CLIENT, {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": MODEL,
            "gen_ai.response.model": MODEL + "-2024-07-18",
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.max_tokens": 256,
            "gen_ai.usage.input_tokens": 100 + 10 * k + i,
            "gen_ai.usage.output_tokens": 20 + i,
            "gen_ai.response.finish_reasons": ("stop",),
            "server.address": "api.openai.example",
            "server.port": 443,
        }
    if i % 3 == 2:
        return "execute_tool get_weather", SpanKind.INTERNAL, {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.type": "function",
            "gen_ai.tool.call.id": f"call_{k}_{i}",
        }
    return "GET", SpanKind.CLIENT, {
        "http.request.method": "GET",
        "url.full": "https://weather.example/v1/current?city=Paris",
        "http.response.status_code": 200,
        "server.address": "weather.example",
        "server.port": 443,
    }


def emit_trace(tracer, tag: str, k: int, m: int, previous_root):
    """Create and end the m spans of trace k; returns the root span (for the next trace's link)."""
    error_index = 1 if m > 1 else 0
    link_index = m - 1

    def start(name, kind, attributes, i, parent):
        links = []
        target = previous_root if previous_root is not None else (root_holder[0] if i > 0 else None)
        if i == link_index and target is not None:
            links.append(Link(target.get_span_context(), {"link.reason": "previous agent turn",
                                                          "test.tag": tag}))
        return tracer.start_span(name, context=set_span_in_context(parent) if parent else None,
                                 kind=kind, attributes=attributes, links=links)

    def finish(span, i):
        if i == error_index:
            try:
                raise RuntimeError(f"simulated upstream failure (HTTP 500) in trace {k}")
            except RuntimeError as exc:
                span.record_exception(exc, attributes={"test.tag": tag})
                span.set_attribute("error.type", "500")
                span.set_status(Status(StatusCode.ERROR, str(exc)))
        span.end()

    root_holder = [None]
    root_attrs = {
        **common_attributes(tag, k, 0),
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "demo-agent",
        "gen_ai.agent.id": f"agent-{k}",
        "gen_ai.request.model": MODEL,
        "gen_ai.usage.input_tokens": 1000 + k,
        "test.unicode": "héllo wörld ✓ 日本",
        "test.big_int": 2**62 + k,
    }
    root = start("invoke_agent demo-agent", SpanKind.INTERNAL, root_attrs, 0, None)
    root_holder[0] = root
    root.add_event("gen_ai.agent.plan", {"step.count": m - 1, "test.tag": tag})

    i = 1
    while i < m:
        name, kind, attrs = span_spec(k, i)
        child = start(name, kind, {**common_attributes(tag, k, i), **attrs}, i, root)
        if kind == SpanKind.CLIENT and i != error_index:
            child.add_event("gen_ai.choice", {"index": 0, "finish_reason": "stop"})
        # A grandchild under each execute_tool span, while it is still open.
        if i + 1 < m and (i + 1) % 3 == 0:
            g_name, g_kind, g_attrs = span_spec(k, i + 1)
            grandchild = start(g_name, g_kind, {**common_attributes(tag, k, i + 1), **g_attrs}, i + 1, child)
            finish(grandchild, i + 1)
            finish(child, i)
            i += 2
        else:
            finish(child, i)
            i += 1
    finish(root, 0)
    return root


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------

def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def describe(span: ReadableSpan) -> dict:
    ctx = span.get_span_context()
    return {
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_span_id": format(span.parent.span_id, "016x") if span.parent else "",
        "name": span.name,
        "kind": OTLP_SPAN_KIND[span.kind],
        "status_code": OTLP_STATUS_CODE[span.status.status_code],
        "status_message": span.status.description or "",
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "attributes": {k: _jsonable(v) for k, v in (span.attributes or {}).items()},
        "resource": {k: _jsonable(v) for k, v in span.resource.attributes.items()},
        "events": [event.name for event in span.events],
        "links": len(span.links),
    }


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--protocol", required=True, choices=PROTOCOLS)
    ap.add_argument("--endpoint", required=True,
                    help="server base URL, e.g. http://127.0.0.1:4318 (HTTP) or http://127.0.0.1:4317 (gRPC)")
    ap.add_argument("--traces", required=True, type=int, metavar="N")
    ap.add_argument("--spans-per-trace", required=True, type=int, metavar="M")
    ap.add_argument("--tag", required=True, help="value of the test.tag span and resource attribute")
    ap.add_argument("--compression", choices=("none", "gzip"), default="none")
    ap.add_argument("--service", default="e2e-client", help="service.name (default: %(default)s)")
    ap.add_argument("--tenant", help=f"send {TENANT_HEADER}: TENANT")
    ap.add_argument("--processor", choices=("batch", "simple"), default="batch",
                    help="SDK span processor (default: %(default)s; simple = one export per span)")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-export timeout, seconds")
    args = ap.parse_args(argv)
    if args.traces < 1 or args.spans_per_trace < 1:
        ap.error("--traces and --spans-per-trace must be >= 1")
    if not args.endpoint.startswith(("http://", "https://")):
        ap.error("--endpoint must be an http:// or https:// URL")
    return args


def main(argv=None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="send_spans: %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    expected = args.traces * args.spans_per_trace

    recorder = RecordingExporter(build_exporter(args))
    if args.processor == "batch":
        processor = BatchSpanProcessor(recorder, max_queue_size=max(2048, expected), max_export_batch_size=512)
    else:
        processor = SimpleSpanProcessor(recorder)
    resource = Resource.create({"service.name": args.service, "test.tag": args.tag})
    provider = TracerProvider(resource=resource, sampler=ALWAYS_ON)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("sextant-e2e", "1.0.0")

    previous_root = None
    for k in range(args.traces):
        previous_root = emit_trace(tracer, args.tag, k, args.spans_per_trace, previous_root)

    flushed = provider.force_flush(timeout_millis=int(args.timeout * 1000 * 3))
    provider.shutdown()

    exported = recorder.exported
    ok = flushed and recorder.failed_calls == 0 and len(exported) == expected
    print(f"send_spans: {args.protocol} -> {args.endpoint}: {len(exported)}/{expected} spans exported in "
          f"{recorder.export_calls} export calls ({recorder.failed_calls} failed, {recorder.failed_spans} spans)"
          f"{'' if flushed else ', force_flush timed out'}", file=sys.stderr)
    if not ok:
        print("send_spans: FAILED", file=sys.stderr)
        return 1
    exported.sort(key=lambda s: (s.attributes["test.trace_index"], s.attributes["test.span_index"]))
    print(json.dumps({"spans": [describe(s) for s in exported]}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
