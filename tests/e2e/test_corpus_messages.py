"""A reader's first commands on a corpus: a selection with evals in the corpus works, and an
empty or untrusted corpus says why in one line (issue 15, problems 2 and 3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import bench
from tokenbench.corpus.loader import INDEX_DIR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "envelopes-v2-2026-11-30"
SIGNER = FIXTURES / "signer.pub.pem"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A copy of the fixtures: compare and report build an index in the directory they read,
    which must not land in the checked-in one (nor a stray one there be read)."""
    copy = tmp_path / "corpus"
    shutil.copytree(FIXTURES, copy, ignore=shutil.ignore_patterns(INDEX_DIR))
    return copy


@pytest.mark.parametrize("at", ["concurrency=2", "suite=llm.inference.chatbot-short"])
def test_at_selects_runs_when_the_corpus_also_holds_evals(at: str, corpus: Path) -> None:
    proc = bench("compare", str(corpus), "--key", str(SIGNER), "--at", at, "--force",
                 "--report", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["runs"]
    assert doc["quality"] is not None  # the eval is still there beside the selected runs


def test_an_untrusted_corpus_names_the_fix(corpus: Path) -> None:
    for command in ("compare", "report"):
        proc = bench(command, str(corpus))
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert "4 envelopes skipped" in lines[0]
        assert "--key" in lines[0]


def test_a_selection_that_matches_nothing_says_so(tmp_path: Path) -> None:
    for f in FIXTURES.iterdir():  # the runs alone, without the eval
        if f.is_file() and "__eval-" not in f.name:
            shutil.copy(f, tmp_path / f.name)
    proc = bench("compare", str(tmp_path), "--key", str(SIGNER), "--at", "concurrency=999")
    assert proc.returncode == 2
    assert "no run matches --at concurrency=999 among the 3 loaded" in proc.stderr


def test_verify_on_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    proc = bench("verify", str(tmp_path))
    assert proc.returncode == 2
    assert "no envelope found" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
