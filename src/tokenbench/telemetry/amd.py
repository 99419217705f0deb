"""AMD GPUs through `amdsmi`, when it is importable: power, utilisation, VRAM used, GFX and memory
clocks, temperature. Tested with a fake amdsmi only (no AMD GPU here); each field is read alone."""

from __future__ import annotations

import asyncio
from typing import Any

from tokenbench.telemetry.nvml import Fields, GpuFields, read_fields
from tokenbench.telemetry.sampler import Reading


def open_amdsmi() -> tuple[Any, list[Any]] | None:
    """The amdsmi module and its GPU handles, or None where it is missing or finds none."""
    try:
        import amdsmi  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    try:
        amdsmi.amdsmi_init()
        handles = list(amdsmi.amdsmi_get_processor_handles())
    except Exception:
        return None
    return (amdsmi, handles) if handles else None


# what amdsmi gives for a figure the GPU does not report, besides "N/A" (ROCm 6.1 on): the raw
# all-ones value of the C field (uint16 on ROCm 6.0, uint32 and uint64 in newer structs)
_SENTINELS = frozenset({0xFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF})


def number(value: Any) -> float:
    """A figure as amdsmi gives it; ValueError for one the GPU does not report."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value in _SENTINELS:
        raise ValueError(f"not reported ({value})")
    return float(value)


def first_number(info: dict[str, Any], *keys: str) -> float:
    """The first of `keys` that holds a figure (power: the socket's current power where the
    board reports it, else its average, as on MI200; `socket_power` in some releases)."""
    for key in keys:
        try:
            return number(info.get(key))
        except ValueError:
            continue
    raise ValueError(f"not reported ({', '.join(keys)})")


class AmdSampler:
    source = "amd"

    def __init__(self, amdsmi: Any, handles: list[Any], interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self._smi = amdsmi
        self._handles = handles
        self._fields = GpuFields("amdsmi")

    def _temperature(self, h: Any) -> float:
        """The hotspot (junction) sensor, the die's hottest point and what throttling follows;
        the edge sensor where there is no hotspot one (MI300 reports no edge temperature)."""
        smi = self._smi
        kinds = smi.AmdSmiTemperatureType
        try:
            current = smi.amdsmi_get_temp_metric(
                h, kinds.HOTSPOT, smi.AmdSmiTemperatureMetric.CURRENT
            )
            return number(current)
        except Exception:  # no hotspot sensor: the edge one, whose error is the field's
            current = smi.amdsmi_get_temp_metric(h, kinds.EDGE, smi.AmdSmiTemperatureMetric.CURRENT)
            return number(current)

    def _gpu(self, h: Any) -> Fields:
        smi = self._smi

        def activity() -> tuple[float, float]:
            got = smi.amdsmi_get_gpu_activity(h)
            return number(got.get("gfx_activity")), number(got.get("umc_activity"))

        def power() -> tuple[float]:
            info = smi.amdsmi_get_power_info(h)
            return (first_number(info, "current_socket_power", "average_socket_power",
                                 "socket_power"),)  # fmt: skip

        def clock(kind: Any) -> tuple[float]:
            return (number(smi.amdsmi_get_clock_info(h, kind).get("clk")),)  # MHz

        return {
            ("power_w",): power,
            ("sm_util_pct", "mem_util_pct"): activity,
            ("memory_used_bytes",): lambda: (
                float(smi.amdsmi_get_gpu_memory_usage(h, smi.AmdSmiMemoryType.VRAM)),
            ),
            ("sm_clock_mhz",): lambda: clock(smi.AmdSmiClkType.GFX),
            ("mem_clock_mhz",): lambda: clock(smi.AmdSmiClkType.MEM),
            ("temperature_c",): lambda: (self._temperature(h),),
        }

    def _read(self) -> Reading:
        return self._fields.reading([read_fields(self._gpu(h)) for h in self._handles])

    async def read(self) -> Reading:
        return await asyncio.to_thread(self._read)
