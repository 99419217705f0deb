"""A worker: one asyncio client executing its share of a plan in closed loop.

Each concurrency slot is a task owning one keep-alive connection; it takes the next planned
request as soon as its previous one ends. Warmup runs as its own phase, so the measured window
starts with every slot busy and no warmup request still in flight. Records go to `on_record`
(the JSONL sink) as they end and are not kept: memory stays flat however long the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.openai import Api, measure
from tokenbench.loadgen.control import RunControl, wait_until
from tokenbench.loadgen.plan import Plan, PlannedRequest
from tokenbench.records import ErrorKind, RequestRecord


@dataclass(slots=True)
class CapStats:
    """Open loop: how often the in-flight cap held a request back. A request that waits for a
    free slot leaves late, so the offered rate was not what the server saw: the open loop
    became a closed one at the cap."""

    held: int = 0  # measured requests that found every slot busy when due
    peak_in_flight: int = 0


@dataclass(frozen=True, slots=True)
class WorkerContext:
    worker_id: int
    client: HttpClient
    api: Api
    bodies: Sequence[bytes] | Mapping[int, bytes]  # request body per prompt index
    prompt_ids: Sequence[str] | Mapping[int, str]  # (a worker of a split run: its share's only)
    timeouts: Timeouts  # per request (request_s, connect_s, idle_s: no byte for that long)
    anchor_ns: int  # the run's monotonic anchor; records are relative to it
    on_record: Callable[[RequestRecord], None]  # called as each request ends (stream to disk)
    retries: int = 0  # resends after 429/503 (--retry)
    # Outputs kept for the token cross-check: (record, output text pieces), measured only.
    output_samples: list[tuple[RequestRecord, list[str]]] | None = None
    sample_limit: int = 32
    cap: CapStats = field(default_factory=CapStats)

    def text_keeper(self, warmup: bool) -> list[str] | None:
        samples = self.output_samples
        if warmup or samples is None or len(samples) >= self.sample_limit:
            return None
        return []

    def keep_sample(self, record: RequestRecord, text: list[str] | None) -> None:
        samples = self.output_samples
        if (
            text is not None
            and record.ok
            and samples is not None
            and len(samples) < self.sample_limit
        ):
            samples.append((record, text))


class LoopLagMonitor:
    """Samples how late the event loop wakes a sleeping task: the client's own delay, which
    would otherwise be blamed on the server. One wake-up per interval; negligible cost."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.lags_ms: list[float] = []

    async def run(self, stop: asyncio.Event) -> None:
        interval_ns = int(self.interval_s * 1e9)
        while not stop.is_set():
            due = time.perf_counter_ns() + interval_ns
            await asyncio.sleep(self.interval_s)
            self.lags_ms.append(max(0, time.perf_counter_ns() - due) / 1e6)


async def drain_guard(control: RunControl, tasks: list[asyncio.Task[None]]) -> None:
    """Once the run is stopped, give in-flight requests `drain_s`, then cancel the rest."""
    stopped = asyncio.ensure_future(control.stop.wait())
    try:
        pending: set[asyncio.Future[Any]] = set(tasks)
        while pending and not control.stop.is_set():
            _, pending = await asyncio.wait(
                pending | {stopped}, return_when=asyncio.FIRST_COMPLETED
            )
            pending.discard(stopped)
        if pending:
            _, still = await asyncio.wait(pending, timeout=control.drain_s)
            for task in still:
                task.cancel()
    finally:
        stopped.cancel()


async def _send_one(
    ctx: WorkerContext,
    item: PlannedRequest,
    slot: int,
    scheduled_ns: int,
    control: RunControl,
    cooldown: bool = False,
) -> RequestRecord:
    """One planned request: measured, handed to the sink (also when cancelled), sampled for the
    token check. It answered the preflight, so a refused connection now means the server is
    gone: the run stops."""
    record = RequestRecord(
        index=item.index,
        worker=ctx.worker_id,
        slot=slot,
        warmup=item.warmup,
        prompt_id=ctx.prompt_ids[item.prompt_index],
        scheduled_ns=scheduled_ns - ctx.anchor_ns,
        cooldown=cooldown,
        session=item.session,
        turn=item.turn,
        session_turns=item.session_turns,
    )
    text = ctx.text_keeper(item.warmup)
    try:
        await measure(
            ctx.client,
            ctx.api,
            ctx.bodies[item.prompt_index],
            record,
            ctx.anchor_ns,
            slot,
            ctx.timeouts,
            ctx.retries,
            keep_text=text,
        )
    finally:
        ctx.on_record(record)
    ctx.keep_sample(record, text)
    if record.error_kind is ErrorKind.CONNECT:
        control.server_lost(record.error or "connection refused")
    return record


@dataclass(slots=True)
class Window:
    """A closed loop's time bound, anchored on the phase's earliest actual send: the duration
    figure counts from that send, so the loop and the figure share one start. A slot goes on
    while its last response ended before the end (by the record's stamp, not by a later look
    at the clock), so the last response ends at or after it and the figure is never short.
    Records finish out of order, so each finished one may pull the end earlier; until one
    has a send stamp the phase's start stands in, so a loop whose sends all fail still ends.
    The cooldown starts from the phase's start, where the energy window's clock starts too."""

    length_ns: int | None  # None: bounded by the request count only
    start_ns: int  # the phase's start (absolute monotonic)
    cooldown_ns: int = 0
    end_ns: int | None = None  # absolute monotonic; set from the earliest send seen

    def begin(self, record: RequestRecord, anchor_ns: int) -> None:
        if self.length_ns is None or record.send_ns is None:
            return
        end = anchor_ns + record.send_ns + self.length_ns
        self.end_ns = end if self.end_ns is None else min(self.end_ns, end)

    def ended(self, last_end_ns: int | None) -> bool:
        if self.length_ns is None or last_end_ns is None:
            return False
        end = self.end_ns if self.end_ns is not None else self.start_ns + self.length_ns
        return last_end_ns >= end

    def cooling(self, now_ns: int) -> bool:
        if self.length_ns is None or not self.cooldown_ns:
            return False
        return now_ns >= self.start_ns + self.length_ns - self.cooldown_ns


async def _phase(
    ctx: WorkerContext,
    items: Iterable[PlannedRequest],
    concurrency: int,
    window: Window,
    control: RunControl,
) -> int:
    """Closed loop: each slot takes the next request as soon as its last one ends. Requests are
    drawn from `items` as they are sent, so an unbounded (time-bound) plan costs no memory."""
    queue = iter(items)
    done = 0

    async def slot_loop(slot: int) -> None:
        nonlocal done
        last_end: int | None = None
        while not control.stop.is_set() and not window.ended(last_end):
            item = next(queue, None)
            if item is None:
                return
            now = time.perf_counter_ns()
            try:
                record = await _send_one(ctx, item, slot, now, control, window.cooling(now))
            finally:
                done += 1
            window.begin(record, ctx.anchor_ns)
            last_end = (
                time.perf_counter_ns() if record.end_ns is None else (ctx.anchor_ns + record.end_ns)
            )

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(slot_loop(s)) for s in range(concurrency)]
        tg.create_task(drain_guard(control, tasks))
    return done


async def _open_phase(
    ctx: WorkerContext,
    items: Iterable[PlannedRequest],
    cap: int,
    deadline_ns: int | None,
    control: RunControl,
) -> int:
    """Release each request at its scheduled time, whatever the earlier ones are doing. The
    record keeps the scheduled time, so latency can be read from it too and any lag between
    schedule and send (client or cap) is visible rather than hidden."""
    start = time.perf_counter_ns()
    cap_sem = asyncio.Semaphore(cap)
    free_slots: list[int] = []
    next_slot = 0
    done = 0
    inflight: set[asyncio.Task[None]] = set()

    async def one(item: PlannedRequest, slot: int, due_ns: int) -> None:
        nonlocal done
        try:
            await _send_one(ctx, item, slot, due_ns, control)
        finally:
            done += 1
            free_slots.append(slot)
            cap_sem.release()

    async with asyncio.TaskGroup() as tg:
        for item in items:
            assert item.offset_ns is not None
            due = start + item.offset_ns
            if deadline_ns is not None and due >= deadline_ns:
                break
            if await wait_until(due, control.stop):
                break
            if cap_sem.locked():  # every slot busy: this request leaves late
                ctx.cap.held += 1
                await cap_sem.acquire()
                if deadline_ns is not None and time.perf_counter_ns() >= deadline_ns:
                    cap_sem.release()
                    break
            else:
                await cap_sem.acquire()
            if free_slots:
                slot = free_slots.pop()
            else:
                slot, next_slot = next_slot, next_slot + 1
            task = tg.create_task(one(item, slot, due))
            inflight.add(task)
            ctx.cap.peak_in_flight = max(ctx.cap.peak_in_flight, len(inflight))
            task.add_done_callback(inflight.discard)
        if control.stop.is_set() and inflight:
            _, still = await asyncio.wait(set(inflight), timeout=control.drain_s)
            for task in still:
                task.cancel()
    return done


async def run_closed_loop(
    ctx: WorkerContext,
    plan: Plan,
    control: RunControl,
    on_measured_start: Callable[[], None] | None = None,
    lag: LoopLagMonitor | None = None,
    gate: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Run the warmup phase (closed loop), then the measured phase (closed loop, or open loop
    on the plan's schedule when it has a rate); returns how many requests ended.
    `on_measured_start` runs between the two (an energy counter's first reading); `lag`
    samples the event loop during the measured phase; `gate` is awaited between the phases
    (a split run's barrier, so every worker starts measuring at once)."""
    warm = Window(int(plan.warmup_s * 1e9) if plan.warmup_s else None, time.perf_counter_ns())
    warm_slots = min(plan.concurrency, plan.share_warmup)
    done = await _phase(ctx, plan.iter_warmup(), warm_slots, warm, control)
    if gate is not None:
        await gate()
    if on_measured_start is not None:
        on_measured_start()
    length_ns = int(plan.duration_s * 1e9) if plan.duration_s else None
    measured = plan.share_measured
    slots = plan.concurrency if measured is None else min(plan.concurrency, measured)
    stop_lag = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        if lag is not None:
            tg.create_task(lag.run(stop_lag))
        try:
            if plan.rate_rps is not None:
                deadline = None if length_ns is None else time.perf_counter_ns() + length_ns
                done += await _open_phase(
                    ctx, plan.iter_measured(), plan.concurrency, deadline, control
                )
            else:
                cooldown_ns = int(plan.cooldown_s * 1e9) if plan.cooldown_s else 0
                window = Window(length_ns, time.perf_counter_ns(), cooldown_ns)
                done += await _phase(ctx, plan.iter_measured(), slots, window, control)
        finally:
            stop_lag.set()
    return done
