"""The report's quality under load: accuracy against load with intervals, and divergence."""

from __future__ import annotations

from pathlib import Path

from tests.support.eval_envelopes import items, loaded_eval
from tests.unit.compare.test_quality_load import _levels
from tokenbench.compare.comparison import quality_by_load
from tokenbench.corpus.loader import Corpus
from tokenbench.report.charts import load_charts
from tokenbench.report.html import render_html


def test_accuracy_and_divergence_are_drawn_against_load(tmp_path: Path) -> None:
    single = loaded_eval(tmp_path, "lonely", items([True, False]))  # one level: not drawn
    q = quality_by_load(Corpus(evals=[*_levels(tmp_path, "m"), single]), None)
    assert q is not None
    assert {r.setting.split(",")[0] for r in q.rows if r.setting} == {"m"}
    accuracy, divergence = load_charts(q)
    assert accuracy.log_x  # 1 to 16
    (line,) = accuracy.series
    assert line.x == [1.0, 4.0, 16.0]
    assert line.y == [100.0, 70.0, 100.0]
    assert line.error_minus is not None
    assert line.error_minus[1] > 0  # the Wilson interval around 70%
    (changed,) = divergence.series
    assert changed.x == [1.0, 4.0, 16.0]
    assert changed.y == [0.0, 30.0, 100.0]
    page = render_html([], 0, 0, None, q)
    assert "Quality under load" in page
    assert "load-accuracy-0" in page
    assert "load-divergence-0" in page
    assert "30.0% (6)" in page  # the pair table's Diverged cell


def test_no_setup_with_two_levels_means_no_section(tmp_path: Path) -> None:
    evals = [loaded_eval(tmp_path, "a", items([True])), loaded_eval(tmp_path, "b", items([True]))]
    assert quality_by_load(Corpus(evals=evals), None) is None
