"""The AMD sampler through a fake `amdsmi` module (the calls and shapes of ROCm's Python API):
power, utilisation, VRAM, clocks and temperature per GPU, "N/A" and missing sensors as fields
left out with a note, and no module or no GPU as no sampler."""

from __future__ import annotations

import asyncio
import sys
import types
from enum import IntEnum
from typing import Any

import pytest

from tokenbench.telemetry.amd import AmdSampler, open_amdsmi


class AmdSmiLibraryException(Exception):
    pass


class AmdSmiTemperatureType(IntEnum):
    EDGE = 0
    HOTSPOT = 1
    VRAM = 3


class AmdSmiTemperatureMetric(IntEnum):
    CURRENT = 0


class AmdSmiClkType(IntEnum):
    GFX = 1
    MEM = 5


class AmdSmiMemoryType(IntEnum):
    VRAM = 0


def fake_amdsmi(gpus: list[dict[str, Any]]) -> types.ModuleType:
    """amdsmi with one dict per GPU: its answers by call, an exception where it raises one."""
    smi = types.ModuleType("amdsmi")

    def answer(h: int, call: str, *key: object) -> Any:
        got = gpus[h][call]
        got = got[key[0]] if key else got
        if isinstance(got, Exception):
            raise got
        return got

    smi.amdsmi_init = lambda: None  # type: ignore[attr-defined]
    smi.amdsmi_get_processor_handles = lambda: list(range(len(gpus)))  # type: ignore[attr-defined]
    smi.amdsmi_get_power_info = lambda h: answer(h, "power")  # type: ignore[attr-defined]
    smi.amdsmi_get_gpu_activity = lambda h: answer(h, "activity")  # type: ignore[attr-defined]
    smi.amdsmi_get_gpu_memory_usage = (  # type: ignore[attr-defined]
        lambda h, kind: answer(h, "vram") if kind is AmdSmiMemoryType.VRAM else 0
    )
    smi.amdsmi_get_clock_info = lambda h, kind: answer(h, "clock", kind)  # type: ignore[attr-defined]
    smi.amdsmi_get_temp_metric = (  # type: ignore[attr-defined]
        lambda h, sensor, metric: (
            answer(h, "temp", sensor) if metric is AmdSmiTemperatureMetric.CURRENT else 0
        )
    )
    for enum in (AmdSmiTemperatureType, AmdSmiTemperatureMetric, AmdSmiClkType, AmdSmiMemoryType):
        setattr(smi, enum.__name__, enum)
    return smi


def mi300(**over: Any) -> dict[str, Any]:
    """An MI300X as amdsmi shows it: current socket power, no edge temperature sensor."""
    gpu: dict[str, Any] = {
        "power": {"current_socket_power": 550, "average_socket_power": "N/A", "power_limit": 750},
        "activity": {"gfx_activity": 90, "umc_activity": 40, "mm_activity": "N/A"},
        "vram": 100_000_000_000,
        "clock": {AmdSmiClkType.GFX: {"clk": 2100, "min_clk": 500, "max_clk": 2100},
                  AmdSmiClkType.MEM: {"clk": 1300, "min_clk": 900, "max_clk": 1300}},
        "temp": {AmdSmiTemperatureType.HOTSPOT: 70,
                 AmdSmiTemperatureType.EDGE: AmdSmiLibraryException("AMDSMI_STATUS_NOT_SUPPORTED")},
    }  # fmt: skip
    gpu.update(over)
    return gpu


def _sampler(monkeypatch: pytest.MonkeyPatch, gpus: list[dict[str, Any]]) -> AmdSampler:
    monkeypatch.setitem(sys.modules, "amdsmi", fake_amdsmi(gpus))
    found = open_amdsmi()
    assert found is not None
    return AmdSampler(*found)


def test_every_field_summed_or_reduced_over_the_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    mi250 = mi300(
        power={"current_socket_power": "N/A", "average_socket_power": 300},  # MI200: average
        activity={"gfx_activity": 50, "umc_activity": 20},
        temp={AmdSmiTemperatureType.HOTSPOT: 80, AmdSmiTemperatureType.EDGE: 60},
        clock={AmdSmiClkType.GFX: {"clk": 1700}, AmdSmiClkType.MEM: {"clk": 1600}},
    )
    reading = asyncio.run(_sampler(monkeypatch, [mi300(), mi250]).read())
    assert reading.error is None
    assert reading.note is None
    assert reading.values == {
        "power_w": 850.0, "sm_util_pct": 70.0, "mem_util_pct": 30.0,
        "memory_used_bytes": 200e9, "sm_clock_mhz": 1700.0, "mem_clock_mhz": 1300.0,
        "temperature_c": 80.0,
    }  # fmt: skip


def test_a_figure_the_gpu_does_not_report_is_left_out_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gpu = mi300(
        activity={"gfx_activity": "N/A", "umc_activity": "N/A"},  # a partition, say
        temp={AmdSmiTemperatureType.HOTSPOT: AmdSmiLibraryException("AMDSMI_STATUS_NOT_SUPPORTED"),
              AmdSmiTemperatureType.EDGE: 45},  # no hotspot sensor: the edge one
        clock={AmdSmiClkType.GFX: {"clk": 0xFFFFFFFF}, AmdSmiClkType.MEM: {"clk": 1300}},
    )  # fmt: skip
    sampler = _sampler(monkeypatch, [gpu])
    first, second = asyncio.run(sampler.read()), asyncio.run(sampler.read())
    assert first.values == {"power_w": 550.0, "memory_used_bytes": 100e9, "mem_clock_mhz": 1300.0,
                            "temperature_c": 45.0}  # fmt: skip
    assert first.note == ("amdsmi did not give sm_util_pct, mem_util_pct (not reported (N/A)); "
                          "sm_clock_mhz (not reported (4294967295))")  # fmt: skip
    assert second.values == first.values
    assert second.note is None


def test_nothing_readable_is_a_failed_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = AmdSmiLibraryException("AMDSMI_STATUS_DRM_ERROR")
    gpu = {"power": broken, "activity": broken, "vram": broken, "temp": {},
           "clock": {AmdSmiClkType.GFX: broken, AmdSmiClkType.MEM: broken}}  # fmt: skip
    reading = asyncio.run(_sampler(monkeypatch, [gpu]).read())
    assert reading.values == {}
    assert reading.error == "amdsmi: AMDSMI_STATUS_DRM_ERROR"


def test_no_module_or_no_gpu_is_no_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "amdsmi", None)  # import amdsmi raises ImportError
    assert open_amdsmi() is None
    monkeypatch.setitem(sys.modules, "amdsmi", fake_amdsmi([]))
    assert open_amdsmi() is None
