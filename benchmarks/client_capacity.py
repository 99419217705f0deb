"""How many streams, and how many chunks a second, can 1, 2 and 4 worker processes follow
before their TTFT error passes 1 ms?

The scripted SSE server logs the monotonic time of every chunk it writes; on one machine that
is the clock the workers read. Each worker reports its monotonic anchor, so a record's arrival
times become absolute and TTFT error = (first arrival − server's first write) per request: how
late the client noticed the first token. For each worker count, the stream count doubles until
the p99 error passes the threshold; the last passing count and its chunk rate are reported.

Usage: python benchmarks/client_capacity.py [--workers 1,2,4] [--streams 16,32,64,128,256,512]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import uvloop  # noqa: E402

from measurement_accuracy import server_truth, start_server  # noqa: E402
from tokenbench.engines.http import Timeouts  # noqa: E402
from tokenbench.engines.openai import Api, GenerationParams, request_body  # noqa: E402
from tokenbench.loadgen.control import RunControl  # noqa: E402
from tokenbench.loadgen.plan import closed_loop_plan, split  # noqa: E402
from tokenbench.loadgen.pool import PoolJob, ProcessWorker, run_pool  # noqa: E402
from tokenbench.metrics.stats import percentile  # noqa: E402
from tokenbench.records import RequestRecord  # noqa: E402


async def point(workers: int, streams: int, rounds: int, scenario: str, server_procs: int
                ) -> dict[str, float]:  # fmt: skip
    requests = max(streams * rounds, 40)
    n = requests + streams
    body = request_body(GenerationParams(Api.CHAT, scenario), "a b c d", 4096)
    plan = closed_loop_plan(n, requests, streams, streams)
    records: list[RequestRecord] = []
    with tempfile.TemporaryDirectory() as tmp:
        log_prefix = Path(tmp) / "truth"
        proc, port = start_server(log_prefix, None, server_procs)
        try:
            wall_anchor = time.time_ns()
            result = await run_pool(
                lambda _i: ProcessWorker(), split(plan, workers),
                PoolJob(f"http://127.0.0.1:{port}/v1", None, Api.CHAT, [body] * n, ["p"] * n,
                        Timeouts(60.0), 0, wall_anchor),
                RunControl(), records.append,
            )  # fmt: skip
            await asyncio.sleep(0.3)
            truth = server_truth(log_prefix)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
    anchors = {w.worker_id: w.anchor_mono_ns for w in result.workers}
    errors = []
    chunks = 0
    for r in records:
        if r.warmup or not r.ok or r.response_id not in truth or r.first_token_ns is None:
            continue
        anchor = anchors[r.worker]
        assert anchor is not None
        errors.append((r.first_token_ns + anchor - truth[r.response_id][0]) / 1e6)
        chunks += len(r.chunk_ns)
    errors.sort()
    measured = [r for r in records if r.measured and r.send_ns is not None and r.end_ns]
    # the measured window on the coordinator's timeline (worker start-up excluded)
    wall = (max(r.end_ns or 0 for r in measured) - min(r.send_ns or 0 for r in measured)) / 1e9
    return {"workers": workers, "streams": streams, "requests": len(errors),
            "ttft_err_p50_ms": percentile(errors, 50), "ttft_err_p99_ms": percentile(errors, 99),
            "chunks_per_s": chunks / wall}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--streams", default="16,32,64,128,256,512")
    p.add_argument("--threshold-ms", type=float, default=1.0)
    p.add_argument("--ttft-ms", type=float, default=50.0)
    p.add_argument("--itl-ms", type=float, default=10.0)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--rounds", type=int, default=2, help="requests per stream")
    p.add_argument("--server-procs", type=int, default=1, help="scripted server processes")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    scenario = f"ttft_ms={args.ttft_ms};itl_ms={args.itl_ms};tokens={args.tokens}"
    rows = []
    best: dict[int, dict[str, float] | None] = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        best[workers] = None
        for streams in [int(s) for s in args.streams.split(",")]:
            if streams < workers:
                continue
            row = uvloop.run(point(workers, streams, args.rounds, scenario, args.server_procs))
            rows.append(row)
            print(f"done: {workers} workers, {streams} streams: p99 "
                  f"{row['ttft_err_p99_ms']:.3f} ms", file=sys.stderr)  # fmt: skip
            if row["ttft_err_p99_ms"] > args.threshold_ms:
                break
            best[workers] = row
    if args.json:
        print(json.dumps({"rows": rows, "best": best}, indent=2))
        return
    print(f"scenario: TTFT {args.ttft_ms:g} ms, ITL {args.itl_ms:g} ms, {args.tokens} tokens; "
          f"{os.cpu_count()} CPUs shared by the server ({args.server_procs} process(es)), the "
          "coordinator and the workers\n")  # fmt: skip
    print("| workers | streams | requests | chunks/s | TTFT err p50 | TTFT err p99 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['workers']} | {r['streams']} | {r['requests']} | {r['chunks_per_s']:,.0f} | "
              f"{r['ttft_err_p50_ms']:.3f} ms | {r['ttft_err_p99_ms']:.3f} ms |")  # fmt: skip
    print(f"\nhighest stream count with TTFT error p99 ≤ {args.threshold_ms:g} ms:")
    for workers, row in best.items():
        if row is None:
            print(f"- {workers} workers: none of the tried counts")
        else:
            print(f"- {workers} workers: {row['streams']:g} streams, "
                  f"{row['chunks_per_s']:,.0f} chunks/s")  # fmt: skip


if __name__ == "__main__":
    main()
