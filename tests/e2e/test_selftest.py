"""`bench selftest` as a user runs it: prints the error budget, exit 0; bad input is one line."""

from __future__ import annotations

import re

from tests.support.cli import bench


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
