"""The workload key where a reader looks: `bench compare`'s note on labels it kept apart
(table, CSV, Markdown, JSON, with each run's key or plain), and `bench summary`'s load cell,
which tells a thinking-on row from a thinking-off one."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from tests.support.envelopes import minimal_statement
from tokenbench.compare.comparison import compare
from tokenbench.compare.summary import SummaryTable
from tokenbench.compare.views import comparison_view
from tokenbench.corpus.loader import Corpus, LoadedRun
from tokenbench.corpus.matching import PLAIN, workload_key
from tokenbench.corpus.rows import run_row
from tokenbench.envelope.schema import RunPredicate
from tokenbench.render.formats import Output, render

THINKING_OFF = {"chat_template_kwargs": {"enable_thinking": False}}


def _predicate(n: int, model: str, extra_body: dict[str, Any] | None = None) -> RunPredicate:
    body = minimal_statement()["predicate"]
    body["run_id"] = f"01ARZ3NDEKTSV4RRFFQ69G{n:04d}"
    body["target"]["model"]["model_id"] = model
    if extra_body is not None:
        body["parameters"]["passthrough"] = {"extra_body": extra_body}
    return RunPredicate.model_validate(body)


def _rendered(view: Any, fmt: str, width: int = 100) -> str:
    text, stream = io.StringIO(), io.BytesIO()
    console = Console(file=text, width=width, color_system=None, force_terminal=False)
    render(view, fmt, Output(console, stream))
    return text.getvalue() + stream.getvalue().decode()


def test_compare_says_in_every_format_why_thinking_off_and_plain_made_no_pair() -> None:
    runs = [LoadedRun(Path(f"/x/{n}.json"), p, "k") for n, p in enumerate(
        [_predicate(1, "a", THINKING_OFF), _predicate(2, "b")])]  # fmt: skip
    key = workload_key(runs[0].predicate)
    view = comparison_view(compare(Corpus(runs=runs)))
    assert view.pairs == []
    note = (f"s: runs of a and b sent different work (workload {key} vs plain, differing in "
            "the extra body): not paired; measure both with the same extra body")  # fmt: skip
    table = _rendered(view, "table")
    assert f"note: {note}" in table.splitlines()  # one line, however wide
    assert f"- note: {note}" in _rendered(view, "md").splitlines()
    doc = orjson.loads(_rendered(view, "json"))
    assert doc["notes"] == [note]
    assert [r["workload"] for r in doc["runs"]] == [key, "plain"]
    rows = list(csv.DictReader(io.StringIO(_rendered(view, "csv"))))
    assert [r["note"] for r in rows if r["section"] == "note"] == [note]


def _summary(rows: list[Any]) -> SummaryTable:
    return SummaryTable(runs=rows, loaded=len(rows), skipped=[], suites=1,
                        comparability_mismatches=[], evals=[])  # fmt: skip


@pytest.mark.parametrize("width", [80, 100, 160])
def test_the_summary_load_cell_names_a_workload_key_and_nothing_for_plain(width: int) -> None:
    on = {"chat_template_kwargs": {"enable_thinking": True}}
    preds = [_predicate(n, "m", extra) for n, extra in enumerate([on, THINKING_OFF, None])]
    rows = [run_row(p, f"/runs/{n}.json", "k") for n, p in enumerate(preds)]
    rows.append(rows[1].model_copy(update={"stage": "2/3", "run_id": "01ARZ3NDEKTSV4RRFFQ69G0009"}))
    keys = [workload_key(p) for p in preds]
    assert keys[0] != keys[1]
    assert keys[2] == PLAIN
    text = _rendered(_summary(rows), "table", width)
    assert all(len(line) <= width for line in text.splitlines()), text
    for key in keys[:2]:
        assert f"workload {key}: 1" in text  # the whole key: what --at workload= takes
    assert f"stage 2/3, workload {keys[1]}: 1" in text
    assert text.count("workload ") == 3  # the plain row's cell is its load alone
