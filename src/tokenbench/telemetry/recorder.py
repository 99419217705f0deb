"""Runs the samplers as tasks over a point's measured phase: one reading each at its start, one
every interval, one at its end; every reading a row of the telemetry sidecar."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import IO, Any

from tokenbench.telemetry.amd import AmdSampler, open_amdsmi
from tokenbench.telemetry.nvml import NvmlSampler, open_nvml
from tokenbench.telemetry.process import ProcessSampler
from tokenbench.telemetry.sampler import Mark, Reading, Row, Sampler


class Recorder:
    """`start` (a plain callback: the measured phase began) and `stop` (it ended) bound the
    readings; `run` is the task that takes them and returns once the end readings are written.
    A sampler that fails or raises gives a row with its error: it never stops the run."""

    def __init__(self, samplers: Sequence[Sampler], path: Path, clock: Callable[[], int]) -> None:
        self.samplers = list(samplers)
        self.path = path
        self._clock = clock
        self._began = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._out: IO[bytes] | None = None

    def start(self) -> None:
        self._began = True
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        if not self.samplers:
            return
        await self._wake.wait()
        if not self._began:
            return
        self._out = self.path.open("ab")
        try:
            async with asyncio.TaskGroup() as tg:
                for sampler in self.samplers:
                    tg.create_task(self._loop(sampler))
        finally:
            self._out.close()

    async def _loop(self, sampler: Sampler) -> None:
        loop = asyncio.get_running_loop()
        await self._take(sampler, "start")
        first = loop.time()
        k = 1
        while not self._stopping.is_set():
            try:
                async with asyncio.timeout_at(first + k * sampler.interval_s):
                    await self._stopping.wait()
            except TimeoutError:
                await self._take(sampler, None)
                # a slow reading skips the ticks it overran rather than bunching readings up
                k = max(k + 1, int((loop.time() - first) / sampler.interval_s) + 1)
        await self._take(sampler, "end")

    async def _take(self, sampler: Sampler, mark: Mark | None) -> None:
        t_ns = self._clock()
        try:
            reading = await sampler.read()
        except Exception as exc:  # a sampler's bug must not stop the measurement either
            reading = Reading(error=f"{type(exc).__name__}: {str(exc)[:120]}")
        row = Row(sampler.source, t_ns, reading.values, reading.buckets, reading.error, mark,
                  reading.note)  # fmt: skip
        assert self._out is not None
        self._out.write(row.to_json() + b"\n")
        self._out.flush()


def local_samplers(
    pids: frozenset[int], gpus: bool, nvml: Any | None = None, process_interval_s: float = 0.5,
    gpu_interval_s: float = 0.1,
) -> list[Sampler]:  # fmt: skip
    """The engine process's series (when its pids are known) and, for an engine on this host
    (`gpus`), NVML's (or amdsmi's) at 10 Hz. `nvml` lets tests inject a fake module."""
    samplers: list[Sampler] = [ProcessSampler(pids, process_interval_s)] if pids else []
    if gpus:
        found = open_nvml(nvml)
        if found is not None:
            samplers.append(NvmlSampler(*found, interval_s=gpu_interval_s))
        elif (amd := open_amdsmi()) is not None:
            samplers.append(AmdSampler(*amd, interval_s=gpu_interval_s))
    return samplers


@contextlib.asynccontextmanager
async def recording(recorder: Recorder) -> AsyncIterator[Recorder]:
    """Run the recorder beside the body; on leaving, its end readings are taken and written.
    (A plain task, not a TaskGroup around the body: the body's own errors stay unwrapped.)"""
    task = asyncio.create_task(recorder.run())
    try:
        yield recorder
    finally:
        recorder.stop()
        await task
