"""The corpus index at its edges: a folder named twice, one that cannot be written, an index
another program holds, odd folder names, records that arrive late, overlapping PATHs."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support.envelopes import write_run_envelope
from tests.unit.compare.test_quality import loaded_run
from tests.unit.corpus.test_index import _at, _corpus, _records, _summary
from tokenbench.compare.comparison import compare
from tokenbench.corpus import selection
from tokenbench.corpus.filters import Filters
from tokenbench.corpus.loader import Corpus
from tokenbench.corpus.selection import index_path, selected
from tokenbench.envelope import keys


def _requests(sel: selection.Selection) -> int:
    found = sel.con.execute("SELECT count(*) FROM requests").fetchone()
    assert found is not None
    return int(found[0])


def test_a_folder_named_twice_is_one_index_and_one_lock(tmp_path: Path) -> None:
    _corpus(tmp_path)
    with selected([str(tmp_path), f"{tmp_path}/", str(tmp_path / "a" / "..")],
                  keys.trusted_keys()) as sel:  # fmt: skip
        assert len(sel.corpus().runs) == 5
        assert len(sel.refreshes) == 1


def test_overlapping_paths_count_each_request_once(tmp_path: Path) -> None:
    _corpus(tmp_path)
    with selected([str(tmp_path)], keys.trusted_keys()) as sel:
        alone = _requests(sel)
    with selected([str(tmp_path), str(tmp_path / "a")], keys.trusted_keys()) as sel:
        assert _requests(sel) == alone == 20


def test_a_folder_that_cannot_be_written_is_read_without_an_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(tmp_path)
    expected = _summary(tmp_path, use_index=False)

    def read_only(*_: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(selection, "_lock", read_only)
    notes: list[str] = []
    with selected([str(tmp_path)], keys.trusted_keys(), notify=notes.append) as sel:
        from tokenbench.compare.summary import summary_table

        assert summary_table(sel).model_dump(mode="json") == expected
    assert notes == [f"{tmp_path}: cannot write its index (Read-only file system); "
                     "reading the files"]  # fmt: skip


_HOLD = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("held", flush=True)
    time.sleep(30)
""")


def test_an_index_another_program_holds_is_left_alone(tmp_path: Path) -> None:
    _corpus(tmp_path)
    expected = _summary(tmp_path)
    size = index_path(tmp_path).stat().st_size
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(index_path(tmp_path))],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        notes: list[str] = []
        with selected([str(tmp_path)], keys.trusted_keys(), notify=notes.append) as sel:
            from tokenbench.compare.summary import summary_table

            assert summary_table(sel).model_dump(mode="json") == expected
        assert len(notes) == 1
        assert "cannot open the index" in notes[0]
        assert "reading the files" in notes[0]
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert index_path(tmp_path).stat().st_size == size  # not deleted, not rebuilt
    assert "rebuilt" not in " ".join(notes)


def test_a_folder_name_with_glob_characters_keeps_its_records(tmp_path: Path) -> None:
    root = tmp_path / "runs[2025]"
    _corpus(root)
    with selected([str(root)], keys.trusted_keys()) as sel:
        assert _requests(sel) == 20


def test_records_that_arrive_after_their_envelope_are_loaded(tmp_path: Path) -> None:
    path = write_run_envelope(tmp_path, _records(2.0), model_id="m", edit=_at(3))
    raw = next(tmp_path.glob("*.records.jsonl"))
    aside = tmp_path.parent / "aside.jsonl"
    shutil.move(raw, aside)
    with selected([str(tmp_path)], keys.trusted_keys()) as sel:
        assert _requests(sel) == 0
    shutil.move(aside, raw)
    with selected([str(tmp_path)], keys.trusted_keys()) as sel:
        assert _requests(sel) == 4
        (refresh,) = sel.refreshes
        assert refresh.unchanged == 1  # the envelope itself was not verified again
    assert path.is_file()


def test_not_equal_keeps_runs_whose_field_is_unknown(tmp_path: Path) -> None:
    _corpus(tmp_path)  # every run's quant is unknown (null)
    view = _summary(tmp_path, filters=Filters.parse(["quant!=q4_k_m"], None), every=True)
    assert len(view["runs"]) == 5


def test_by_load_never_pools_two_models_runs(tmp_path: Path) -> None:
    runs = []
    for model, seconds in (("a", 1.0), ("b", 3.0)):
        for c in (1, 4):
            run = loaded_run(model, seconds * c, "fp")
            load = run.predicate.parameters.load.model_copy(update={"concurrency": c})
            params = run.predicate.parameters.model_copy(update={"load": load})
            predicate = run.predicate.model_copy(update={"parameters": params})
            runs.append(type(run)(Path(f"{model}-{c}.json"), predicate, None))
    result = compare(Corpus(runs=runs), by="load")
    assert len(result.pairs) == 2
    for pair in result.pairs:
        assert (pair.a, pair.b) == ("concurrency 1", "concurrency 4")
        assert (pair.runs_a, pair.runs_b) == (1, 1)
