"""NVIDIA GPUs through NVML (nvidia-ml-py): power, utilisation, memory, clocks, temperature and
throttle reasons, summed or reduced over the visible GPUs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
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


# A reading's fields, each group read by one call (utilisation gives SM and memory together)
Fields = dict[tuple[str, ...], Callable[[], Sequence[float]]]


def read_fields(fields: Fields) -> tuple[dict[str, float], dict[str, str]]:
    """Each group read on its own: one the GPU does not support (NVML's NotSupported for
    utilisation on a MIG slice, throttle reasons on older boards) is left out with its error,
    never taking power or the rest of the reading with it."""
    values: dict[str, float] = {}
    failed: dict[str, str] = {}
    for keys, read in fields.items():
        try:
            got = [float(v) for v in read()]
        except Exception as exc:
            why = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
            failed.update(dict.fromkeys(keys, why))
            continue
        values.update(zip(keys, got, strict=True))
    return values, failed


class GpuFields:
    """What a GPU sampler shares: every GPU's fields read one by one, a field that was not read
    named once (the first reading without it) in that reading's note, an error only when no
    field of any GPU could be read."""

    def __init__(self, library: str) -> None:
        self._library = library
        self._noted: set[str] = set()

    def reading(self, per_gpu: list[tuple[dict[str, float], dict[str, str]]]) -> Reading:
        failed = {k: why for _values, errors in per_gpu for k, why in errors.items()}
        gpus = [values for values, _errors in per_gpu]
        if not any(gpus):
            first = next(iter(failed.values()), "no GPU")
            return Reading(error=f"{self._library}: {first}")
        by_reason: dict[str, list[str]] = {}
        for key, why in failed.items():
            if key not in self._noted:
                self._noted.add(key)
                by_reason.setdefault(why, []).append(key)
        note = None
        if by_reason:
            note = f"{self._library} did not give " + "; ".join(
                f"{', '.join(keys)} ({why})" for why, keys in by_reason.items()
            )
        return Reading(reduce_gpus(gpus), note=note)


class NvmlSampler:
    """One reading over every GPU: power and memory summed, utilisation averaged, clocks the
    lowest, temperature the highest, throttle reasons OR-ed (NVML's bitmask)."""

    source = "nvml"

    def __init__(self, nvml: Any, handles: list[Any], interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self._nvml = nvml
        self._handles = handles
        self._fields = GpuFields("NVML")
        # newer NVML calls them clock event reasons and deprecates the throttle-reasons call
        self._reasons: Callable[[Any], int] = (
            getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
            or nvml.nvmlDeviceGetCurrentClocksThrottleReasons
        )

    def _gpu(self, h: Any) -> Fields:
        n = self._nvml

        def util() -> tuple[float, float]:
            rates = n.nvmlDeviceGetUtilizationRates(h)
            return rates.gpu, rates.memory

        return {
            ("power_w",): lambda: (int(n.nvmlDeviceGetPowerUsage(h)) / 1000.0,),
            ("sm_util_pct", "mem_util_pct"): util,
            ("memory_used_bytes",): lambda: (n.nvmlDeviceGetMemoryInfo(h).used,),
            ("sm_clock_mhz",): lambda: (n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_SM),),
            ("mem_clock_mhz",): lambda: (n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_MEM),),
            ("temperature_c",): lambda: (n.nvmlDeviceGetTemperature(h, 0),),  # _GPU sensor
            ("throttle_reasons",): lambda: (self._reasons(h),),
        }

    def _read(self) -> Reading:
        return self._fields.reading([read_fields(self._gpu(h)) for h in self._handles])

    async def read(self) -> Reading:
        return await asyncio.to_thread(self._read)


def reduce_gpus(gpus: list[dict[str, float]]) -> dict[str, float]:
    """Per-GPU figures as one reading (shared with the AMD sampler). A sum (power, memory) is
    given only when every GPU gave its part: a partial sum would read as a lower figure."""
    out: dict[str, float] = {}
    for key in dict.fromkeys(k for g in gpus for k in g):
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
        elif len(vals) == len(gpus):
            out[key] = sum(vals)
    return out
