"""NVIDIA GPUs through NVML (nvidia-ml-py): power, utilisation, memory, clocks, temperature and
throttle reasons, summed or reduced over the visible GPUs."""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from tokenbench.telemetry.sampler import Reading


def open_nvml(nvml: ModuleType | Any | None = None) -> tuple[Any, list[Any]] | None:
    """The NVML module and a handle per GPU, or None where there is none. Tests inject `nvml`."""
    if nvml is None:
        try:
            import pynvml as nvml_module
        except ImportError:
            return None
        nvml = nvml_module
    try:
        nvml.nvmlInit()
        count = int(nvml.nvmlDeviceGetCount())
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    except Exception:
        return None
    return (nvml, handles) if handles else None


class NvmlSampler:
    """One reading over every GPU: power and memory summed, utilisation averaged, clocks the
    lowest, temperature the highest, throttle reasons OR-ed (NVML's bitmask)."""

    source = "nvml"

    def __init__(self, nvml: Any, handles: list[Any], interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self._nvml = nvml
        self._handles = handles

    def _gpu(self, h: Any) -> dict[str, float]:
        n = self._nvml
        util = n.nvmlDeviceGetUtilizationRates(h)
        return {
            "power_w": int(n.nvmlDeviceGetPowerUsage(h)) / 1000.0,
            "sm_util_pct": float(util.gpu),
            "mem_util_pct": float(util.memory),
            "memory_used_bytes": float(n.nvmlDeviceGetMemoryInfo(h).used),
            "sm_clock_mhz": float(n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_SM)),
            "mem_clock_mhz": float(n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_MEM)),
            "temperature_c": float(n.nvmlDeviceGetTemperature(h, 0)),  # NVML_TEMPERATURE_GPU
            "throttle_reasons": float(n.nvmlDeviceGetCurrentClocksThrottleReasons(h)),
        }

    def _read(self) -> Reading:
        try:
            gpus = [self._gpu(h) for h in self._handles]
        except Exception as exc:
            return Reading(error=f"NVML: {str(exc).splitlines()[0][:120] or type(exc).__name__}")
        return Reading(reduce_gpus(gpus))

    async def read(self) -> Reading:
        return await asyncio.to_thread(self._read)


def reduce_gpus(gpus: list[dict[str, float]]) -> dict[str, float]:
    """Per-GPU figures as one reading (shared with the AMD sampler)."""
    out: dict[str, float] = {}
    for key in gpus[0]:
        vals = [g[key] for g in gpus if key in g]
        if key.endswith(("_util_pct",)):
            out[key] = sum(vals) / len(vals)
        elif key.endswith("_clock_mhz"):
            out[key] = min(vals)
        elif key == "temperature_c":
            out[key] = max(vals)
        elif key == "throttle_reasons":
            mask = 0
            for v in vals:
                mask |= int(v)
            out[key] = float(mask)
        else:
            out[key] = sum(vals)
    return out
