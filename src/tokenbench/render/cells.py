"""Text cells shared by the table and Markdown formats: numbers, the runs table of a
comparison, and verdict lines."""

from __future__ import annotations

from tokenbench.compare.views import Column, ComparisonView, MetricDifferenceView, RunView
from tokenbench.envelope.schema import load_label

DASH = "—"


def num(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def run_headers(view: ComparisonView) -> list[str]:
    return ["Suite", "Run", "Conc.", *[c.label for c in view.columns], "Pareto", "Valid"]


def run_cells(row: RunView, cols: list[Column]) -> list[str]:
    return [
        row.suite,
        row.label,
        load_label(row.concurrency, row.rate_rps, input_length=row.input_length),
        *[num(row.metrics[c.json_key], c.digits) for c in cols],
        "★" if row.pareto else "",
        "yes" if row.valid else "NO",
    ]


def method_line(view: ComparisonView) -> str:
    return (
        f"Verdicts: {view.method}; the run is the unit (per-run values, geometric means); "
        f"family of {view.family} tests at α = {view.alpha:g}."
    )


def with_warnings(d: MetricDifferenceView) -> str:
    return "; ".join([d.verdict, *(f"warning: {w}" for w in d.warnings)])


def budget_cell(d: MetricDifferenceView) -> str:
    """The client's error budget of each side (p99 ms), and whether the difference is within
    it; empty when neither side measured one."""
    if d.error_budget_a_ms is None and d.error_budget_b_ms is None:
        return ""
    sides = f"{num(d.error_budget_a_ms, 2)} / {num(d.error_budget_b_ms, 2)}"
    return f"{sides} within" if d.within_error_budget else sides
