from __future__ import annotations

import os

from tokenbench.envelope.hardware import fingerprint
from tokenbench.envelope.schema import GpuInfo


def test_fingerprint_of_this_machine() -> None:
    hw = fingerprint()
    assert hw.cpu_cores_logical == os.cpu_count()
    assert hw.memory_bytes > 0
    assert hw.cpu_model
    assert hw.os
    assert hw.kernel
    assert hw.machine
    # GPUs come from NVML when a driver is present; on a machine without one the list is empty.
    assert all(g.name for g in hw.gpus)


def test_label_prefers_gpus() -> None:
    hw = fingerprint().model_copy(update={"gpus": [GpuInfo(name="NVIDIA H100 80GB HBM3")] * 2})
    assert hw.label == "2× NVIDIA H100 80GB HBM3"
    assert "cores" in fingerprint().model_copy(update={"gpus": []}).label
