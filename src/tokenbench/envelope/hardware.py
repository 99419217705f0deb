"""Hardware fingerprint: CPU, memory, OS, NVIDIA GPUs through NVML. Identifiers (hostname,
machine-id, GPU UUID and serial) appear only as HMACs under a local secret."""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil

from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.keys import hmac_id
from tokenbench.envelope.schema import GpuInfo, HardwareInfo

T = TypeVar("T")

# The fields that describe the hardware itself: equal on two identical machines, unchanged by a
# reboot or a kernel update. Identifiers are excluded, so identical machines compare equal.
_STABLE_GPU_FIELDS = (
    "name", "memory_bytes", "vbios_version", "power_limit_w", "max_sm_clock_mhz",
    "max_memory_clock_mhz", "ecc_enabled", "mig_enabled",
)  # fmt: skip


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _try(fn: Callable[[], T]) -> T | None:
    try:
        return fn()
    except Exception:
        return None


def _gpu(nvml: Any, handle: Any, driver: str | None, cuda: str | None) -> GpuInfo:
    mem = _try(lambda: nvml.nvmlDeviceGetMemoryInfo(handle).total)
    limit_mw = _try(lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle))
    ecc = _try(lambda: nvml.nvmlDeviceGetEccMode(handle))
    mig = _try(lambda: nvml.nvmlDeviceGetMigMode(handle))
    uuid = _try(lambda: _text(nvml.nvmlDeviceGetUUID(handle)))
    serial = _try(lambda: _text(nvml.nvmlDeviceGetSerial(handle)))
    sm_clock = _try(lambda: nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_SM))
    mem_clock = _try(lambda: nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM))
    return GpuInfo(
        name=_text(nvml.nvmlDeviceGetName(handle)),
        memory_bytes=int(mem) if mem is not None else None,
        driver_version=driver,
        cuda_driver_version=cuda,
        vbios_version=_try(lambda: _text(nvml.nvmlDeviceGetVbiosVersion(handle))),
        power_limit_w=limit_mw / 1000.0 if limit_mw is not None else None,
        max_sm_clock_mhz=int(sm_clock) if sm_clock is not None else None,
        max_memory_clock_mhz=int(mem_clock) if mem_clock is not None else None,
        ecc_enabled=bool(ecc[0]) if ecc is not None else None,  # (current, pending)
        mig_enabled=bool(mig[0]) if mig is not None else None,
        uuid_hmac=hmac_id(uuid) if uuid else None,
        serial_hmac=hmac_id(serial) if serial else None,
    )


def gpus(nvml: Any | None = None) -> list[GpuInfo]:
    """NVIDIA GPUs through NVML (nvidia-ml-py), or a module injected by tests; [] without one."""
    if nvml is None:
        try:
            import pynvml as nvml_module
        except ImportError:
            return []
        nvml = nvml_module
    try:
        nvml.nvmlInit()
    except Exception:
        return []
    try:
        driver = _try(lambda: _text(nvml.nvmlSystemGetDriverVersion()))
        cuda_raw = _try(nvml.nvmlSystemGetCudaDriverVersion_v2)
        cuda = f"{cuda_raw // 1000}.{cuda_raw % 1000 // 10}" if isinstance(cuda_raw, int) else None
        return [
            _gpu(nvml, nvml.nvmlDeviceGetHandleByIndex(i), driver, cuda)
            for i in range(int(nvml.nvmlDeviceGetCount()))
        ]
    finally:
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()


def _machine_id() -> str | None:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with contextlib.suppress(OSError):
            value = Path(path).read_text().strip()
            if value:
                return value
    return None


def hardware_digest(
    cpu_model: str, cores: int, memory_bytes: int, machine: str, gpu_list: list[GpuInfo]
) -> str:
    stable = {
        "cpu_model": cpu_model,
        "cpu_cores_logical": cores,
        # Total memory varies by a few MB between boots (kernel reservations): round to GiB.
        "memory_gib": round(memory_bytes / 2**30),
        "machine": machine,
        "gpus": [{k: getattr(g, k) for k in _STABLE_GPU_FIELDS} for g in gpu_list],
    }
    return hashlib.sha256(canonical(stable)).hexdigest()


def fingerprint(nvml: Any | None = None) -> HardwareInfo:
    cpu = _cpu_model()
    cores = os.cpu_count() or 1
    memory = int(psutil.virtual_memory().total)
    machine = platform.machine()
    gpu_list = gpus(nvml)
    machine_id = _machine_id()
    return HardwareInfo(
        cpu_model=cpu,
        cpu_cores_logical=cores,
        cpu_cores_physical=psutil.cpu_count(logical=False),
        memory_bytes=memory,
        os=platform.system(),
        kernel=platform.release(),
        machine=machine,
        gpus=gpu_list,
        host_hmac=hmac_id(socket.gethostname()),
        machine_id_hmac=hmac_id(machine_id) if machine_id else None,
        fingerprint=hardware_digest(cpu, cores, memory, machine, gpu_list),
    )
