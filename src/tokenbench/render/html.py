"""A self-contained HTML report (charts inlined, no network): the comparison view."""

from __future__ import annotations

from tokenbench.compare.views import ComparisonView
from tokenbench.render.registry import Output, renderer
from tokenbench.report.charts import sections
from tokenbench.report.html import render_html


@renderer("html", ComparisonView)
def _comparison(view: ComparisonView, out: Output) -> None:
    # Charts draw each run's raw records, which only the computed comparison holds.
    report = render_html(sections(view.source), view.loaded, view.skipped, view.quality)
    out.write(report)
