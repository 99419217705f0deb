"""Runs that last a set time, warmup that stays bounded, a rate search whose probes reach a
steady state, and points named by what they sweep — against the scripted server."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run
from tokenbench.loadgen.search import MIN_PROBE_S
from tokenbench.loadgen.sweep import DEFAULT_WARMUP_MAX
from tokenbench.suites.suite import load_suite

CHAT = "llm.inference.chatbot-short"
FAST = "ttft_ms=5;itl_ms=1;tokens=4"


def test_duration_keeps_the_load_up_past_the_suites_requests(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    suite_requests = load_suite(CHAT).workload.prompts
    duration = 2.0
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model", FAST,
                 "--sweep", "2", "--duration", str(duration),
                 "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    p = open_run(envelope_paths(tmp_path)[0]).predicate
    assert p.parameters.load.requests is None  # the suite's count is no cap under --duration
    assert p.parameters.load.bounded_by == "duration"
    assert p.metrics.requests_measured > suite_requests
    assert p.metrics.duration_s is not None
    assert p.metrics.duration_s >= duration


def test_requests_and_duration_end_at_whichever_comes_first(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model", FAST,
                 "--sweep", "1", "--requests", "3", "--duration", "60",
                 "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    p = open_run(envelope_paths(tmp_path)[0]).predicate
    assert p.parameters.load.bounded_by == "requests"
    assert p.metrics.requests_measured == 3


def test_an_open_loop_lasts_its_duration(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    rate, duration = 20.0, 2.0
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model", FAST,
                 "--rate", str(rate), "--arrival", "constant", "--duration", str(duration),
                 "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    p = open_run(envelope_paths(tmp_path)[0]).predicate
    assert p.parameters.load.bounded_by == "duration"
    assert p.metrics.requests_measured == int(rate * duration)  # the whole schedule, no more
    assert "✓ 20 req/s:" in proc.stderr  # the point is named by its rate, not the cap


def test_the_default_warmup_is_capped_and_the_cap_is_stated(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    slots = DEFAULT_WARMUP_MAX + 1
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model", FAST,
                 "--sweep", str(slots), "--requests", "2", "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    load = open_run(envelope_paths(tmp_path)[0]).predicate.parameters.load
    assert load.warmup_requests == DEFAULT_WARMUP_MAX
    assert load.warmup_capped_at == DEFAULT_WARMUP_MAX
    assert f"warmup capped at {DEFAULT_WARMUP_MAX}" in proc.stdout + proc.stderr


def test_context_sweep_points_are_named_by_their_input_length(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model", FAST,
                 "--input-lengths", "32,64", "--requests", "1",
                 "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for n in (32, 64):
        assert f"✓ input {n} tokens:" in proc.stderr  # progress goes to stderr
    assert "concurrency 1:" not in proc.stderr
    labels = {open_run(p).predicate.parameters.load.label for p in envelope_paths(tmp_path)}
    assert labels == {"input 32 tokens", "input 64 tokens"}


def test_a_probe_that_hits_the_in_flight_cap_fails_and_the_answer_states_its_bracket(
    scripted_server_factory: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    # The server serves 2 streams at once, 50 ms each (40 req/s); the rest queue. A generous
    # SLO never fails; only the cap of 4 in flight can: past capacity the queue fills the cap.
    server = scripted_server_factory("--capacity", "2")
    cap = 4
    proc = bench("run", CHAT, "--base-url", server.base_url, "--model",
                 "ttft_ms=50;itl_ms=1;tokens=1", "--find-max-rate", "--rate", "10",
                 "--arrival", "constant", "--concurrency", str(cap), "--warmup", "0",
                 "--slo", "e2e_ms=600000", "--output", str(tmp_path), timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    probes = [open_run(p).predicate for p in envelope_paths(tmp_path)]
    capped = [p for p in probes if any("in-flight cap" in r for r in p.validity.reasons)]
    assert capped, [p.validity.reasons for p in probes]
    for p in probes:  # each probe ran long enough to settle, bounded by time
        assert p.parameters.load.duration_limit_s is not None
        assert p.parameters.load.duration_limit_s >= MIN_PROBE_S
        assert p.parameters.load.bounded_by == "duration"
    found = re.search(
        r"meeting the SLO: ([\d.]+) req/s \(bracket \[([\d.]+), ([\d.]+)\) req/s", proc.stdout
    )
    assert found, proc.stdout
    best, low, high = (float(g) for g in found.groups())
    assert best == low
    lowest_capped = min(p.parameters.load.rate_rps or 0.0 for p in capped)
    assert best < high <= lowest_capped
    assert "that probe's schedule offered" in proc.stdout
    assert f"{high:g} req/s failed: " in proc.stdout
