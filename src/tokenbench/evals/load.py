"""Load levels of an eval: closed loop (a fixed number of requests in flight) or open loop (items
sent at a fixed rate, whatever is in flight), and the two loops that send one level's items."""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from tokenbench.errors import ConfigError
from tokenbench.loadgen.control import wait_until

# ask(position in the level's work, slot, scheduled send on the perf_counter_ns clock)
Ask = Callable[[int, int, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Level:
    """One load level: `concurrency` requests kept in flight (closed loop), or `rate_rps` items
    sent per second on a schedule (open loop, no cap)."""

    concurrency: int | None = None
    rate_rps: float | None = None

    def __post_init__(self) -> None:
        if (self.concurrency is None) == (self.rate_rps is None):
            raise ConfigError("a load level is a concurrency or a rate; pass one of them")
        if self.concurrency is not None and self.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        if self.rate_rps is not None and not (math.isfinite(self.rate_rps) and self.rate_rps > 0):
            raise ConfigError("--rate must be a positive number of requests per second")

    @classmethod
    def recorded(cls, concurrency: int, rate_rps: float | None) -> Level:
        """The level an envelope's parameters record (with a rate, concurrency is what was in
        flight, not a setting)."""
        return cls(None, rate_rps) if rate_rps is not None else cls(concurrency)

    @property
    def label(self) -> str:
        """The level as progress and result lines name it: "concurrency 4" or "2 req/s"."""
        if self.rate_rps is not None:
            return f"{self.rate_rps:g} req/s"
        return f"concurrency {self.concurrency}"

    @property
    def tag(self) -> str:
        """The level in a file name: `c4`, `r2`, `r0.5`."""
        return f"r{self.rate_rps:g}" if self.rate_rps is not None else f"c{self.concurrency}"

    @property
    def slots(self) -> int:
        """The engine slots this level wants; open loop has no cap, so it takes the default 4
        and the engine queues what is beyond them, as a server with 4 slots would."""
        return self.concurrency if self.concurrency is not None else 4


def ordered(levels: Iterable[Level]) -> tuple[Level, ...]:
    """Each level once, lowest load first (closed-loop levels before open-loop ones), so the
    first envelope of a task is the baseline the others are paired against."""
    unique = set(levels)
    closed = sorted((lv for lv in unique if lv.concurrency is not None),
                    key=lambda lv: lv.concurrency or 0)  # fmt: skip
    opened = sorted((lv for lv in unique if lv.rate_rps is not None),
                    key=lambda lv: lv.rate_rps or 0.0)  # fmt: skip
    return (*closed, *opened)


async def closed_loop(count: int, concurrency: int, ask: Ask, stop: asyncio.Event) -> int:
    """Each of `concurrency` slots takes the next item as soon as its last one ends; none starts
    once `stop` is set. Returns the most requests in flight at once."""
    positions = iter(range(count))

    async def slot_loop(slot: int) -> None:
        while not stop.is_set():
            position = next(positions, None)
            if position is None:
                return
            await ask(position, slot, time.perf_counter_ns())

    slots = min(concurrency, count)
    async with asyncio.TaskGroup() as tg:
        for slot in range(slots):
            tg.create_task(slot_loop(slot))
    return slots


async def open_loop(count: int, rate_rps: float, ask: Ask, stop: asyncio.Event) -> int:
    """Item i leaves i/rate s after the level starts, whatever is in flight; its record keeps
    that due time as scheduled_ns, so a late send shows rather than hides. A request takes the
    lowest free slot number. Returns the most requests in flight at once."""
    start = time.perf_counter_ns()
    free: list[int] = []
    opened = 0  # slot numbers handed out so far: the most in flight at once

    async def one(position: int, slot: int, due_ns: int) -> None:
        try:
            await ask(position, slot, due_ns)
        finally:
            heapq.heappush(free, slot)

    async with asyncio.TaskGroup() as tg:
        for position in range(count):
            due = start + round(position * 1e9 / rate_rps)
            if await wait_until(due, stop):
                break
            if free:
                slot = heapq.heappop(free)
            else:
                slot, opened = opened, opened + 1
            tg.create_task(one(position, slot, due))
    return opened
