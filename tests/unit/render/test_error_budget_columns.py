"""The client's timing error in the summary and compare views: a column only when a run has it,
within 100 columns; each pair metric's budget per side and the within-budget flag."""

from __future__ import annotations

import csv
import io

from tests.unit.render.test_fit import _comparison, _run, _text
from tokenbench.compare.summary import SummaryTable
from tokenbench.compare.views import ComparisonView, MetricDifferenceView
from tokenbench.envelope.schema import ErrorBudget
from tokenbench.render.csv import comparison_csv
from tokenbench.render.md import comparison_markdown


def _budget(ttft_p99: float, source: str) -> ErrorBudget:
    return ErrorBudget.model_validate(
        dict(source=source, concurrency=17, requests=40, scenario="s", ttft_error_ms_p50=0.1,
             ttft_error_ms_p99=ttft_p99, itl_error_ms_p50=0.1, itl_error_ms_p99=2.0)
    )  # fmt: skip


def _summary(**budgets: ErrorBudget) -> SummaryTable:
    runs = [_run(1, "a", **budgets), _run(2, "b")]
    return SummaryTable(runs=runs, loaded=2, skipped=[], suites=1, comparability_mismatches=[],
                        evals=[])  # fmt: skip


def test_summary_shows_the_client_error_only_when_a_run_has_it() -> None:
    plain = _text(_summary(), 100)
    assert "Client" not in plain
    shown = _text(_summary(canary=_budget(3.456, "canary"), error_budget=_budget(9.0, "selftest")),
                  100)  # fmt: skip
    assert "Client" in shown
    assert "3.46" in shown  # the canary's, under the run's own load, before the selftest's
    assert "9.00" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 100
    assert "1.25" in _text(_summary(error_budget=_budget(1.25, "selftest")), 100)


def _with_budgets(view: ComparisonView) -> ComparisonView:
    pair = view.pairs[0]
    ttft = MetricDifferenceView(
        metric="ttft", label="TTFT p50 (ms)", a=50.0, b=51.0, relative=0.02, ci_low=0.01,
        ci_high=0.03, p_value=0.001, p_adjusted=0.001, n_a=3, n_b=3, tested=True,
        significant=False, verdict="no verdict: within the client's measured error budget",
        warnings=[], error_budget_a_ms=0.84, error_budget_b_ms=1.5, within_error_budget=True,
    )  # fmt: skip
    pairs = [pair.model_copy(update={"metrics": [*pair.metrics, ttft]})]
    return view.model_copy(update={"pairs": pairs})


def test_compare_shows_each_sides_budget_and_the_flag() -> None:
    view = _comparison()
    assert "Client err" not in _text(view, 100)  # no side measured one: no column
    view = _with_budgets(view)
    text = _text(view, 100)
    assert "0.84 / 1.50" in text
    assert "within" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "| 0.84 / 1.50 within |" in comparison_markdown(view)
    rows = [r for r in csv.DictReader(io.StringIO(comparison_csv(view))) if r["metric"] == "ttft"]
    assert (rows[0]["error_budget_a_ms"], rows[0]["error_budget_b_ms"]) == ("0.84", "1.5")
    assert rows[0]["within_error_budget"] == "True"
