"""Stopping a run early: the user's Ctrl-C, or the server becoming unreachable mid-run; and
waiting for a scheduled send unless stopped."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Literal

Status = Literal["complete", "partial", "interrupted"]


class RunControl:
    """Shared by the workers of a sweep: once stopped, no new request starts; in-flight ones
    drain for at most `drain_s`, then are cancelled (and recorded as such)."""

    def __init__(self, drain_s: float = 10.0) -> None:
        self.stop = asyncio.Event()
        self.drain_s = drain_s
        self.status: Status = "complete"
        self.reason: str | None = None

    def interrupt(self) -> None:
        if not self.stop.is_set():
            self.status = "interrupted"
            self.reason = "interrupted by the user (Ctrl-C)"
            self.stop.set()

    def server_lost(self, message: str) -> None:
        if not self.stop.is_set():
            self.status = "partial"
            self.reason = f"the server became unreachable mid-run: {message}"
            self.stop.set()


async def wait_until(due_ns: int, stop: asyncio.Event) -> bool:
    """Sleep until the perf_counter_ns clock passes `due_ns`, or `stop` is set; True when
    stopped. A timer may fire a little early (the loop's clock resolution): it waits again, so
    nothing scheduled leaves before its time."""
    while (delay := (due_ns - time.perf_counter_ns()) / 1e9) > 0 and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    return stop.is_set()
