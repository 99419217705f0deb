"""Progress without a terminal (logs, CI): a plain line at a fixed interval while a long phase
lasts, so a point, an eval task or a wait that takes minutes is never silent. On a terminal the
live bars and status line say the same, so nothing is printed there."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from rich.console import Console

HEARTBEAT_S = 10.0  # a line at least this often in a log; tests pass a shorter one


class Heartbeat:
    """Prints `line(elapsed_s)` every `every_s` seconds from `start` until `stop` (or the next
    `start`). A thread, not a task: a wait that blocks the event loop still reports."""

    def __init__(self, console: Console, every_s: float | None = None) -> None:
        every_s = HEARTBEAT_S if every_s is None else every_s  # read now: tests may set it
        if every_s <= 0:
            raise ValueError(f"the progress interval must be positive, not {every_s!r}")
        self.console = console
        self.every_s = every_s
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, line: Callable[[float], str]) -> None:
        self.stop()
        stop = threading.Event()
        started = time.monotonic()

        def beat() -> None:
            while not stop.wait(self.every_s):
                text = line(time.monotonic() - started)
                self.console.print(text, soft_wrap=True, markup=False, highlight=False)

        self._stop = stop
        self._thread = threading.Thread(target=beat, name="tokenbench-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join()
        self._stop = self._thread = None


def seconds(elapsed_s: float) -> str:
    """Elapsed time as a log line gives it: "42 s", "3 min 05 s"."""
    whole = int(elapsed_s)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"
