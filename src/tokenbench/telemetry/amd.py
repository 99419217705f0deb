"""AMD GPUs through `amdsmi`, when it is importable: power, utilisation, VRAM used, temperature.
Untested on hardware here (no AMD GPU); every failure is a failed reading, never an error."""

from __future__ import annotations

import asyncio
from typing import Any

from tokenbench.telemetry.nvml import reduce_gpus
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


class AmdSampler:
    source = "amd"

    def __init__(self, amdsmi: Any, handles: list[Any], interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self._smi = amdsmi
        self._handles = handles

    def _gpu(self, h: Any) -> dict[str, float]:
        smi = self._smi
        power = smi.amdsmi_get_power_info(h)
        activity = smi.amdsmi_get_gpu_activity(h)
        watts = power.get("current_socket_power") or power.get("average_socket_power") or 0
        return {
            "power_w": float(watts),
            "sm_util_pct": float(activity.get("gfx_activity") or 0),
            "mem_util_pct": float(activity.get("umc_activity") or 0),
            "memory_used_bytes": float(smi.amdsmi_get_gpu_memory_usage(
                h, smi.AmdSmiMemoryType.VRAM)),
        }  # fmt: skip

    def _read(self) -> Reading:
        try:
            return Reading(reduce_gpus([self._gpu(h) for h in self._handles]))
        except Exception as exc:
            return Reading(error=f"amdsmi: {str(exc).splitlines()[0][:120] or type(exc).__name__}")

    async def read(self) -> Reading:
        return await asyncio.to_thread(self._read)
