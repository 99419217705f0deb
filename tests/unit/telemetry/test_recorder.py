"""The recorder over a measured phase: start/interval/end readings, a failing sampler never
stops it; the engine-process series read for real; NVML through the fake, its power integral
against its energy counter (consistent, and a case where they disagree)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_nvml import FakeNvml, NVMLError_NotSupported
from tokenbench.energy.meter import open_meter
from tokenbench.metrics.telemetry import energy_warning, telemetry_summary
from tokenbench.telemetry.nvml import NvmlSampler, open_nvml, reduce_gpus
from tokenbench.telemetry.process import ProcessSampler
from tokenbench.telemetry.recorder import Recorder, local_samplers, recording
from tokenbench.telemetry.sampler import Reading, Sampler, read_rows


class Broken:
    source = "broken"
    interval_s = 0.05

    async def read(self) -> Reading:
        raise RuntimeError("boom")


def _clock() -> int:
    return time.perf_counter_ns()


async def _record(samplers: list[Sampler], path: Path, seconds: float) -> None:
    recorder = Recorder(samplers, path, _clock)
    async with recording(recorder):
        recorder.start()
        await asyncio.sleep(seconds)


def test_start_interval_and_end_readings_and_a_broken_sampler(tmp_path: Path) -> None:
    path = tmp_path / "t.telemetry.jsonl"
    asyncio.run(_record([Broken()], path, 0.3))
    rows = read_rows(path)
    assert rows[0].mark == "start"
    assert rows[-1].mark == "end"
    assert 4 <= len(rows) <= 9  # 0.3 s at 20 Hz, plus the start and end readings
    assert all(r.error == "RuntimeError: boom" for r in rows)


def test_nothing_is_read_when_the_measured_phase_never_started(tmp_path: Path) -> None:
    async def never_started() -> None:
        async with recording(Recorder([Broken()], tmp_path / "t.jsonl", _clock)):
            await asyncio.sleep(0.1)

    asyncio.run(never_started())
    assert not (tmp_path / "t.jsonl").exists()


def test_process_series_is_real(tmp_path: Path) -> None:
    path = tmp_path / "t.telemetry.jsonl"
    # a busy process of its own, as an engine would be (a busy loop in this process would
    # starve the sampler's thread of the GIL)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        sampler = ProcessSampler(frozenset({busy.pid}), interval_s=0.1)
        asyncio.run(_record([sampler], path, 1.0))
    finally:
        busy.kill()
        busy.wait()
    summary = telemetry_summary(read_rows(path), None)
    assert summary is not None
    # the start and end readings and at least one between (a loaded host takes fewer than 10)
    assert summary.samples["process"] >= 3
    assert summary.engine_rss_max_bytes
    assert summary.engine_rss_max_bytes > 1_000_000
    assert summary.engine_cpu_cores_mean is not None
    assert 0.1 < summary.engine_cpu_cores_mean < 2.5  # busy: about a core, less when shared
    assert "power_mean_w" in summary.unmeasured
    gone = asyncio.run(ProcessSampler(frozenset({2**22 + 7})).read())
    assert gone.error == "the engine process is gone or not readable"


def _nvml_window(tmp_path: Path, fake: FakeNvml) -> tuple[float | None, str | None]:
    meter = open_meter(fake)
    found = open_nvml(fake)
    assert found is not None
    path = tmp_path / "t.telemetry.jsonl"

    async def run() -> None:
        recorder = Recorder([NvmlSampler(*found, interval_s=0.05)], path, _clock)
        async with recording(recorder):
            meter.start()
            recorder.start()
            await asyncio.sleep(0.6)
        energy.append(meter.stop().energy_j)

    energy: list[float | None] = []
    asyncio.run(run())
    summary = telemetry_summary(read_rows(path), energy[0])
    assert summary is not None
    assert summary.power_max_w is not None
    assert summary.sm_util_mean_pct == 80
    assert summary.temperature_max_c == 61
    return summary.power_integral_j, energy_warning(summary)


def test_nvml_power_series_agrees_with_a_consistent_counter(tmp_path: Path) -> None:
    # two GPUs, each ramping 100 W + 50 W/s; the counter is the ramp's exact integral
    fake = FakeNvml(power_at=lambda t: 100 + 50 * t, energy_at=lambda t: 100 * t + 25 * t * t)
    joules, warning = _nvml_window(tmp_path, fake)
    assert joules == pytest.approx(2 * 0.6 * (100 + 50 * 0.3), rel=0.25)  # ~2 × 69 J
    assert warning is None


def test_nvml_power_series_disagreeing_with_the_counter_is_a_warning(tmp_path: Path) -> None:
    fake = FakeNvml(power_at=lambda t: 100 + 50 * t, energy_at=lambda t: 2 * (100 * t + 25 * t * t))
    _joules, warning = _nvml_window(tmp_path, fake)
    assert warning is not None
    assert "energy cross-check" in warning
    assert "tolerance ±10%" in warning


def test_an_unsupported_nvml_field_leaves_the_rest_of_the_reading(tmp_path: Path) -> None:
    # a MIG slice: no utilisation, and a board without throttle reasons; power still comes
    calls = {"nvmlDeviceGetUtilizationRates", "nvmlDeviceGetCurrentClocksThrottleReasons"}
    fake = FakeNvml(unsupported=frozenset(calls))
    found = open_nvml(fake)
    assert found is not None
    sampler = NvmlSampler(*found)
    first, second = asyncio.run(sampler.read()), asyncio.run(sampler.read())
    assert first.error is None
    assert first.values == {"power_w": 120.0, "memory_used_bytes": 80e9, "sm_clock_mhz": 1755,
                            "mem_clock_mhz": 2619, "temperature_c": 61}  # fmt: skip
    assert first.note == ("NVML did not give sm_util_pct, mem_util_pct, throttle_reasons "
                          "(Not Supported)")  # fmt: skip
    assert second.values == first.values
    assert second.note is None  # said once
    path = tmp_path / "t.telemetry.jsonl"
    asyncio.run(_record([NvmlSampler(*found, interval_s=0.05)], path, 0.2))
    summary = telemetry_summary(read_rows(path), None)
    assert summary is not None
    assert summary.power_max_w == 120
    assert summary.temperature_max_c == 61
    assert summary.sm_util_mean_pct is None
    assert summary.notes == {"nvml": first.note}
    assert summary.unmeasured["sm_util_mean_pct"] == first.note
    assert "power_mean_w" not in summary.unmeasured


def test_no_field_at_all_is_a_failed_reading() -> None:
    calls = {"nvmlDeviceGetUtilizationRates", "nvmlDeviceGetCurrentClocksThrottleReasons",
             "nvmlDeviceGetPowerUsage", "nvmlDeviceGetTemperature"}  # fmt: skip

    class Bare(FakeNvml):  # nothing answers
        def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
            raise NVMLError_NotSupported()

        def nvmlDeviceGetClockInfo(self, h: int, kind: int) -> int:
            raise NVMLError_NotSupported()

    found = open_nvml(Bare(unsupported=frozenset(calls)))
    assert found is not None
    assert asyncio.run(NvmlSampler(*found).read()).error == "NVML: Not Supported"


def test_a_sum_needs_every_gpu() -> None:
    one, other = {"power_w": 100.0, "sm_util_pct": 50.0}, {"sm_util_pct": 70.0}
    assert reduce_gpus([one, other]) == {"sm_util_pct": 60.0}  # no power: half of it is unknown


def test_local_samplers_pick_what_this_host_has() -> None:
    fake = FakeNvml()
    kinds = [s.source for s in local_samplers(frozenset({os.getpid()}), gpus=True, nvml=fake)]
    assert kinds == ["process", "nvml"]
    assert local_samplers(frozenset(), gpus=False) == []
