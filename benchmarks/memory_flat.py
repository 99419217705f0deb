"""Does the client's memory stay flat over a long run? (issue: reliability, item 7)

Runs N requests (default 100,000) in closed loop against the scripted SSE server, records
streaming to a JSONL sink as in `bench run`, and samples this process's RSS every 0.5 s.
Prints RSS after warmup, the peak after warmup, and the growth between them.

Usage: python benchmarks/memory_flat.py [--requests 100000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import uvloop  # noqa: E402

from tokenbench.engines.http import HttpClient, Timeouts  # noqa: E402
from tokenbench.engines.openai import Api, GenerationParams, request_body  # noqa: E402
from tokenbench.envelope.io import RecordSink  # noqa: E402
from tokenbench.loadgen.control import RunControl  # noqa: E402
from tokenbench.loadgen.plan import closed_loop_plan  # noqa: E402
from tokenbench.loadgen.worker import WorkerContext, run_closed_loop  # noqa: E402
from tokenbench.metrics.summary import summarize  # noqa: E402
from tokenbench.records import iter_records  # noqa: E402
from tokenbench.urls import Endpoint  # noqa: E402

SERVER = ROOT / "src" / "tokenbench" / "reference" / "server.py"  # bench reference-server


async def run(port: int, requests: int, concurrency: int, raw: Path) -> dict[str, float]:
    proc = psutil.Process()
    samples: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async def sampler() -> None:
        while not stop.is_set():
            samples.append((time.monotonic(), proc.memory_info().rss))
            await asyncio.sleep(0.5)

    client = HttpClient(Endpoint.parse(f"http://127.0.0.1:{port}/v1"))
    body = request_body(GenerationParams(Api.CHAT, "ttft_ms=0;itl_ms=0;tokens=4"), "a b", 4)
    sink = RecordSink(raw)
    warm_rss: list[int] = []
    plan = closed_loop_plan(1, requests, 2000, concurrency)
    ctx = WorkerContext(0, client, Api.CHAT, [body], ["p"], Timeouts(30.0), time.perf_counter_ns(),
                        sink)  # fmt: skip
    t0 = time.monotonic()
    task = asyncio.create_task(sampler())
    try:
        await run_closed_loop(
            ctx,
            plan,
            RunControl(),
            on_measured_start=lambda: warm_rss.append(proc.memory_info().rss),
        )
    finally:
        stop.set()
        await task
        sink.close()
        await client.aclose()
    wall = time.monotonic() - t0
    after_warmup = [rss for _, rss in samples if rss][2:]  # skip start-up samples
    peak = max(after_warmup) if after_warmup else warm_rss[0]
    return {
        "requests": float(requests),
        "wall_s": wall,
        "rate_rps": requests / wall,
        "rss_after_warmup_mb": warm_rss[0] / 2**20,
        "rss_peak_mb": peak / 2**20,
        "growth_mb": (peak - warm_rss[0]) / 2**20,
        "samples": float(len(samples)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=64)
    args = p.parse_args()
    server = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)  # fmt: skip
    assert server.stdout is not None
    port = int(server.stdout.readline())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "run.records.jsonl"
            result = uvloop.run(run(port, args.requests, args.concurrency, raw))
            t = time.monotonic()
            m = summarize(iter_records(raw))
            result["summarize_s"] = time.monotonic() - t
            result["rss_after_summary_mb"] = psutil.Process().memory_info().rss / 2**20
            assert m.requests_measured == args.requests, m.requests_measured
            result["raw_mb"] = raw.stat().st_size / 2**20
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    for k, v in result.items():
        print(f"{k:>22}: {v:,.1f}")


if __name__ == "__main__":
    main()
