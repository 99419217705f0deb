"""A run against an engine whose /metrics is absent, malformed, huge or slow: `bench run` finishes,
the envelope verifies, and `server` says the series is missing and why. The contrast: a live
vLLM-shaped /metrics (reference server --metrics live) gives the whole series, reconciled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, sidecar
from tokenbench.envelope import keys
from tokenbench.envelope.schema import TELEMETRY_SUFFIX, RunPredicate
from tokenbench.telemetry.sampler import Row, read_rows
from tokenbench.verification import verify_file

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("absent", "/metrics: HTTP 404"),
        ("malformed", "/metrics: could not convert string to float: 'not-a-number'"),
        ("huge", "/metrics: body larger than 4 MiB; not parsed"),
        ("slow", "no answer within 0.5 s"),  # the scrape waits half the 1 s interval
    ],
)
def test_a_bad_metrics_endpoint_leaves_the_series_missing_and_says_why(
    scripted_server_factory: Callable[..., ScriptedServer], tmp_path: Path, mode: str,
    reason: str,
) -> None:  # fmt: skip
    server = scripted_server_factory("--engine", "vllm", "--metrics", mode)
    predicate, rows = _run(server, tmp_path)
    assert predicate.target.engine.name == "vllm"
    assert predicate.metrics.requests_ok == 4  # the run itself is untouched
    assert predicate.validity.valid
    s = predicate.server
    assert s is not None
    assert (s.series, s.failures, s.reason) == ("missing", s.scrapes, reason)
    assert s.scrapes >= 2  # the measured phase's start and end scrapes at least
    assert s.unmeasured["generation_tokens"] == (
        "the scrape at the measured phase's start or end failed"
    )
    assert all(r.error == reason for r in rows if r.source == "prometheus")


def test_a_live_vllm_metrics_endpoint_gives_the_whole_series(
    scripted_server_factory: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = scripted_server_factory("--engine", "vllm", "--metrics", "live")
    predicate, rows = _run(server, tmp_path)
    s = predicate.server
    assert s is not None
    assert (s.series, s.failures, s.reason) == ("complete", 0, None)
    assert s.generation_tokens == 4 * 8  # 4 measured requests of the scenario's 8 tokens
    assert s.preemptions == 0
    assert "spec_acceptance_rate" in s.unmeasured  # no speculative series: no draft model
    rec = predicate.reconciliation
    assert rec is not None
    figures = {f.figure: f for f in rec.figures}
    # reconciled against vLLM's counters and histograms (their timing is the host's to judge)
    assert figures.keys() == {"prompt_tokens", "generation_tokens", "ttft_mean_ms", "e2e_mean_ms"}
    assert figures["generation_tokens"].difference == 0
    # the TTFT histogram's +Inf bucket made it through the sidecar
    end = next(r for r in rows if r.source == "prometheus" and r.mark == "end")
    assert end.buckets["ttft_histogram"][-1] == (float("inf"), end.values["ttft_histogram_count"])


def _run(server: ScriptedServer, tmp_path: Path) -> tuple[RunPredicate, list[Row]]:
    out = tmp_path / "out"
    done = bench("run", "llm.inference.chatbot-short", "--base-url", server.base_url,
                 "--model", "ttft_ms=20;itl_ms=5;tokens=8", "--requests", "4",
                 "--concurrency", "2", "--output", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    [path] = envelope_paths(out)
    opened = verify_file(path, keys.trusted_keys())  # signed; sidecars and figures check out
    assert isinstance(opened.predicate, RunPredicate)
    return opened.predicate, read_rows(sidecar(opened, TELEMETRY_SUFFIX))
