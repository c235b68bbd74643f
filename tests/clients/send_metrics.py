"""Sends metrics with the real OpenTelemetry Python SDK, as seed 001's app does: a counter, an
up-down counter, a histogram and a gauge, exported once over OTLP (http/protobuf or grpc).

Usage: send_metrics.py --protocol http/protobuf|grpc --endpoint http://127.0.0.1:4318
Prints one JSON line with what was recorded, for the test to compare against PromQL answers.
"""
import argparse
import json

from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", default="http/protobuf")
    ap.add_argument("--endpoint", required=True)
    args = ap.parse_args()
    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(endpoint=args.endpoint, insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(endpoint=args.endpoint.rstrip("/") + "/v1/metrics")
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    resource = Resource.create({"service.name": "ai-platform", "service.instance.id": "i-1"})
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = provider.get_meter("seed001")

    requests = meter.create_counter("ai_platform.requests", unit="1", description="requests")
    inflight = meter.create_up_down_counter("ai_platform.inflight", description="in flight")
    latency = meter.create_histogram("ai_platform.request.duration", unit="s")
    meter.create_observable_gauge(
        "ai_platform.queue.depth",
        callbacks=[lambda _: [Observation(7, {"queue": "default"})]],
    )
    for i in range(10):
        requests.add(1, {"model": "gpt-4o-mini" if i % 2 else "gpt-4o"})
    inflight.add(5)
    inflight.add(-2)
    for v in (0.1, 0.2, 0.4, 3.0):
        latency.record(v, {"model": "gpt-4o"})
    reader.force_flush()
    provider.shutdown()
    print(json.dumps({"requests": 10, "inflight": 3, "latency_count": 4, "latency_sum": 3.7, "queue": 7}))


if __name__ == "__main__":
    main()
