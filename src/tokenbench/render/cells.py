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
