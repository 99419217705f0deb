"""Ordinary path mistakes are one-line errors with exit 2, caught before any work starts
(issue 15, problem 6): -o naming a file, an output directory that cannot be made, report -o
naming a directory, --prompts naming a directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import bench

NO_SERVER = "http://127.0.0.1:9/v1"  # nothing listens: the checks must come first


def _one_line(proc: object, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr  # type: ignore[attr-defined]
    lines = proc.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("command", ["run", "eval"])
def test_output_naming_a_file(command: str, tmp_path: Path) -> None:
    existing = tmp_path / "results.txt"
    existing.write_text("keep me")
    data = tmp_path / "q.jsonl"
    data.write_text('{"prompt": "2+2?", "answer": "4"}\n')
    what = (
        ["llm.inference.chatbot-short"]
        if command == "run"
        else ["custom", "--data", str(data), "--scorer", "exact"]
    )
    proc = bench(command, *what, "--base-url", NO_SERVER, "--model", "m", "-o", str(existing))
    _one_line(proc, "is a file", "name a directory")
    assert existing.read_text() == "keep me"  # nothing lost


def test_output_that_cannot_be_created() -> None:
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", NO_SERVER, "-o",
                 "/sys/tokenbench-cannot-be-here")  # fmt: skip
    _one_line(proc, "cannot create it", "choose a directory you can write to")


def test_report_output_naming_a_directory(tmp_path: Path) -> None:
    proc = bench("report", str(tmp_path), "-o", str(tmp_path))
    _one_line(proc, "is a directory", "report.html")


def test_prompts_naming_a_directory(tmp_path: Path) -> None:
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", NO_SERVER, "--prompts",
                 str(tmp_path), "-o", str(tmp_path / "out"))  # fmt: skip
    _one_line(proc, "--prompts", "is a directory")
