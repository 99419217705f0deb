"""Every command that reads a corpus says the same through the index (cold, then warm) as it
does reading the files (--no-index)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli import bench
from tests.unit.corpus.test_index import _corpus

COMMANDS = {
    "summary": ["summary", "{corpus}", "--report", "json"],
    "summary --all": ["summary", "{corpus}", "--all", "--report", "json"],
    "summary --where": ["summary", "{corpus}", "--where", "model=a", "--since", "2026-11-02",
                        "--report", "json"],
    "compare": ["compare", "{corpus}", "--report", "json"],
    "cost": ["cost", "{corpus}", "--gpu-hourly-usd", "2.5", "--report", "json"],
    "recommend": ["recommend", "{corpus}", "--report", "json"],
    "models": ["models", "{corpus}", "--report", "json"],
    "query": ["query", "{corpus}", "SELECT model_id, count(*) AS runs, median(ttft_ms) AS ttft "
              "FROM requests JOIN runs USING (path) GROUP BY ALL ORDER BY ALL", "--report", "json"],
}  # fmt: skip


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Signed with this test's own local key (each test has its own)."""
    root = tmp_path / "corpus"
    _corpus(root)
    return root


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_index_and_the_files_agree(corpus: Path, name: str) -> None:
    args = [a.format(corpus=corpus) for a in COMMANDS[name]]
    files = bench(*args, "--no-index")
    assert files.returncode == 0, files.stderr
    first = bench(*args)
    again = bench(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == files.stdout
    assert again.stdout == files.stdout
    assert (corpus / ".tokenbench" / "index.duckdb").is_file()
    assert files.stdout.strip()


def test_the_report_is_the_same_through_the_index(corpus: Path, tmp_path: Path) -> None:
    pages = []
    for extra in ([], ["--no-index"]):
        out = tmp_path / f"report{len(extra)}.html"
        proc = bench("report", str(corpus), "-o", str(out), *extra)
        assert proc.returncode == 0, proc.stderr
        # the generation time is the only thing that may differ
        pages.append(re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "T", out.read_text()))
    assert pages[0] == pages[1]
    assert "a" in pages[0]
