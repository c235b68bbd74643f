#!/usr/bin/env python3
"""Dumps the request template of the peers' load generator (../shared/bench/otlp_load.py) as JSON,
so Sextant's Rust load generator sends byte-identical bodies without reimplementing them.

    load_template.py OUT.json [--payload-bytes N] [--seed S]
Writes OUT.json (body in hex, offsets to patch) and, with --payload-bytes, OUT.json.pool (the
prose-like text pool the payload slices are taken from).
"""
import argparse
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "shared" / "bench"))
import otlp_load  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--traces-per-request", type=int, default=10)
    ap.add_argument("--payload-bytes", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    t = otlp_load.build_template(a.traces_per_request, seed=a.seed, payload_bytes=a.payload_bytes)
    doc = {
        "body": t.body.hex(),
        "trace_offs": t.trace_offs,
        "span_offs": t.span_offs,
        "ts_offs": t.ts_offs,
        "payload_offs": t.payload_offs,
        "payload_bytes": t.payload_bytes,
        "n_traces": t.n_traces,
        "n_spans": t.n_spans,
    }
    pathlib.Path(a.out).write_text(json.dumps(doc))
    if a.payload_bytes:
        pathlib.Path(a.out + ".pool").write_bytes(otlp_load.make_text_pool(16 << 20, a.seed))


if __name__ == "__main__":
    main()
