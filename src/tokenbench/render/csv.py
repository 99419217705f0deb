"""CSV for spreadsheets: one line per run of the comparison view, metrics by their JSON keys."""

from __future__ import annotations

import csv
import io

from tokenbench.compare.views import ComparisonView
from tokenbench.render.registry import Output, renderer


def comparison_csv(view: ComparisonView) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    keys = [c.json_key for c in view.columns]
    writer.writerow(["suite", "label", "concurrency", *keys, "pareto", "valid", "run_id"])
    for row in view.runs:
        writer.writerow([row.suite, row.label, row.concurrency, *[row.metrics[k] for k in keys],
                         row.pareto, row.valid, row.run_id])  # fmt: skip
    return buf.getvalue()


@renderer("csv", ComparisonView)
def _comparison(view: ComparisonView, out: Output) -> None:
    out.write(comparison_csv(view))
