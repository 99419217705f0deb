"""A whole sweep through the library with a fake NVML meter injected: the envelope carries the
counter's energy, J/tok and J/request, and still verifies (metrics recomputed with it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.envelopes import envelope_paths, records
from tests.support.fake_nvml import FakeNvml
from tokenbench.energy.meter import open_meter
from tokenbench.envelope import keys
from tokenbench.envelope.schema import RunPredicate
from tokenbench.envelope.verify import VerifyError, open_envelope
from tokenbench.loadgen.sweep import RunSettings, run_sweep
from tokenbench.records import RequestRecord
from tokenbench.suites import load_suite
from tokenbench.verification import verify_file


class QuietProgress:
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.done = 0

    def phase(self, message: str) -> None: ...
    def note(self, message: str) -> None:
        self.notes.append(message)

    def point_started(self, label: str, total: int | None) -> None: ...
    def request_done(self, record: RequestRecord) -> None:
        self.done += 1

    def point_finished(self, path: Path, predicate: RunPredicate) -> None: ...


def test_counter_energy_lands_in_the_envelope(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    settings = RunSettings(
        suite=load_suite("llm.inference.chatbot-short"),
        output=tmp_path,
        base_url=scripted_server.base_url,
        model="ttft_ms=2;itl_ms=1;tokens=16",
        sweep=(2,),
        requests=4,
    )
    progress = QuietProgress()
    meter = open_meter(FakeNvml(gpus=2, energy_step_mj=100_000, power_mw=50_000))
    paths = asyncio.run(run_sweep(settings, progress, meter=meter))
    assert len(paths) == 1
    assert progress.done == 4 + 2
    assert any("created a signing key" in n for n in progress.notes)
    opened = verify_file(envelope_paths(tmp_path)[0], keys.trusted_keys())
    p = opened.predicate
    assert p.energy.method == "counter"
    assert p.energy.scope == "nvml:gpu0,gpu1 energy counter"
    assert p.energy.energy_j == pytest.approx(200.0)  # one 100 J step per GPU
    assert p.energy.idle_watts == pytest.approx(100.0)
    assert p.energy.window_s is not None
    assert p.energy.window_s > 0
    assert p.metrics.joules_per_token == pytest.approx(200.0 / (4 * 16))
    assert p.metrics.joules_per_request == pytest.approx(50.0)
    assert "joules_per_token" not in p.metrics.unmeasured


def test_unsigned_run_is_marked_and_refused_by_verify(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    settings = RunSettings(
        suite=load_suite("llm.inference.chatbot-short"),
        output=tmp_path,
        base_url=scripted_server.base_url,
        model="ttft_ms=1;itl_ms=1;tokens=4",
        sweep=(1,),
        requests=1,
        sign=False,
    )
    progress = QuietProgress()
    asyncio.run(run_sweep(settings, progress))
    assert progress.notes == []  # no key was created
    assert keys.load_private() is None
    path = envelope_paths(tmp_path)[0]
    assert open_envelope(path, [], require_signature=False).signer is None
    with pytest.raises(VerifyError) as info:
        verify_file(path, [])
    assert info.value.exit_code == 13


def test_cooldown_counts_tokens_and_energy_over_one_fixed_window(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    duration_s, cooldown_s = 1.5, 0.5
    settings = RunSettings(
        suite=load_suite("llm.inference.chatbot-short"),
        output=tmp_path,
        base_url=scripted_server.base_url,
        model="ttft_ms=5;itl_ms=20;tokens=16",
        sweep=(2,),
        requests=10_000,
        duration_s=duration_s,
        cooldown_s=cooldown_s,
    )
    meter = open_meter(FakeNvml(gpus=1, energy_step_mj=100_000, power_mw=50_000))
    asyncio.run(run_sweep(settings, QuietProgress(), meter=meter))
    opened = verify_file(envelope_paths(tmp_path)[0], keys.trusted_keys())
    p, rows = opened.predicate, records(opened)
    start, end = p.energy.window_start_ns, p.energy.window_end_ns
    assert start is not None
    assert end is not None
    # the energy counter was read when the cooldown began, not when the last request ended
    assert (end - start) / 1e9 == pytest.approx(duration_s - cooldown_s, abs=0.05)
    assert p.energy.window_s == pytest.approx((end - start) / 1e9, abs=0.01)
    arrived = sum(1 for r in rows if not r.warmup and r.ok for t in r.chunk_ns if start <= t <= end)
    assert any(r.cooldown for r in rows)
    assert p.metrics.window_output_tokens == arrived
    assert p.metrics.output_throughput_tok_per_s == pytest.approx(arrived / ((end - start) / 1e9))
    assert p.energy.energy_j is not None
    assert p.metrics.joules_per_token == pytest.approx(p.energy.energy_j / arrived)
