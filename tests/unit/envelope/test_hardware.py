from __future__ import annotations

import os
import socket

from tests.support.fake_nvml import FakeNvml
from tokenbench.envelope.hardware import fingerprint


def test_fingerprint_of_this_machine() -> None:
    hw = fingerprint(nvml=FakeNvml(gpus=0))
    assert hw.cpu_cores_logical == os.cpu_count()
    assert hw.memory_bytes > 0
    assert hw.cpu_model
    assert hw.os
    assert hw.machine
    assert hw.gpus == []
    assert hw.label.endswith(f"×{os.cpu_count()}")
    assert len(hw.fingerprint) == 64


def test_gpus_through_nvml_with_identifiers_hmacd() -> None:
    hw = fingerprint(nvml=FakeNvml(gpus=2))
    assert hw.label == "2× NVIDIA H100 80GB HBM3"
    g = hw.gpus[0]
    assert (g.memory_bytes, g.driver_version, g.cuda_driver_version) == (
        85_520_809_984, "580.159.04", "13.0",
    )  # fmt: skip
    assert (g.vbios_version, g.power_limit_w) == ("96.00.99.00.01", 700.0)
    assert (g.max_sm_clock_mhz, g.max_memory_clock_mhz) == (1980, 2619)
    assert g.ecc_enabled is True
    assert g.mig_enabled is None  # not supported: unknown, not guessed
    dumped = hw.model_dump_json()
    assert "GPU-RAW-UUID" not in dumped
    assert "RAW-SERIAL" not in dumped
    assert socket.gethostname() not in dumped
    assert g.uuid_hmac
    assert g.uuid_hmac != hw.gpus[1].uuid_hmac


def test_fingerprint_covers_hardware_not_identifiers() -> None:
    a = fingerprint(nvml=FakeNvml(gpus=2))
    b = fingerprint(nvml=FakeNvml(gpus=2))
    assert a.fingerprint == b.fingerprint  # same hardware, same digest
    assert fingerprint(nvml=FakeNvml(gpus=1)).fingerprint != a.fingerprint
    assert fingerprint(nvml=FakeNvml(gpus=0)).fingerprint != a.fingerprint
