"""The console's width (issue 15, problem 1): COLUMNS is obeyed, and piped output without it is
100 columns wide (it was forced to 200), so logs read the same everywhere; `--wide` is offered
by every command that prints tables."""

from __future__ import annotations

import os

import pytest

from tests.support.cli import bench


def _env(columns: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    return env


@pytest.mark.parametrize(("columns", "width"), [(None, 100), ("80", 80), ("160", 160)])
def test_piped_tables_are_as_wide_as_columns_says_else_100(columns: str | None, width: int) -> None:
    proc = bench("models", env=_env(columns))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    if width < 160:
        assert max(len(line) for line in lines) > width - 10  # the room is used
    else:  # a 117-character line is not wrapped
        assert any(line.startswith("Scores are as published") and line.endswith("source).")
                   for line in lines)  # fmt: skip
    assert "131,072" in proc.stdout  # a context length, whole


def test_every_table_command_offers_wide() -> None:
    for command in ("summary", "compare", "models", "recommend", "cost", "infra"):
        assert "--wide" in bench(command, "--help").stdout, command
    proc = bench("infra", "llama-3.1-8b-instruct", "--quant", "int4", "--wide", env=_env("80"))
    assert proc.returncode == 0, proc.stderr
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())
