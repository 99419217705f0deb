"""Energy meters. NVML's total-energy counter (millijoules since driver load, per GPU) is read at
the start and end of the measured window; idle power is sampled before the run. Where no counter
exists the method is `none` and every energy figure stays null: nothing is estimated."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class EnergyWindow:
    method: str  # "counter" | "sampled" | "estimated" | "none"
    scope: str | None  # what the figure covers, e.g. "nvml:gpu0,gpu1 total energy counter"
    energy_j: float | None
    window_s: float | None
    idle_watts: float | None
    reason: str | None  # why there is no figure


class Meter(Protocol):
    method: str
    scope: str | None

    def idle_watts(self, seconds: float) -> float | None: ...
    def start(self) -> None: ...
    def stop(self) -> EnergyWindow: ...


class NoMeter:
    """No energy source: every figure null, with the reason."""

    method = "none"
    scope: str | None = None

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def idle_watts(self, seconds: float) -> float | None:
        return None

    def start(self) -> None:
        pass

    def stop(self) -> EnergyWindow:
        return EnergyWindow("none", None, None, None, None, self.reason)


class NvmlCounterMeter:
    """Sum of `nvmlDeviceGetTotalEnergyConsumption` deltas over the given GPUs."""

    method = "counter"

    def __init__(self, nvml: Any, handles: list[Any], indices: list[int]) -> None:
        self._nvml = nvml
        self._handles = handles
        self.scope: str | None = "nvml:" + ",".join(f"gpu{i}" for i in indices) + " energy counter"
        self._start_mj: list[int] = []
        self._start_ns = 0
        self._idle: float | None = None

    def _counters(self) -> list[int]:
        return [int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self._handles]

    def idle_watts(self, seconds: float) -> float | None:
        """Mean board power over `seconds` with nothing running (NVML power readings, mW)."""
        samples: list[float] = []
        deadline = time.monotonic() + seconds
        while True:
            try:
                mw = sum(int(self._nvml.nvmlDeviceGetPowerUsage(h)) for h in self._handles)
            except Exception:
                return None
            samples.append(mw / 1000.0)
            if time.monotonic() >= deadline:
                break
            time.sleep(min(0.1, seconds))
        self._idle = sum(samples) / len(samples)
        return self._idle

    def start(self) -> None:
        self._start_ns = time.perf_counter_ns()
        self._start_mj = self._counters()

    def stop(self) -> EnergyWindow:
        end = self._counters()
        window_s = (time.perf_counter_ns() - self._start_ns) / 1e9
        delta_mj = sum(b - a for a, b in zip(self._start_mj, end, strict=True))
        if delta_mj < 0:  # counter reset (driver reload) inside the window
            reason = "the NVML energy counter went backwards during the run"
            return EnergyWindow("none", self.scope, None, window_s, self._idle, reason)
        return EnergyWindow("counter", self.scope, delta_mj / 1000.0, window_s, self._idle, None)


def open_meter(nvml: ModuleType | Any | None = None) -> Meter:
    """The best meter available here: NVML's counter on every visible NVIDIA GPU, else none.
    `nvml` lets tests inject a fake module; by default `pynvml` (nvidia-ml-py) is used."""
    if nvml is None:
        try:
            import pynvml as nvml_module
        except ImportError:
            return NoMeter("nvidia-ml-py is not installed")
        nvml = nvml_module
    try:
        nvml.nvmlInit()
        count = int(nvml.nvmlDeviceGetCount())
    except Exception:
        return NoMeter("no NVIDIA driver (NVML) on this host")
    if count == 0:
        return NoMeter("no NVIDIA GPU on this host")
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    try:
        for h in handles:
            nvml.nvmlDeviceGetTotalEnergyConsumption(h)
    except Exception:
        return NoMeter("the GPU has no NVML total-energy counter")
    return NvmlCounterMeter(nvml, handles, list(range(count)))
