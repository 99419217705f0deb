"""`bench run --canary` against the scripted server: the canary's requests in the sidecar, in no
metric, its timing error in the envelope (and past the limit, the run invalid); verify passes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run, records
from tokenbench.loadgen.canary import CANARY_PROMPT_ID, CANARY_SCENARIO


def test_run_with_canary_and_selftest(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", scripted_server.base_url,
                 "--model", "ttft_ms=10;itl_ms=2;tokens=16", "--sweep", "2", "--duration", "2",
                 "--selftest", "--canary", "--max-canary-error-ms", "0.000001",
                 "--output", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "canary: one extra stream" in proc.stderr
    (path,) = envelope_paths(out)
    opened = open_run(path)
    predicate = opened.predicate
    raw = records(opened)
    canaries = [r for r in raw if r.canary]
    assert len(canaries) >= 3  # 2 s of 20 ms + 64 × 5 ms requests
    assert all(r.prompt_id == CANARY_PROMPT_ID and not r.measured for r in canaries)
    target = [r for r in raw if not r.canary]
    assert predicate.metrics.requests_total == len(target)
    assert predicate.metrics.requests_measured == sum(r.measured for r in target)
    canary = predicate.canary
    assert canary is not None
    assert (canary.source, canary.concurrency, canary.scenario) == ("canary", 3, CANARY_SCENARIO)
    assert canary.requests >= 2
    assert canary.ttft_error_ms_p99 is not None
    assert canary.itl_error_ms_p99 is not None
    assert predicate.error_budget is not None
    assert predicate.error_budget.source == "selftest"
    assert not predicate.validity.valid  # no client is that exact: the limit is unmeetable
    assert any("--max-canary-error-ms" in r for r in predicate.validity.reasons)
    assert bench("verify", str(out)).returncode == 0
    summary = bench("summary", str(out))
    assert summary.returncode == 0, summary.stderr
    assert "Client" in summary.stdout  # the client error column, shown when a run has it
