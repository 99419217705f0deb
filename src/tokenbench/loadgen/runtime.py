"""A worker's side of a split run: its share of the plan, executed on its own event loop in a
thread, on a timeline aligned to the coordinator's clock.

The coordinator talks to a WorkerRuntime through a handle (a local process or a Ray actor) with
plain calls: `wall_ns` (clock offset probes), `start(job)`, `warm` / `go(at)` (a barrier so every
worker starts its measured phase at the same instant), `drain` (records so far, as JSONL bytes),
`stop`, `status`. Records stay in the worker until drained, so a worker that dies loses only
what it had not yet handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.openai import Api
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.plan import Plan
from tokenbench.loadgen.worker import LoopLagMonitor, WorkerContext, run_closed_loop
from tokenbench.metrics.stats import distribution
from tokenbench.records import RequestRecord
from tokenbench.urls import Endpoint


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """Everything one worker needs; picklable. The API key travels in memory only."""

    worker_id: int
    base_url: str
    api_key: str | None
    api: Api
    bodies: dict[int, bytes]  # prompt index → request body, for this share's prompts only
    prompt_ids: dict[int, str]
    timeouts: Timeouts
    retries: int
    plan: Plan
    coordinator_anchor_wall_ns: int  # the run's wall-clock anchor, on the coordinator's clock
    start_at_wall_ns: int  # when to begin (warmup), on the coordinator's clock
    clock_offset_ns: int  # this worker's wall clock minus the coordinator's
    sample_limit: int = 8  # outputs kept for the token cross-check
    headers: tuple[tuple[str, str], ...] = ()  # --header, sent on every request


@dataclass
class _State:
    warm: bool = False
    finished: bool = False
    error: str | None = None
    ended: int = 0
    lag_p99_ms: float | None = None
    samples: list[tuple[bytes, str]] = field(default_factory=list)
    cap_held: int = 0  # open loop: measured requests the in-flight cap held back
    peak_in_flight: int = 0


class WorkerRuntime:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer: list[bytes] = []
        self._state = _State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._control: RunControl | None = None
        self._go: asyncio.Event | None = None
        self._go_at_ns = 0  # on this worker's monotonic clock
        self._anchor_mono = 0
        self._job: WorkerJob | None = None
        self._thread: threading.Thread | None = None

    # ---- calls from the coordinator -------------------------------------------------------

    def wall_ns(self) -> int:
        return time.time_ns()

    def identity(self) -> dict[str, Any]:
        return {"host": socket.gethostname(), "pid": os.getpid()}

    def start(self, job: WorkerJob) -> None:
        self._job = job
        self._thread = threading.Thread(target=self._main, name=f"worker-{job.worker_id}",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def go(self, at_coordinator_wall_ns: int) -> None:
        """Start the measured phase at this instant of the coordinator's clock."""
        job, loop, go = self._job, self._loop, self._go
        if job is None or loop is None or go is None:
            return
        self._go_at_ns = self._anchor_mono + (
            at_coordinator_wall_ns - job.coordinator_anchor_wall_ns
        )
        self._post(loop, go.set)

    def drain(self) -> bytes:
        with self._lock:
            out, self._buffer = self._buffer, []
        return b"".join(out)

    def stop(self) -> None:
        loop, control = self._loop, self._control
        if loop is not None and control is not None:
            self._post(loop, control.interrupt)

    @staticmethod
    def _post(loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> None:
        # The worker's loop may have ended between the coordinator's last status poll and
        # this call (a stopped run finishes quickly); a late go or stop then has nothing to do.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback)

    def status(self) -> dict[str, Any]:
        s = self._state
        return {"warm": s.warm, "finished": s.finished, "error": s.error, "ended": s.ended,
                "anchor_mono_ns": self._anchor_mono,
                "lag_p99_ms": s.lag_p99_ms, "samples": list(s.samples) if s.finished else [],
                "cap_held": s.cap_held, "peak_in_flight": s.peak_in_flight,
                "server_lost": self._control.reason if self._control and
                self._control.status == "partial" else None}  # fmt: skip

    # ---- the worker's own loop ------------------------------------------------------------

    def _on_record(self, record: RequestRecord) -> None:
        line = record.to_json() + b"\n"
        with self._lock:
            self._buffer.append(line)
            self._state.ended += 1

    def _main(self) -> None:
        try:
            import uvloop

            runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        except ImportError:  # pragma: no cover - non-Linux
            runner = asyncio.Runner()
        try:
            with runner:
                runner.run(self._run())
        except BaseException as exc:
            self._state.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._state.finished = True

    async def _run(self) -> None:
        job = self._job
        assert job is not None
        self._loop = asyncio.get_running_loop()
        self._control = RunControl()
        self._go = asyncio.Event()
        # This worker's monotonic anchor is the coordinator's wall anchor, seen through the
        # measured clock offset: records land on the coordinator's timeline directly.
        coordinator_now = time.time_ns() - job.clock_offset_ns
        self._anchor_mono = time.perf_counter_ns() - (
            coordinator_now - job.coordinator_anchor_wall_ns
        )
        client = HttpClient(
            Endpoint.parse(job.base_url), api_key=job.api_key, extra_headers=job.headers
        )
        samples: list[tuple[RequestRecord, list[str]]] = []
        ctx = WorkerContext(
            worker_id=job.worker_id, client=client, api=job.api,
            bodies=job.bodies, prompt_ids=job.prompt_ids,
            timeouts=job.timeouts, anchor_ns=self._anchor_mono, on_record=self._on_record,
            retries=job.retries, output_samples=samples,
            sample_limit=job.sample_limit,
        )  # fmt: skip
        start_mono = self._anchor_mono + (job.start_at_wall_ns - job.coordinator_anchor_wall_ns)
        delay = (start_mono - time.perf_counter_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        lag = LoopLagMonitor()
        try:
            await run_closed_loop(ctx, job.plan, self._control, lag=lag, gate=self._gate)
        finally:
            await client.aclose()
        dist = distribution(lag.lags_ms)
        self._state.lag_p99_ms = dist.p99 if dist else None
        self._state.samples = [(r.to_json(), "".join(t)) for r, t in samples]
        self._state.cap_held = ctx.cap.held
        self._state.peak_in_flight = ctx.cap.peak_in_flight

    async def _gate(self) -> None:
        """Between warmup and the measured phase: report warm, wait for the common start."""
        assert self._go is not None
        assert self._control is not None
        self._state.warm = True
        stop = asyncio.ensure_future(self._control.stop.wait())
        go = asyncio.ensure_future(self._go.wait())
        await asyncio.wait({stop, go}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        go.cancel()
        delay = (self._go_at_ns - time.perf_counter_ns()) / 1e9
        if self._go.is_set() and delay > 0:
            await asyncio.sleep(delay)


def share_prompts(
    plan: Plan, bodies: Sequence[bytes], prompt_ids: Sequence[str]
) -> tuple[dict[int, bytes], dict[int, str]]:
    """Only the prompts a share uses travel to its worker."""
    used = plan.share_prompt_indices()
    return {i: bodies[i] for i in used}, {i: prompt_ids[i] for i in used}
