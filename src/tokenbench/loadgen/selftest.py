"""The client's error budget: tokenbench's own load generator against the reference server, every
stamp compared with the server's logged write time (`bench selftest`, `bench run --selftest`)."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.openai import Api, GenerationParams, request_body
from tokenbench.envelope.schema import ErrorBudget, HostLoad
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.plan import closed_loop_plan
from tokenbench.loadgen.worker import WorkerContext, run_closed_loop
from tokenbench.metrics.stats import distribution
from tokenbench.records import RequestRecord
from tokenbench.reference.process import ReferenceProcess, start_reference
from tokenbench.session.host_load import HostLoadWatch
from tokenbench.urls import Endpoint

PROMPT = "measure the client against the reference server"


@dataclass(frozen=True, slots=True)
class SelftestSettings:
    concurrency: int
    requests: int | None = None  # None: 4 per stream, at least 32
    ttft_ms: float = 20.0
    itl_ms: float = 5.0
    tokens: int = 32

    @property
    def scenario(self) -> str:
        return f"ttft_ms={self.ttft_ms:g};itl_ms={self.itl_ms:g};tokens={self.tokens}"

    @property
    def request_count(self) -> int:
        return self.requests or max(32, 4 * self.concurrency)


def timing_errors_ms(
    records: Iterable[RequestRecord], anchor_ns: int, truth: dict[str, dict[str, Any]]
) -> tuple[list[float], list[float], int]:
    """|client - server| in ms, matched by response id: the first chunk's (TTFT error) and each
    chunk gap's (ITL error), and how many records matched. Record times are relative to
    `anchor_ns`; the log's are absolute, on the same clock."""
    ttft: list[float] = []
    itl: list[float] = []
    matched = 0
    for r in records:
        entry = truth.get(r.response_id or "")
        if entry is None or not r.ok or not r.chunk_ns:
            continue
        server = [int(x) for x in entry["chunk_ns"]]
        if len(server) != len(r.chunk_ns):
            continue  # not the same chunks (a cut stream): nothing to pair
        matched += 1
        client = [anchor_ns + c for c in r.chunk_ns]
        ttft.append(abs(client[0] - server[0]) / 1e6)
        itl += [abs((c1 - c0) - (s1 - s0)) / 1e6
                for (c0, c1), (s0, s1) in zip(itertools.pairwise(client),
                                              itertools.pairwise(server), strict=True)]  # fmt: skip
    return ttft, itl, matched


def error_budget(
    records: Iterable[RequestRecord], anchor_ns: int, truth: dict[str, dict[str, Any]], *,
    source: Literal["selftest", "canary"], concurrency: int, scenario: str,
    host_load: HostLoad | None = None,
) -> ErrorBudget:  # fmt: skip
    """The budget (p50/p99 of the errors) of `records` against the server's log."""
    ttft, itl, matched = timing_errors_ms(records, anchor_ns, truth)
    t, i = distribution(ttft), distribution(itl)
    return ErrorBudget(
        source=source, concurrency=concurrency, requests=matched, scenario=scenario,
        ttft_error_ms_p50=_r(t.p50) if t else None, ttft_error_ms_p99=_r(t.p99) if t else None,
        itl_error_ms_p50=_r(i.p50) if i else None, itl_error_ms_p99=_r(i.p99) if i else None,
        host_load=host_load,
    )  # fmt: skip


def _r(x: float) -> float:
    return round(x, 4)


async def measure_against(
    server: ReferenceProcess, settings: SelftestSettings
) -> tuple[list[RequestRecord], int]:
    """The real closed loop (warmup of one request per stream, then the measured requests)
    against the reference server; the measured records and their anchor."""
    client = HttpClient(Endpoint.parse(server.base_url))
    records: list[RequestRecord] = []
    anchor_ns = 0  # records on the absolute monotonic clock, as the server logs it
    body = request_body(GenerationParams(Api.CHAT, settings.scenario), PROMPT, settings.tokens)
    ctx = WorkerContext(
        worker_id=0, client=client, api=Api.CHAT, bodies=[body], prompt_ids=["selftest"],
        timeouts=Timeouts(60.0), anchor_ns=anchor_ns, on_record=records.append,
    )  # fmt: skip
    plan = closed_loop_plan(1, settings.request_count, settings.concurrency,
                            settings.concurrency)  # fmt: skip
    try:
        await run_closed_loop(ctx, plan, RunControl())
    finally:
        await client.aclose()
    return [r for r in records if r.measured], anchor_ns


async def run_selftest(settings: SelftestSettings, workdir: Path | None = None) -> ErrorBudget:
    """Start the reference server, measure it at the settings' concurrency with the host's load
    watched, and return the budget."""
    with tempfile.TemporaryDirectory(prefix="tokenbench-selftest-") as tmp:
        server = start_reference(Path(workdir or tmp) / "reference-log")
        try:
            watch = HostLoadWatch(frozenset({server.proc.pid}))
            await asyncio.to_thread(watch.before)
            records, anchor_ns = await measure_against(server, settings)
            load = await asyncio.to_thread(watch.finish)
            truth = await asyncio.to_thread(
                server.log_for, {r.response_id for r in records if r.response_id}
            )
        finally:
            server.stop()
    return error_budget(records, anchor_ns, truth, source="selftest",
                        concurrency=settings.concurrency, scenario=settings.scenario,
                        host_load=load)  # fmt: skip
