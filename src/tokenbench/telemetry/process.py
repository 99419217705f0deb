"""A local engine's processes (the embedded llama-server): cumulative CPU time and RSS (psutil)."""

from __future__ import annotations

import asyncio

import psutil

from tokenbench.telemetry.sampler import Reading


class ProcessSampler:
    """Sums over the engine's pids and their children; CPU as cumulative seconds (`cpu_s`), so
    the summary's cores are Δcpu_s / Δt between readings."""

    source = "process"

    def __init__(self, pids: frozenset[int], interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self._pids = sorted(pids)

    def _read(self) -> Reading:
        cpu_s = 0.0
        rss = 0
        found = 0
        for pid in self._pids:
            try:
                proc = psutil.Process(pid)
                with proc.oneshot():
                    procs = [proc, *proc.children(recursive=True)]
                for p in procs:
                    times = p.cpu_times()
                    cpu_s += times.user + times.system
                    rss += p.memory_info().rss
                found += 1
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        if not found:
            return Reading(error="the engine process is gone or not readable")
        return Reading({"cpu_s": cpu_s, "rss_bytes": float(rss), "processes": float(found)})

    async def read(self) -> Reading:
        return await asyncio.to_thread(self._read)
