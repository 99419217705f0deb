"""tokenbench's own measurement of the same scenario: its closed loop (`loadgen.worker`) and
HTTP client against the reference server, summarised as `bench run` summarises a point."""

from __future__ import annotations

import asyncio
import time

from tokenbench.conformance.figures import Figures, Stat
from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.openai import Api, GenerationParams, request_body
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.plan import closed_loop_plan
from tokenbench.loadgen.worker import WorkerContext, run_closed_loop
from tokenbench.metrics.stats import Distribution
from tokenbench.metrics.summary import summarize
from tokenbench.records import RequestRecord
from tokenbench.urls import Endpoint

PROMPT = "Say something about the weather today."


def _stat(d: Distribution | None) -> Stat:
    return Stat(d.mean, d.p50, d.p99) if d is not None else Stat(None)


async def _run(
    url: str, model: str, concurrency: int, requests: int, timeout_s: float
) -> list[RequestRecord]:
    client = HttpClient(Endpoint.parse(f"{url}/v1"))
    n = requests + concurrency  # one warmup request per stream, then the measured ones
    body = request_body(GenerationParams(Api.CHAT, model), PROMPT, 4096)
    records: list[RequestRecord] = []
    ctx = WorkerContext(0, client, Api.CHAT, [body] * n, ["p"] * n, Timeouts(timeout_s),
                        time.perf_counter_ns(), records.append)  # fmt: skip
    try:
        await run_closed_loop(ctx, closed_loop_plan(n, requests, concurrency, concurrency),
                              RunControl())  # fmt: skip
    finally:
        await client.aclose()
    return records


def measure(
    url: str, model: str, concurrency: int, requests: int, timeout_s: float = 300.0
) -> tuple[Figures, set[str]]:
    """tokenbench's TTFT, ITL (each gap) and output throughput over `requests` measured
    requests at `concurrency`, and the response ids of those that succeeded."""
    try:
        import uvloop

        records = uvloop.run(_run(url, model, concurrency, requests, timeout_s))
    except ImportError:
        records = asyncio.run(_run(url, model, concurrency, requests, timeout_s))
    summary = summarize(records)
    ids = {r.response_id for r in records if r.measured and r.ok and r.response_id}
    figures = Figures(summary.requests_ok, _stat(summary.ttft_ms), _stat(summary.itl_ms), "gap",
                      summary.output_throughput_tok_per_s)  # fmt: skip
    return figures, ids
