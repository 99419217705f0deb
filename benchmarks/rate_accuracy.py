"""Open-loop rate accuracy: achieved vs requested request rate, and schedule lag, up to where the
client saturates. Requests are tiny (2 tokens, no server delay) so the client is what is measured.

Usage: python benchmarks/rate_accuracy.py [--rates 10,100,500,1000,2000,4000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

from tokenbench.engines.http import HttpClient, Timeouts  # noqa: E402
from tokenbench.engines.openai import Api, GenerationParams, request_body  # noqa: E402
from tokenbench.loadgen.control import RunControl  # noqa: E402
from tokenbench.loadgen.plan import open_loop_plan  # noqa: E402
from tokenbench.loadgen.worker import WorkerContext, run_closed_loop  # noqa: E402
from tokenbench.metrics.summary import summarize  # noqa: E402
from tokenbench.records import RequestRecord  # noqa: E402
from tokenbench.urls import Endpoint  # noqa: E402

SERVER = ROOT / "src" / "tokenbench" / "reference" / "server.py"  # bench reference-server


async def measure_rate(port: int, rate: float, seconds: float) -> dict[str, float]:
    client = HttpClient(Endpoint.parse(f"http://127.0.0.1:{port}/v1"))
    body = request_body(GenerationParams(Api.CHAT, "ttft_ms=0;itl_ms=0;tokens=2"), "a", 2)
    records: list[RequestRecord] = []
    n = max(20, int(rate * seconds))
    plan = open_loop_plan(1, n, 20, rate, "constant", max_concurrency=4096)
    ctx = WorkerContext(0, client, Api.CHAT, [body], ["p"], Timeouts(30.0), time.perf_counter_ns(),
                        records.append)  # fmt: skip
    try:
        await run_closed_loop(ctx, plan, RunControl())
    finally:
        await client.aclose()
    m = summarize(records)
    lag = m.schedule_lag_ms
    return {
        "requested": rate,
        "achieved": m.send_rate_rps or 0.0,
        "lag_p50": lag.p50 if lag else float("nan"),
        "lag_p99": lag.p99 if lag else float("nan"),
        "errors": float(m.requests_failed),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rates", default="10,100,500,1000,2000,4000")
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args()
    pinned = len(os.sched_getaffinity(0)) >= 2
    prefix = ["taskset", "-c", "1"] if pinned else []
    if pinned:
        os.sched_setaffinity(0, {0})
    server = subprocess.Popen([*prefix, sys.executable, str(SERVER)], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)  # fmt: skip
    assert server.stdout is not None
    port = int(server.stdout.readline())
    rows = []
    try:
        for rate in (float(r) for r in args.rates.split(",")):
            rows.append(uvloop.run(measure_rate(port, rate, args.seconds)))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    print(f"constant arrivals, {args.seconds:g} s per rate, client and server pinned: {pinned}\n")
    print(
        "| requested req/s | achieved req/s | achieved / requested | schedule lag p50 | "
        "schedule lag p99 | errors |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['requested']:,.0f} | {r['achieved']:,.1f} | "
            f"{r['achieved'] / r['requested']:.1%} | {r['lag_p50']:.3f} ms | "
            f"{r['lag_p99']:.3f} ms | {r['errors']:.0f} |"
        )


if __name__ == "__main__":
    main()
