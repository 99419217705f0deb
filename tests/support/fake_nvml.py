"""A stand-in for the `pynvml` module: the calls tokenbench makes, with scripted answers.

CI has no GPU; the real NVML path was checked on an H100 host (docs/performance.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):  # pynvml's name
    def __str__(self) -> str:
        return "Not Supported"


@dataclass
class _Mem:
    total: int
    used: int = 0


@dataclass
class _Util:
    gpu: int
    memory: int


@dataclass
class FakeNvml:
    gpus: int = 2
    energy_step_mj: int = 250_000  # each counter read advances this much (250 J)
    power_mw: int = 60_000
    energy_supported: bool = True
    counters: list[int] = field(default_factory=list)
    NVML_CLOCK_SM: int = 1
    NVML_CLOCK_MEM: int = 2
    # Over time (telemetry): power in W at t seconds since the fake was made, and the energy
    # counter in J at t (its integral, when consistent). None: the fixed readings above.
    power_at: Callable[[float], float] | None = None
    energy_at: Callable[[float], float] | None = None
    throttle_mask: int = 0
    # calls that raise NVMLError_NotSupported, as on a MIG slice (utilisation) or older boards
    unsupported: frozenset[str] = frozenset()
    t0: float = field(default_factory=time.monotonic)

    def _supported(self, call: str) -> None:
        if call in self.unsupported:
            raise NVMLError_NotSupported()

    def __post_init__(self) -> None:
        self.counters = [1_000_000_000] * self.gpus

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...

    def nvmlDeviceGetCount(self) -> int:
        return self.gpus

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, h: int) -> bytes:
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetMemoryInfo(self, h: int) -> _Mem:
        return _Mem(85_520_809_984, used=40_000_000_000)

    def nvmlDeviceGetUtilizationRates(self, h: int) -> _Util:
        self._supported("nvmlDeviceGetUtilizationRates")
        return _Util(80, 40)

    def nvmlDeviceGetClockInfo(self, h: int, kind: int) -> int:
        return 1755 if kind == self.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:
        self._supported("nvmlDeviceGetTemperature")
        return 61

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h: int) -> int:
        self._supported("nvmlDeviceGetCurrentClocksThrottleReasons")
        return self.throttle_mask

    def _t(self) -> float:
        return time.monotonic() - self.t0

    def nvmlSystemGetDriverVersion(self) -> str:
        return "580.159.04"

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return 13000

    def nvmlDeviceGetVbiosVersion(self, h: int) -> str:
        return "96.00.99.00.01"

    def nvmlDeviceGetEnforcedPowerLimit(self, h: int) -> int:
        return 700_000

    def nvmlDeviceGetMaxClockInfo(self, h: int, kind: int) -> int:
        return 1980 if kind == self.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetEccMode(self, h: int) -> tuple[int, int]:
        return (1, 1)

    def nvmlDeviceGetMigMode(self, h: int) -> Any:
        raise NVMLError("Not Supported")

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return f"GPU-RAW-UUID-{h}"

    def nvmlDeviceGetSerial(self, h: int) -> str:
        return f"RAW-SERIAL-{h}"

    def nvmlDeviceGetTotalEnergyConsumption(self, h: int) -> int:
        if not self.energy_supported:
            raise NVMLError("Not Supported")
        if self.energy_at is not None:
            return 1_000_000_000 + int(self.energy_at(self._t()) * 1000)
        self.counters[h] += self.energy_step_mj
        return self.counters[h]

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        self._supported("nvmlDeviceGetPowerUsage")
        if self.power_at is not None:
            return int(self.power_at(self._t()) * 1000)
        return self.power_mw
