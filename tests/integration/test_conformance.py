"""`bench conformance` on a stand-in load generator (tests/support/standin_loadgen.py) with a
known +5 ms TTFT bias, against the real reference server; and its one-line refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.cli import bench
from tokenbench.conformance.runner import ConformanceSettings, run_conformance

STANDIN = str(Path(__file__).resolve().parents[1] / "support" / "standin_loadgen.py")
SCENARIO = "ttft_ms=30;itl_ms=5;tokens=12"


def _command(*extra: str) -> tuple[str, ...]:
    return (sys.executable, STANDIN, "{url}", "{model}", "{concurrency}", "{requests}",
            "{output}", *extra)  # fmt: skip


@pytest.mark.slow
def test_the_injected_bias_is_found_and_tokenbench_error_is_small() -> None:
    result = run_conformance(ConformanceSettings(
        _command("--bias-ms", "5"), "vllm", SCENARIO, concurrency=2, requests=8))  # fmt: skip
    tool, ours = result.scores
    assert (tool.client, ours.client) == ("vllm", "tokenbench")
    assert tool.truth.requests == 8
    assert ours.truth.requests == 8
    assert tool.truth.ttft_ms.mean == pytest.approx(30.0, abs=3.0)
    # the stand-in's own stamps are late by a little (threads, readline) on top of the bias
    assert 4.0 < (tool.ttft_err_ms.mean or 0.0) < 10.0
    assert 4.0 < (tool.ttft_err_ms.p50 or 0.0) < 10.0
    assert ours.ttft_err_ms.mean is not None
    assert abs(ours.ttft_err_ms.mean) < 3.0  # a busy 2-core machine
    for s in (tool, ours):
        assert s.itl_err_ms.mean is not None
        assert abs(s.itl_err_ms.mean) < 2.0
        assert s.throughput_err_pct is not None
        assert abs(s.throughput_err_pct) < 10.0


@pytest.mark.slow
def test_cli_prints_both_rows() -> None:
    proc = bench("conformance", "--concurrency", "2", "--requests", "4", "--scenario", SCENARIO,
                 "--tool", "vllm", "--", *_command("--bias-ms", "5"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "vllm" in proc.stdout
    assert "tokenbench" in proc.stdout
    assert "TTFT mean" in proc.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--tool", "vlm", "--", "true"), 2, "unknown load generator 'vlm'; did you mean"),
        (("--", "my-tool-nobody-has", "{url}"), 2, "name it with --tool"),
        (("--tool", "vllm", "--", "/nonexistent/loadgen"), 5, "no such program"),
        (
            ("--tool", "vllm", "--", *_command("--mode", "fail")),
            5,
            "exited with status 3: error: cannot reach the model server",
        ),
        (("--tool", "vllm", "--", *_command("--mode", "no-result")), 6, "wrote no result file"),
        (
            ("--tool", "vllm", "--", *_command("--mode", "garbage")),
            6,
            "cannot read vllm's result file",
        ),
    ],
)
def test_bad_input_is_one_line_and_a_documented_status(
    args: tuple[str, ...], code: int, message: str
) -> None:
    proc = bench("conformance", "--requests", "2", "--concurrency", "1", "--scenario",
                 "ttft_ms=1;itl_ms=1;tokens=3", *args)  # fmt: skip
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
