"""`bench run` refuses bad --repeat and validity options with one line and exit 2."""

from __future__ import annotations

import pytest

from tests.support.cli import bench


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--repeat", "0"], "--repeat must be at least 1"),
        (["--interleave"], "--interleave alternates repeats"),
    ],
)
def test_bad_repeat_flags_are_one_line_errors(flags: list[str], message: str) -> None:
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", "http://127.0.0.1:9/v1",
                 *flags)  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-tail-share", "0"], "--max-tail-share is a fraction"),
        (["--max-schedule-lag", "-1"], "--max-schedule-lag must be positive"),
    ],
)
def test_bad_validity_limits_are_one_line_errors(flags: list[str], message: str) -> None:
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", "http://127.0.0.1:9/v1",
                 *flags)  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
