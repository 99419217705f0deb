"""A stand-in for the `pynvml` module: the calls tokenbench makes, with scripted answers.

CI has no GPU; the real NVML path was checked on an H100 host (docs/performance.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class NVMLError(Exception):
    pass


@dataclass
class _Mem:
    total: int


@dataclass
class FakeNvml:
    gpus: int = 2
    energy_step_mj: int = 250_000  # each counter read advances this much (250 J)
    power_mw: int = 60_000
    energy_supported: bool = True
    counters: list[int] = field(default_factory=list)
    NVML_CLOCK_SM: int = 1
    NVML_CLOCK_MEM: int = 2

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
        return _Mem(85_520_809_984)

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
        self.counters[h] += self.energy_step_mj
        return self.counters[h]

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        return self.power_mw
