"""The coordinator's clock alignment, against an in-process worker with a skewed clock."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.pool import clock_offset
from tokenbench.loadgen.runtime import WorkerRuntime


class SkewedWorker:
    """A worker whose wall clock runs `skew_ns` ahead of ours, answering after `delay_s`."""

    runtime = "process"

    def __init__(self, skew_ns: int, delay_s: float = 0.001) -> None:
        self.runtime_obj = WorkerRuntime()
        self.skew_ns = skew_ns
        self.delay_s = delay_s
        self.calls = 0

    async def call(self, method: str, *args: Any) -> Any:
        self.calls += 1
        await asyncio.sleep(self.delay_s / 2)
        value = getattr(self.runtime_obj, method)(*args)
        await asyncio.sleep(self.delay_s / 2)
        return value + self.skew_ns if method == "wall_ns" else value

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("skew_ns", [0, 3_000_000, -250_000_000])
def test_clock_offset_is_measured_to_within_half_a_round_trip(skew_ns: int) -> None:
    worker = SkewedWorker(skew_ns)
    offset, rtt = asyncio.run(clock_offset(worker, probes=8))
    assert worker.calls == 8
    assert rtt > 0
    assert abs(offset - skew_ns) <= rtt // 2 + 1_000_000  # + scheduling noise on a busy box


def test_a_late_go_or_stop_after_the_worker_ended_is_a_no_op() -> None:
    # The coordinator can see "warm, not finished", then call go after the worker's loop
    # closed (a stopped run ends quickly): that must not fail the run.
    runtime = WorkerRuntime()
    loop = asyncio.new_event_loop()
    control = RunControl()
    go = asyncio.Event()
    loop.close()
    runtime._loop, runtime._control, runtime._go = loop, control, go
    runtime._job = SimpleNamespace(coordinator_anchor_wall_ns=0)  # type: ignore[assignment]
    runtime.go(1_000)
    runtime.stop()
    assert not go.is_set()
    assert not control.stop.is_set()
