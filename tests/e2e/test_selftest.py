"""`bench selftest` as a user runs it: prints the error budget, exit 0; bad input is one line."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths
from tokenbench.envelope import keys
from tokenbench.verification import verify_file


def test_selftest_prints_a_budget() -> None:
    proc = bench("selftest", "--concurrency", "4", "--requests", "16", "--tokens", "8")
    assert proc.returncode == 0, proc.stderr
    assert "16 requests matched" in proc.stdout
    assert re.search(r"TTFT error\s+p50 \d+\.\d\d ms\s+p99 \d+\.\d\d ms", proc.stdout)
    assert re.search(r"ITL error\s+p50 \d+\.\d\d ms", proc.stdout)
    assert "host load" in proc.stdout


def test_selftest_refuses_zero_concurrency() -> None:
    proc = bench("selftest", "--concurrency", "0")
    assert proc.returncode == 2
    assert "≥ 1" in proc.stderr


def test_run_with_selftest_records_the_budget_in_every_envelope(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    out = tmp_path / "corpus"
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", scripted_server.base_url,
                 "--model", "ttft_ms=10;itl_ms=1;tokens=16", "--sweep", "1,2", "--requests", "4",
                 "--selftest", "--output", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "selftest at concurrency 2" in proc.stderr
    paths = envelope_paths(out)
    assert len(paths) == 2
    for path in paths:
        budget = verify_file(path, keys.trusted_keys()).predicate.error_budget
        assert budget is not None
        assert budget.source == "selftest"
        assert budget.concurrency == 2
        assert budget.ttft_error_ms_p99 is not None
    assert bench("verify", str(out)).returncode == 0
