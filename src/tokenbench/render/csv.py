"""CSV for spreadsheets and pandas: the whole comparison view as one table, one line per thing,
its kind in the first column, `section`:

- `run`: one line per run, metrics by their JSON keys (the columns `bench compare --report
  json` names under `runs[].metrics`), `pareto`, `valid`, `run_id`;
- `pair`: one line per pair and metric: `a`, `b`, `value_a`, `value_b`, `relative`, `ci_low`,
  `ci_high`, `p_value`, `p_adjusted`, the client's error budget of each side
  (`error_budget_a_ms`, `error_budget_b_ms`: p99, --selftest/--canary), `within_error_budget`
  and the `verdict` as the table prints it;
- `quality`: one line per eval (task and model): `accuracy` with `ci_low`/`ci_high`,
  `correct`/`total`, `throughput_tok_per_s` beside it;
- `quality_pair`: one line per paired eval difference: `difference` (a − b), its CI, McNemar
  `p_value`, `verdict`;
- `note`: one line per note, in `note` (why labels made no pair: different work, no shared
  point).

A column a section does not use is empty, so `pd.read_csv(f)` reads the file in one go and
`df[df.section == "pair"].dropna(axis=1, how="all")` is one section's table."""

from __future__ import annotations

import csv
import io

from tokenbench.compare.query import QueryResult
from tokenbench.compare.views import ComparisonView
from tokenbench.render.registry import Output, renderer

_PAIR = ["point", "a", "b", "runs_a", "runs_b", "metric", "value_a", "value_b", "relative",
         "ci_low", "ci_high", "p_value", "p_adjusted", "error_budget_a_ms", "error_budget_b_ms",
         "within_error_budget", "verdict"]  # fmt: skip
_QUALITY = ["task", "accuracy", "correct", "total", "difference", "throughput_tok_per_s", "note"]


def comparison_csv(view: ComparisonView) -> str:
    keys = [c.json_key for c in view.columns]
    header = ["section", "suite", "label", "concurrency", *keys, "pareto", "valid", "run_id"]
    header += [c for c in _PAIR + _QUALITY if c not in header]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, header, restval="", extrasaction="raise")
    writer.writeheader()
    for row in view.runs:
        metrics = {k: row.metrics[k] for k in keys}
        writer.writerow({"section": "run", "suite": row.suite, "label": row.label,
                         "concurrency": row.concurrency, **metrics, "pareto": row.pareto,
                         "valid": row.valid, "run_id": row.run_id})  # fmt: skip
    for pair in view.pairs:
        for m in pair.metrics:
            writer.writerow({"section": "pair", "suite": pair.suite, "point": pair.point,
                             "concurrency": pair.concurrency, "a": pair.a, "b": pair.b,
                             "runs_a": pair.runs_a, "runs_b": pair.runs_b, "metric": m.metric,
                             "value_a": m.a, "value_b": m.b, "relative": m.relative,
                             "ci_low": _blank(m.ci_low), "ci_high": _blank(m.ci_high),
                             "p_value": _blank(m.p_value), "p_adjusted": _blank(m.p_adjusted),
                             "error_budget_a_ms": _blank(m.error_budget_a_ms),
                             "error_budget_b_ms": _blank(m.error_budget_b_ms),
                             "within_error_budget": m.within_error_budget,
                             "verdict": m.verdict})  # fmt: skip
    quality = view.quality
    for q in quality.rows if quality else []:
        acc = q.accuracy
        writer.writerow({"section": "quality", "task": q.task, "label": q.label,
                         "accuracy": _blank(acc.accuracy), "ci_low": _blank(acc.ci_low),
                         "ci_high": _blank(acc.ci_high), "correct": acc.correct,
                         "total": acc.total, "throughput_tok_per_s": _blank(q.throughput_tok_per_s),
                         "pareto": q.pareto, "valid": q.valid})  # fmt: skip
    for qp in quality.pairs if quality else []:
        d = qp.difference
        writer.writerow({"section": "quality_pair", "task": qp.task, "a": qp.a, "b": qp.b,
                         "metric": "accuracy", "value_a": d.accuracy_a, "value_b": d.accuracy_b,
                         "difference": d.difference, "ci_low": d.ci_low, "ci_high": d.ci_high,
                         "p_value": d.mcnemar_p, "verdict": qp.verdict})  # fmt: skip
    for note in view.notes:
        writer.writerow({"section": "note", "note": note})
    return buf.getvalue()


def _blank(value: float | None) -> float | str:
    return "" if value is None else value


@renderer("csv", ComparisonView)
def _comparison(view: ComparisonView, out: Output) -> None:
    out.write(comparison_csv(view))


@renderer("csv", QueryResult)
def _query(result: QueryResult, out: Output) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(result.columns)
    writer.writerows([["" if v is None else v for v in row] for row in result.rows])
    out.write(buf.getvalue())
