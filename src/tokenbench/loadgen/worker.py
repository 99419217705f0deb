"""A worker: one asyncio client executing its share of a plan in closed loop.

Each concurrency slot is a task owning one keep-alive connection; it takes the next planned
request as soon as its previous one ends. Warmup runs as its own phase, so the measured window
starts with every slot busy and no warmup request still in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tokenbench.engines.http import HttpClient
from tokenbench.engines.openai import Api, measure
from tokenbench.loadgen.plan import Plan, PlannedRequest
from tokenbench.records import RequestRecord


@dataclass(frozen=True, slots=True)
class WorkerContext:
    worker_id: int
    client: HttpClient
    api: Api
    bodies: Sequence[bytes]  # request body per prompt index
    prompt_ids: Sequence[str]
    timeout_s: float
    anchor_ns: int  # the run's monotonic anchor; records are relative to it
    on_record: Callable[[RequestRecord], None]  # called as each request ends (stream to disk)


async def _phase(
    ctx: WorkerContext,
    items: Sequence[PlannedRequest],
    concurrency: int,
    deadline_ns: int | None,
    out: list[RequestRecord],
) -> None:
    queue = deque(items)

    async def slot_loop(slot: int) -> None:
        while queue:
            if deadline_ns is not None and time.perf_counter_ns() >= deadline_ns:
                return
            item = queue.popleft()
            record = RequestRecord(
                index=item.index,
                worker=ctx.worker_id,
                slot=slot,
                warmup=item.warmup,
                prompt_id=ctx.prompt_ids[item.prompt_index],
                scheduled_ns=time.perf_counter_ns() - ctx.anchor_ns,
            )
            try:
                await measure(
                    ctx.client,
                    ctx.api,
                    ctx.bodies[item.prompt_index],
                    record,
                    ctx.anchor_ns,
                    slot,
                    ctx.timeout_s,
                )
            finally:
                out.append(record)
                ctx.on_record(record)

    async with asyncio.TaskGroup() as tg:
        for slot in range(min(concurrency, len(items))):
            tg.create_task(slot_loop(slot))


async def run_closed_loop(
    ctx: WorkerContext, plan: Plan, on_measured_start: Callable[[], None] | None = None
) -> list[RequestRecord]:
    """Run the warmup phase, then the measured phase; return every record (warmup included).
    `on_measured_start` runs between the two (an energy counter's first reading)."""
    records: list[RequestRecord] = []
    await _phase(ctx, plan.warmup, plan.concurrency, None, records)
    if on_measured_start is not None:
        on_measured_start()
    deadline = time.perf_counter_ns() + int(plan.duration_s * 1e9) if plan.duration_s else None
    await _phase(ctx, plan.measured, plan.concurrency, deadline, records)
    return records
