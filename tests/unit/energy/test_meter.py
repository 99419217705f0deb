from __future__ import annotations

import pytest

from tests.support.fake_nvml import FakeNvml
from tokenbench.energy.meter import NoMeter, open_meter
from tokenbench.metrics import summarize
from tokenbench.records import RequestRecord


def _ok(out: int) -> RequestRecord:
    return RequestRecord(0, 0, 0, False, "p", 0, send_ns=0, first_token_ns=1, chunk_ns=[1],
                         end_ns=10, output_tokens=out, tokens_from_usage=True)  # fmt: skip


def test_counter_meter_over_the_window_gives_joules_per_token() -> None:
    nvml = FakeNvml(gpus=2, energy_step_mj=250_000)
    meter = open_meter(nvml)
    assert meter.method == "counter"
    assert meter.scope == "nvml:gpu0,gpu1 energy counter"
    assert meter.idle_watts(0.05) == pytest.approx(120.0)  # 2 × 60 W
    meter.start()
    window = meter.stop()
    assert window.method == "counter"
    assert window.energy_j == pytest.approx(500.0)  # one 250 J step on each GPU
    assert window.idle_watts == pytest.approx(120.0)
    m = summarize([_ok(100), _ok(150)], energy_j=window.energy_j)
    assert m.joules_per_token == pytest.approx(2.0)
    assert m.joules_per_request == pytest.approx(250.0)


def test_no_gpu_means_null_energy_with_method_none() -> None:
    for meter in (open_meter(FakeNvml(gpus=0)), open_meter(FakeNvml(energy_supported=False))):
        assert isinstance(meter, NoMeter)
        assert meter.idle_watts(0.01) is None
        meter.start()
        window = meter.stop()
        assert (window.method, window.energy_j) == ("none", None)
        assert window.reason
        m = summarize([_ok(10)], energy_j=window.energy_j, energy_reason=window.reason)
        assert m.joules_per_token is None
        assert m.unmeasured["joules_per_token"] == window.reason


def test_counter_going_backwards_is_not_a_figure() -> None:
    nvml = FakeNvml(gpus=1)
    meter = open_meter(nvml)
    meter.start()
    nvml.counters[0] = 0  # driver reload
    window = meter.stop()
    assert window.method == "none"
    assert window.energy_j is None
    assert "backwards" in (window.reason or "")
