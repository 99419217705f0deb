"""Hardware summary of the machine running the benchmark (CPU, memory, OS, NVIDIA GPUs)."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

import psutil

from tokenbench.envelope.schema import GpuInfo, HardwareInfo


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _gpus() -> list[GpuInfo]:
    """NVIDIA GPUs through NVML when nvidia-ml-py and a driver are present; else none."""
    try:
        import pynvml  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:
        return []
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle).total
            out.append(
                GpuInfo(
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    memory_bytes=int(mem),
                    driver_version=driver.decode() if isinstance(driver, bytes) else str(driver),
                )
            )
        return out
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def fingerprint() -> HardwareInfo:
    return HardwareInfo(
        cpu_model=_cpu_model(),
        cpu_cores_logical=os.cpu_count() or 1,
        cpu_cores_physical=psutil.cpu_count(logical=False),
        memory_bytes=int(psutil.virtual_memory().total),
        os=platform.system(),
        kernel=platform.release(),
        machine=platform.machine(),
        gpus=_gpus(),
    )
