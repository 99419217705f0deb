"""Tokenizer-fair speed in the corpus: the summary row's bytes/s, words/s and tokens per word
(index and files alike, group medians), the raw counts in the requests table, and an index
written before these columns rebuilt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.support.envelopes import write_run_envelope
from tokenbench.compare.summary import summary_table
from tokenbench.corpus.index import INDEX_SCHEMA
from tokenbench.corpus.selection import index_path, selected
from tokenbench.envelope import keys
from tokenbench.records import RequestRecord

MS = 1_000_000


def _records(words: int | None, n: int = 4) -> list[RequestRecord]:
    """n requests of 3 tokens over 4 ms each, `words` words (None: recorded before counts)."""
    return [RequestRecord(index=i, worker=0, slot=0, warmup=False, prompt_id=f"p{i}",
                          scheduled_ns=0, send_ns=0, first_token_ns=MS, chunk_ns=[MS, 2 * MS,
                          3 * MS], end_ns=4 * MS, input_tokens=8, output_tokens=3,
                          tokens_from_usage=True, finish_reason="stop",
                          output_bytes=None if words is None else 5 * words, output_words=words)
            for i in range(n)]  # fmt: skip


def _day(day: int) -> Any:
    def edit(body: dict[str, Any]) -> None:
        body["timing"]["started_at"] = f"2026-11-{day:02d}T10:00:00Z"
        body["run_id"] = f"01ARZ3NDEKTSV4RRFFQ69G{day:02d}01"

    return edit


def _corpus(root: Path) -> None:
    """Model a: three repeats of 2, 3 and 4 words a request; model b: before the counts."""
    for day, words in ((1, 2), (2, 3), (3, 4)):
        write_run_envelope(root / "a", _records(words), model_id="a", name=f"a-{day}",
                           edit=_day(day))  # fmt: skip
    write_run_envelope(root / "b", _records(None), model_id="b", name="b", edit=_day(4))


def _rows(root: Path, use_index: bool = True, every: bool = False) -> dict[str, Any]:
    with selected([str(root)], keys.trusted_keys(), use_index=use_index) as sel:
        doc = summary_table(sel, every=every).model_dump(mode="json")
    return doc


def test_summary_rows_carry_text_speed_and_groups_take_the_median(tmp_path: Path) -> None:
    _corpus(tmp_path)
    runs = {r["run_id"][-4:]: r for r in _rows(tmp_path, every=True)["runs"]}
    # 4 requests over 4 ms: 1000 requests/s, each 3 tokens and `words` words of 5 bytes
    for key, words in (("0101", 2), ("0201", 3), ("0301", 4)):
        assert runs[key]["output_words_per_s"] == pytest.approx(1000 * words)
        assert runs[key]["output_bytes_per_s"] == pytest.approx(5000 * words)
        assert runs[key]["tokens_per_word"] == pytest.approx(3 / words)
    old = runs["0401"]
    assert (old["output_bytes_per_s"], old["output_words_per_s"], old["tokens_per_word"]) == (
        None, None, None)  # fmt: skip
    groups = {r["model_id"]: r for r in _rows(tmp_path)["runs"]}
    assert groups["a"]["group_runs"] == 3
    assert groups["a"]["output_words_per_s"] == pytest.approx(3000)  # the median of 2, 3, 4 k
    assert groups["a"]["tokens_per_word"] == pytest.approx(1.0)
    assert _rows(tmp_path) == _rows(tmp_path, use_index=False)


def test_the_requests_table_holds_the_raw_counts(tmp_path: Path) -> None:
    _corpus(tmp_path)
    with selected([str(tmp_path)], keys.trusted_keys()) as sel:
        found = sel.con.execute(
            "SELECT r.model_id, sum(q.output_bytes), sum(q.output_words) FROM runs r "
            "JOIN requests q USING (path) GROUP BY ALL ORDER BY 1").fetchall()  # fmt: skip
    assert found == [("a", 5 * 4 * (2 + 3 + 4), 4 * (2 + 3 + 4)), ("b", None, None)]


def test_an_index_from_before_the_text_columns_is_rebuilt(tmp_path: Path) -> None:
    assert int(INDEX_SCHEMA) >= 2  # the text columns came in version 2
    _corpus(tmp_path)
    before = _rows(tmp_path)
    con = duckdb.connect(str(index_path(tmp_path)))
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    con.execute("ALTER TABLE runs DROP COLUMN output_words_per_s")  # as version 1 had it
    con.close()
    notes: list[str] = []
    with selected([str(tmp_path)], keys.trusted_keys(), notify=notes.append) as sel:
        assert summary_table(sel).model_dump(mode="json") == before
    assert any("index version 1" in n for n in notes)
