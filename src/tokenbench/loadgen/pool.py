"""The coordinator of a split run: worker processes (or Ray actors) each running a share of the
plan, their clocks aligned to ours, their records merged into one stream as they arrive.

Per worker: start it, measure its wall-clock offset (several round trips, the one with the
shortest round trip kept), hand it its share and a common start time; all workers report warm
before one common instant starts every measured phase; records are drained every 50 ms. A
worker that dies is noticed on the next call: the run stops (`abort`) or goes on (`continue`),
and the requests it never reported are listed as lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from tokenbench.engines.http import Timeouts
from tokenbench.engines.llama_server import die_with_parent
from tokenbench.envelope import keys
from tokenbench.errors import ConfigError, EngineError
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.plan import Plan
from tokenbench.loadgen.runtime import WorkerJob, WorkerRuntime, share_prompts
from tokenbench.records import RequestRecord

OFFSET_PROBES = 8
POLL_S = 0.05
START_MARGIN_S = 0.5  # time for every worker to receive its job before the common start
GO_MARGIN_S = 0.02
CALL_TIMEOUT_S = 30.0
LOSS_POLICIES = ("abort", "continue")


class WorkerLost(Exception):
    """The worker process or actor is gone."""


class WorkerHandle(Protocol):
    runtime: str  # "process" or "ray"

    async def call(self, method: str, *args: Any) -> Any: ...
    async def close(self) -> None: ...


# ---- local processes -------------------------------------------------------------------------


def _serve(conn: Any) -> None:  # pragma: no cover - runs in the worker process
    die_with_parent()
    runtime = WorkerRuntime()
    while True:
        try:
            method, args = conn.recv()
        except (EOFError, OSError):
            return
        if method == "exit":
            conn.send(("ok", None))
            return
        try:
            conn.send(("ok", getattr(runtime, method)(*args)))
        except Exception as exc:
            conn.send(("err", f"{type(exc).__name__}: {exc}"))


class ProcessWorker:
    """A worker in a local process (spawned: a clean interpreter, no inherited loop state)."""

    runtime = "process"

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self._lock = asyncio.Lock()

    def _call(self, method: str, args: tuple[Any, ...]) -> Any:
        try:
            self._conn.send((method, args))
            if not self._conn.poll(CALL_TIMEOUT_S):
                raise WorkerLost(f"no answer to {method} within {CALL_TIMEOUT_S:g} s")
            kind, value = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            raise WorkerLost(
                f"process {self.process.pid} exited ({exc or 'pipe closed'})"
            ) from None
        if kind == "err":
            raise EngineError(f"worker error in {method}: {value}")
        return value

    async def call(self, method: str, *args: Any) -> Any:
        async with self._lock:
            return await asyncio.to_thread(self._call, method, args)

    async def close(self) -> None:
        with contextlib.suppress(WorkerLost, EngineError):
            await self.call("exit")
        await asyncio.to_thread(self.process.join, 5)
        if self.process.is_alive():
            self.process.kill()
        self._conn.close()


# ---- Ray actors ------------------------------------------------------------------------------


class RayWorker:
    """A worker as a Ray actor (one CPU), placed by Ray's SPREAD strategy across nodes."""

    runtime = "ray"

    def __init__(self, actor_class: Any) -> None:
        self.actor = actor_class.options(scheduling_strategy="SPREAD").remote()

    async def call(self, method: str, *args: Any) -> Any:
        import ray

        ref = getattr(self.actor, method).remote(*args)
        try:
            return await asyncio.to_thread(ray.get, ref, timeout=CALL_TIMEOUT_S)
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
            raise WorkerLost(str(exc).splitlines()[0]) from None

    async def close(self) -> None:
        import ray

        with contextlib.suppress(Exception):
            ray.kill(self.actor)


def ray_actor_class(address: str) -> Any:
    """Connect to the Ray cluster (`auto`: the one this machine belongs to, or $RAY_ADDRESS)
    and define the worker actor there."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs the ray package: pip install 'tokenbench[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"--ray {address}: could not connect to a Ray cluster ({exc}); start one with "
                "`ray start --head` or pass its address"
            ) from None

    class LoadWorker(WorkerRuntime):
        pass

    return ray.remote(num_cpus=1, max_restarts=0)(LoadWorker)


# ---- the coordinator -------------------------------------------------------------------------


@dataclass
class WorkerReport:
    worker_id: int
    runtime: str
    host_hmac: str | None
    clock_offset_ns: int
    clock_rtt_ns: int
    concurrency: int
    planned_requests: int | None  # None: bounded by --duration alone
    records: int = 0
    lost: bool = False
    error: str | None = None
    # the worker's monotonic anchor: comparable with other clocks only on the same machine
    # (benchmarks use it); not part of the envelope
    anchor_mono_ns: int | None = None


@dataclass
class PoolResult:
    workers: list[WorkerReport]
    lost_requests: list[int]
    loss_reason: str | None
    lag_p99_ms: float | None
    samples: list[tuple[RequestRecord, list[str]]] = field(default_factory=list)
    cap_held: int = 0  # open loop: measured requests the in-flight cap held back, all workers


@dataclass(frozen=True, slots=True)
class PoolJob:
    """What every worker's job shares."""

    base_url: str
    api_key: str | None
    api: Any
    bodies: Sequence[bytes]
    prompt_ids: Sequence[str]
    timeouts: Timeouts
    retries: int
    wall_anchor_ns: int  # the run's wall-clock anchor (records are relative to it)
    headers: tuple[tuple[str, str], ...] = ()  # --header: in memory only, like the key


async def clock_offset(handle: WorkerHandle, probes: int = OFFSET_PROBES) -> tuple[int, int]:
    """(worker wall clock − ours, round trip) from the probe with the shortest round trip: its
    midpoint is the tightest bound on when the worker read its clock."""
    best: tuple[int, int] | None = None
    for _ in range(probes):
        t0 = time.time_ns()
        remote = int(await handle.call("wall_ns"))
        t1 = time.time_ns()
        rtt = t1 - t0
        if best is None or rtt < best[1]:
            best = (remote - (t0 + t1) // 2, rtt)
    assert best is not None
    return best


async def run_pool(
    make_handle: Callable[[int], WorkerHandle],
    shares: list[Plan],
    job: PoolJob,
    control: RunControl,
    on_record: Callable[[RequestRecord], None],
    on_measured_start: Callable[[], None] | None = None,
    on_worker_loss: str = "abort",
) -> PoolResult:
    if on_worker_loss not in LOSS_POLICIES:
        raise ConfigError(f"--on-worker-loss {on_worker_loss!r}: choose abort or continue")
    handles = [make_handle(i) for i in range(len(shares))]
    try:
        return await _coordinate(handles, shares, job, control, on_record, on_measured_start,
                                 on_worker_loss)  # fmt: skip
    finally:
        await asyncio.gather(*(h.close() for h in handles), return_exceptions=True)


async def _coordinate(
    handles: list[WorkerHandle],
    shares: list[Plan],
    job: PoolJob,
    control: RunControl,
    on_record: Callable[[RequestRecord], None],
    on_measured_start: Callable[[], None] | None,
    on_worker_loss: str,
) -> PoolResult:
    """Start every worker on its share, then poll until all have finished: drain their records,
    send one `go` once all are warm, `stop` when the run stops, and account for lost workers."""
    reports = await _start_workers(handles, shares, job)
    pool = _Coordinator(handles, reports, control, on_record, on_worker_loss)
    while pool.live - pool.finished:
        await asyncio.sleep(POLL_S)
        statuses = await pool.poll()
        await pool.take_finished(statuses)
        await pool.maybe_go(statuses, on_measured_start)
        await pool.maybe_stop()
    return pool.result(shares)


async def _start_workers(
    handles: list[WorkerHandle], shares: list[Plan], job: PoolJob
) -> list[WorkerReport]:
    """Identify each worker, measure its clock offset, and hand it its share of the plan."""
    reports: list[WorkerReport] = []
    for i, (handle, share) in enumerate(zip(handles, shares, strict=True)):
        try:
            ident = await handle.call("identity")
            offset, rtt = await clock_offset(handle)
        except WorkerLost as exc:
            raise EngineError(f"worker {i} did not start: {exc}") from None
        reports.append(WorkerReport(i, handle.runtime, keys.hmac_id(str(ident["host"])), offset,
                                    rtt, share.concurrency, share.planned_requests))  # fmt: skip
    start_at = time.time_ns() + int(START_MARGIN_S * 1e9)
    for i, (handle, share) in enumerate(zip(handles, shares, strict=True)):
        bodies, ids = share_prompts(share, job.bodies, job.prompt_ids)
        worker_job = WorkerJob(
            i, job.base_url, job.api_key, job.api, bodies, ids, job.timeouts, job.retries,
            share, job.wall_anchor_ns, start_at, reports[i].clock_offset_ns,
            headers=job.headers,
        )  # fmt: skip
        try:
            await handle.call("start", worker_job)
        except WorkerLost as exc:
            raise EngineError(f"worker {i} did not start: {exc}") from None
    return reports


class _Coordinator:
    """The coordinator's view of its workers while a point runs."""

    def __init__(
        self,
        handles: list[WorkerHandle],
        reports: list[WorkerReport],
        control: RunControl,
        on_record: Callable[[RequestRecord], None],
        on_worker_loss: str,
    ) -> None:
        self.handles, self.reports, self.control = handles, reports, control
        self.on_record, self.on_worker_loss = on_record, on_worker_loss
        self.seen: list[set[int]] = [set() for _ in handles]
        self.live = set(range(len(handles)))
        self.finished: set[int] = set()
        self.loss: list[str] = []
        self.go_sent = self.stop_sent = False
        self.lags: list[float] = []
        self.samples: list[tuple[RequestRecord, list[str]]] = []
        self.cap_held = 0

    def lose(self, i: int, why: str) -> None:
        self.live.discard(i)
        self.reports[i].lost = True
        self.reports[i].error = why
        self.loss.append(f"worker {i} was lost ({why})")
        control = self.control
        if self.on_worker_loss == "abort" and not control.stop.is_set():
            control.status = "partial"
            control.reason = "; ".join(self.loss) + "; the run was stopped (--on-worker-loss abort)"
            control.stop.set()

    async def drain(self, i: int) -> None:
        for line in (await self.handles[i].call("drain")).splitlines():
            record = RequestRecord.from_dict(orjson.loads(line))
            self.seen[i].add(record.index)
            self.reports[i].records += 1
            self.on_record(record)

    async def poll(self) -> dict[int, dict[str, Any]]:
        """Drain every running worker and read its status; a worker that does not answer is
        lost."""
        statuses: dict[int, dict[str, Any]] = {}
        for i in sorted(self.live - self.finished):
            try:
                await self.drain(i)
                statuses[i] = await self.handles[i].call("status")
            except WorkerLost as exc:
                self.lose(i, str(exc))
        return statuses

    async def take_finished(self, statuses: dict[int, dict[str, Any]]) -> None:
        for i, st in statuses.items():
            if st.get("server_lost") and not self.control.stop.is_set():
                self.control.server_lost(st["server_lost"].split(": ", 1)[-1])
            self.reports[i].anchor_mono_ns = st.get("anchor_mono_ns")
            if not st["finished"]:
                continue
            with contextlib.suppress(WorkerLost):
                await self.drain(i)  # anything that ended after the last drain
            self.finished.add(i)
            if st.get("error"):
                self.lose(i, st["error"])
            self.cap_held += st.get("cap_held", 0)
            if st.get("lag_p99_ms") is not None:
                self.lags.append(st["lag_p99_ms"])
            self.samples += [(RequestRecord.from_dict(orjson.loads(r)), [t])
                             for r, t in st.get("samples", [])]  # fmt: skip

    async def maybe_go(
        self, statuses: dict[int, dict[str, Any]], on_measured_start: Callable[[], None] | None
    ) -> None:
        """Once every running worker is warm, one common instant starts the measured phase; no
        `go` after the run began stopping (a stopped worker's loop may be gone)."""
        waiting = self.live - self.finished
        if self.go_sent or self.control.stop.is_set() or not waiting:
            return
        if not all(statuses.get(i, {}).get("warm") for i in waiting):
            return
        go_at = time.time_ns() + int(GO_MARGIN_S * 1e9)
        for i in sorted(waiting):
            with contextlib.suppress(WorkerLost):
                await self.handles[i].call("go", go_at)
        if on_measured_start is not None:
            delay = max(0.0, (go_at - time.time_ns()) / 1e9)
            asyncio.get_running_loop().call_later(delay, on_measured_start)
        self.go_sent = True

    async def maybe_stop(self) -> None:
        if self.control.stop.is_set() and not self.stop_sent:
            for i in sorted(self.live - self.finished):
                with contextlib.suppress(WorkerLost):
                    await self.handles[i].call("stop")
            self.stop_sent = True

    def result(self, shares: list[Plan]) -> PoolResult:
        reached = max((max(seen) for seen in self.seen if seen), default=-1)
        lost_requests = sorted(
            index
            for i, share in enumerate(shares)
            if self.reports[i].lost
            for index in _owed(share, reached)
            if index not in self.seen[i]
        )
        control = self.control
        if self.loss and control.status == "complete":
            control.status = "partial"
            control.reason = (
                "; ".join(self.loss) + "; the others finished (--on-worker-loss continue)"
            )
        return PoolResult(self.reports, lost_requests, "; ".join(self.loss) or None,
                          max(self.lags) if self.lags else None, self.samples,
                          self.cap_held)  # fmt: skip


def _owed(share: Plan, reached: int) -> Iterator[int]:
    """The measured requests a share owed. A time-bound share has no end: it owed those below
    the highest index any worker reported (the others' progress shows those were due)."""
    for r in share.iter_measured():
        if share.measured_count is None and r.index > reached:
            return
        yield r.index
