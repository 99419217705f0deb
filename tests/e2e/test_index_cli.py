"""`bench index` as a user runs it: what it says it did, and its mistakes in one line."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.cli import bench
from tests.support.envelopes import write_run_envelope
from tests.unit.corpus.test_index import _at, _corpus, _records


def test_index_says_what_it_added_changed_and_removed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    first = bench("index", str(corpus))
    assert first.returncode == 0, first.stderr
    assert f"{corpus}: 5 added, 0 changed" in first.stdout
    write_run_envelope(corpus / "c", _records(2.0), model_id="c", edit=_at(12))
    (corpus / "a" / "a-c2.json").unlink()
    second = bench("index", str(corpus))
    assert (
        "1 added, 0 changed, 0 verified again (trusted keys differ), 1 removed, "
        "4 unchanged" in second.stdout
    )
    # same bytes, new time: --recheck hashes it and finds nothing to verify again
    os.utime(corpus / "b" / "b-c1.json", (1, 1))
    third = bench("index", str(corpus), "--recheck")
    assert (
        "0 added, 0 changed, 0 verified again (trusted keys differ), 0 removed, "
        "5 unchanged" in third.stdout
    )


def test_index_mistakes_are_one_line(tmp_path: Path) -> None:
    envelope = write_run_envelope(tmp_path, _records(1.0), edit=_at(1))
    for args, needle in (
        ([str(envelope)], f"{envelope}: not a directory; bench index takes corpus directories"),
        ([str(tmp_path), "--no-index"], "bench index builds the index: drop --no-index"),
    ):
        proc = bench("index", *args)
        assert proc.returncode == 2
        assert proc.stderr.strip() == f"error: {needle}"
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "Traceback" not in proc.stderr
