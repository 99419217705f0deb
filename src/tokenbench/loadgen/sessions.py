"""Session workloads run: conversations whose every turn resends the whole history, with the
model's actual earlier answers, after a pause (think time, or a tool's latency). Concurrency
counts sessions in flight; each slot takes the next session when its last one ends."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tokenbench.engines.openai import GenerationParams, measure, request_body
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.worker import LoopLagMonitor, WorkerContext, drain_guard
from tokenbench.records import ErrorKind, RequestRecord
from tokenbench.workloads.conversations import SessionScript
from tokenbench.workloads.prompt import prompt_id

# In the history, an answer that carried no text (a tool call, or reasoning cut off) stands as
# this, so the next turn's template still sees an assistant message.
NO_TEXT_ANSWER = "(no answer)"


@dataclass(frozen=True, slots=True)
class SessionPlan:
    concurrency: int  # sessions in flight at once
    warmup: tuple[SessionScript, ...]  # not measured; run first, closed loop
    sessions: tuple[SessionScript, ...]
    duration_s: float | None = None  # no measured session starts after this long

    @property
    def requests(self) -> int:
        return sum(len(s.turns) for s in self.sessions)


@dataclass(slots=True)
class _Slots:
    """What the slots of one phase share: the next session and request index."""

    scripts: Iterator[SessionScript]
    index: Iterator[int]
    warmup: bool
    deadline_ns: int | None


async def _session(
    ctx: WorkerContext, params: GenerationParams, script: SessionScript, slot: int,
    shared: _Slots, control: RunControl,
) -> None:  # fmt: skip
    """One conversation, turn by turn; a failed turn ends it (its history would be wrong)."""
    messages: list[dict[str, Any]] = []
    if script.system:
        messages.append({"role": "system", "content": script.system})
    due = time.perf_counter_ns()
    for k, turn in enumerate(script.turns):
        if turn.pause_s > 0:
            due += int(turn.pause_s * 1e9)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(control.stop.wait(), turn.pause_s)
        if control.stop.is_set():
            return
        messages.append({"role": "user", "content": turn.text})
        record = RequestRecord(
            index=next(shared.index), worker=ctx.worker_id, slot=slot, warmup=shared.warmup,
            prompt_id=prompt_id(turn.text), scheduled_ns=due - ctx.anchor_ns,
            session=None if shared.warmup else script.session, turn=k,
            session_turns=len(script.turns),
        )  # fmt: skip
        text: list[str] = []
        body = request_body(params, turn.text, turn.max_tokens, messages)
        try:
            await measure(ctx.client, params.api, body, record, ctx.anchor_ns, slot,
                          ctx.timeouts, ctx.retries, keep_text=text)  # fmt: skip
        finally:
            ctx.on_record(record)
        if not shared.warmup:
            ctx.keep_sample(record, list(text))
        if record.error_kind is ErrorKind.CONNECT:
            control.server_lost(record.error or "connection refused")
        if not record.ok:
            return
        messages.append({"role": "assistant", "content": "".join(text) or NO_TEXT_ANSWER})
        due = time.perf_counter_ns()


async def _phase(
    ctx: WorkerContext, params: GenerationParams, shared: _Slots, concurrency: int,
    control: RunControl,
) -> None:  # fmt: skip
    async def slot_loop(slot: int) -> None:
        while not control.stop.is_set():
            if shared.deadline_ns is not None and time.perf_counter_ns() >= shared.deadline_ns:
                return
            script = next(shared.scripts, None)
            if script is None:
                return
            await _session(ctx, params, script, slot, shared, control)

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(slot_loop(s)) for s in range(concurrency)]
        tg.create_task(drain_guard(control, tasks))


async def run_sessions(
    ctx: WorkerContext,
    params: GenerationParams,
    plan: SessionPlan,
    control: RunControl,
    on_measured_start: Callable[[], None] | None = None,
    lag: LoopLagMonitor | None = None,
) -> None:
    """Warmup sessions first, then the measured ones, `plan.concurrency` at a time."""
    index = iter(range(2**62))
    if plan.warmup:
        warm = _Slots(iter(plan.warmup), index, True, None)
        await _phase(ctx, params, warm, min(plan.concurrency, len(plan.warmup)), control)
    if on_measured_start is not None:
        on_measured_start()
    deadline = time.perf_counter_ns() + int(plan.duration_s * 1e9) if plan.duration_s else None
    stop_lag = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        if lag is not None:
            tg.create_task(lag.run(stop_lag))
        try:
            measured = _Slots(iter(plan.sessions), index, False, deadline)
            slots = min(plan.concurrency, len(plan.sessions))
            await _phase(ctx, params, measured, slots, control)
        finally:
            stop_lag.set()
