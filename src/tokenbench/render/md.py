"""Markdown tables, for pasting into issues and docs: the comparison view."""

from __future__ import annotations

from tokenbench.compare.quality import QualityComparison
from tokenbench.compare.quality_render import (
    PAIR_HEADERS,
    QUALITY_HEADERS,
    pair_cells,
    quality_cells,
)
from tokenbench.compare.views import ComparisonView
from tokenbench.render.cells import (
    DASH,
    budget_cell,
    method_line,
    run_cells,
    run_headers,
    with_warnings,
)
from tokenbench.render.registry import Output, renderer


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def quality_markdown(q: QualityComparison) -> list[str]:
    lines = ["", *_table(QUALITY_HEADERS, [quality_cells(r) for r in q.rows])]
    if q.pairs:
        lines += ["", *_table(PAIR_HEADERS, [pair_cells(p) for p in q.pairs])]
    return lines


def comparison_markdown(view: ComparisonView) -> str:
    lines = _table(run_headers(view), [run_cells(r, view.columns) for r in view.runs])
    if view.pairs:
        head = "| Suite | Point | A | B | Metric | Client err p99 A / B (ms) | Verdict |"
        lines += ["", method_line(view), "", head, "|---|---|---|---|---|---|---|"]
        for pair in view.pairs:
            for d in pair.metrics:
                lines.append(
                    f"| {pair.suite} | {pair.point} | {pair.a} | {pair.b} | "
                    f"{d.label} | {budget_cell(d) or DASH} | {with_warnings(d)} |"
                )
    if view.notes:
        lines += ["", *(f"- note: {note}" for note in view.notes)]
    if view.quality:
        lines += quality_markdown(view.quality)
    return "\n".join(lines) + "\n"


@renderer("md", ComparisonView)
def _comparison(view: ComparisonView, out: Output) -> None:
    out.write(comparison_markdown(view))
