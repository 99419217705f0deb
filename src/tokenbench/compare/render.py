"""Renderers for tables: rich for terminals, JSON for jq. They format; they compute nothing."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from tokenbench.compare.comparison import Comparison, MetricDifference, Pair, RunRow
from tokenbench.compare.metrics_registry import CompareMetric, all_metrics, get_metric
from tokenbench.compare.quality_render import quality_dict, quality_markdown, render_quality_rich
from tokenbench.compare.summary import SummaryRow, SummaryTable
from tokenbench.envelope.schema import load_label

DASH = "—"
_NO_WRAP = ("Model", "Engine", "Hardware", "Key", "Run ID")


def _num(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def _suite_table(suite: str, rows: list[SummaryRow]) -> Table:
    t = Table(title=suite, title_justify="left", header_style="bold")
    for name, justify in [
        ("Model", "left"), ("Engine", "left"), ("Quant", "left"), ("Hardware", "left"),
        ("Conc.", "right"), ("Throughput (tok/s)", "right"), ("TTFT p50 (ms)", "right"),
        ("TTFT p99 (ms)", "right"), ("J/tok", "right"), ("SLO met", "right"),
        ("Errors", "right"), ("Key", "left"),
        ("Signed", "left"), ("Run ID", "left"),
    ]:  # fmt: skip
        t.add_column(name, justify=justify, no_wrap=name in _NO_WRAP)  # type: ignore[arg-type]
    for r in rows:
        t.add_row(
            r.model_id,
            r.engine_label,
            r.quant or DASH,
            r.hardware,
            f"{r.rate_rps:g}/s" if r.rate_rps is not None else str(r.concurrency),
            _num(r.output_throughput_tok_per_s),
            _num(r.ttft_p50_ms),
            _num(r.ttft_p99_ms),
            _num(r.joules_per_token, 3),
            DASH if r.slo_attainment is None else f"{r.slo_attainment:.0%}",
            str(r.requests_failed) + ("" if r.valid else " [red](invalid)[/]"),
            r.comparability_key[:8],
            "✓" if r.signer else "[yellow]unsigned[/]",
            r.run_id[-8:],
        )
    return t


def _engine_table(suite: str, rows: list[SummaryRow]) -> Table:
    """The classic engine-comparison table."""
    t = Table(title=suite, title_justify="left", header_style="bold")
    for name in ("Model", "Engine", "Quant", "Conc.", "Prompts", "Max tokens", "Input tokens",
                 "Output tokens", "Input tok/s", "Output tok/s", "Execution time (s)", "Errors",
                 "Run ID"):  # fmt: skip
        t.add_column(name, justify="left" if name in ("Model", "Engine", "Quant") else "right")
    for r in rows:
        t.add_row(
            r.model_id,
            r.engine_label,
            r.quant or DASH,
            str(r.concurrency),
            str(r.requests_ok + r.requests_failed),
            str(r.max_tokens),
            f"{r.input_tokens_total:,}",
            f"{r.output_tokens_total:,}",
            _num(r.input_throughput_tok_per_s),
            _num(r.output_throughput_tok_per_s),
            _num(r.duration_s, 2),
            str(r.requests_failed) + ("" if r.valid else " [red](invalid)[/]"),
            r.run_id[-8:],
        )
    return t


def _context_table(suite: str, rows: list[SummaryRow]) -> Table:
    """Input length × speed: one row per model and input length."""
    t = Table(title=suite, title_justify="left", header_style="bold")
    for name in ("Model", "Engine", "Quant", "Input tokens", "Output tok/s", "Decode tok/s",
                 "TTFT p50 (ms)", "Prefill tok/s", "Errors", "Run ID"):  # fmt: skip
        t.add_column(name, justify="left" if name in ("Model", "Engine", "Quant") else "right")
    ordered = sorted(rows, key=lambda r: (r.model_id, r.engine, r.input_tokens_target or 0))
    for r in ordered:
        t.add_row(
            r.model_id,
            r.engine_label,
            r.quant or DASH,
            f"{r.input_tokens_target:,}" if r.input_tokens_target is not None else DASH,
            _num(r.output_throughput_tok_per_s),
            _num(1000 / r.tpot_p50_ms if r.tpot_p50_ms else None),
            _num(r.ttft_p50_ms),
            _num(r.prefill_tok_per_s),
            str(r.requests_failed) + ("" if r.valid else " [red](invalid)[/]"),
            r.run_id[-8:],
        )
    return t


def render_summary_rich(table: SummaryTable, console: Console) -> None:
    """One table per suite (rows are already sorted by suite), then the load count line."""
    by_suite: dict[str, list[SummaryRow]] = {}
    for r in table.rows:
        by_suite.setdefault(r.suite, []).append(r)
    layouts = {"engine": _engine_table, "context": _context_table}
    for suite, rows in by_suite.items():
        console.print(layouts.get(rows[0].table, _suite_table)(suite, rows))
    for m in table.mismatches:
        console.print(
            f"[yellow]warning:[/] the {m.suite} rows do not share a comparability key "
            f"({len(m.keys)} keys); they differ in: {', '.join(m.fields)}",
            soft_wrap=True,
        )
    for path, why in table.skipped:
        console.print(f"[yellow]skipped[/] {path}: {why}", soft_wrap=True)
    console.print(
        f"{table.loaded} envelopes loaded, {len(table.skipped)} skipped (validation failure), "
        f"{table.suites} suites"
    )


def summary_json(table: SummaryTable) -> bytes:
    doc: dict[str, Any] = {
        "runs": [r.to_dict() for r in table.rows],
        "loaded": table.loaded,
        "skipped": [{"path": p, "reason": why} for p, why in table.skipped],
        "suites": table.suites,
        "comparability_mismatches": [
            {"suite": m.suite, "keys": m.keys, "fields": m.fields} for m in table.mismatches
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def _run_dict(row: RunRow, extra: list[CompareMetric]) -> dict[str, Any]:
    p = row.run.predicate
    return {
        "suite": p.parameters.suite.name,
        "model_id": p.target.model.model_id,
        "engine": p.target.engine.label,
        "quant": p.target.model.quant,
        "hardware": p.hardware.label,
        "concurrency": p.parameters.load.concurrency,
        "rate_rps": p.parameters.load.rate_rps,
        "label": row.label,
        "run_id": p.run_id,
        "signed": row.run.signer is not None,
        "status": p.status,
        "valid": p.validity.valid,
        "invalid_reasons": p.validity.reasons,
        "metrics": {m.json_key: m.value(p) for m in [*all_metrics(), *extra]},
        "pareto": row.pareto,
    }


def _pair_dict(pair: Pair) -> dict[str, Any]:
    return {
        "suite": pair.suite,
        "point": pair.point,
        "concurrency": pair.concurrency,
        "rate_rps": pair.rate_rps,
        "input_tokens": pair.input_tokens,
        "a": pair.a,
        "b": pair.b,
        "runs_a": pair.runs_a,
        "runs_b": pair.runs_b,
        "metrics": [
            {
                "metric": d.metric.name,
                "a": d.difference.a,
                "b": d.difference.b,
                "relative": d.difference.relative,
                "ci_low": d.difference.ci_low,
                "ci_high": d.difference.ci_high,
                "p_value": d.difference.p_value,
                "p_adjusted": d.difference.p_adjusted,
                "n_a": d.difference.n_a,
                "n_b": d.difference.n_b,
                "tested": d.difference.tested,
                "significant": d.difference.significant,
                "verdict": d.verdict,
                "warnings": list(d.warnings),
            }
            for d in pair.metrics
        ],
    }


def _method_line(comparison: Comparison) -> str:
    return (
        f"Verdicts: {comparison.method}; the run is the unit (per-run values, geometric means); "
        f"family of {comparison.family} tests at α = {comparison.alpha:g}."
    )


def _with_warnings(d: MetricDifference) -> str:
    return "; ".join([d.verdict, *(f"warning: {w}" for w in d.warnings)])


def _visible(comparison: Comparison, frontier_only: bool) -> list[RunRow]:
    return [r for r in comparison.rows if r.pareto or not frontier_only]


def comparison_json(comparison: Comparison, frontier_only: bool = False) -> bytes:
    registered = {m.name for m in all_metrics()}
    extra = [m for m in comparison.pareto_metrics if m.name not in registered]
    doc = {
        "by": comparison.by,
        "method": comparison.method,
        "alpha": comparison.alpha,
        "family": comparison.family,
        "pareto_metrics": [m.name for m in comparison.pareto_metrics],
        "runs": [_run_dict(r, extra) for r in _visible(comparison, frontier_only)],
        "pairs": [_pair_dict(p) for p in comparison.pairs],
        "forced_mismatches": comparison.forced_mismatches,
        "quality": quality_dict(comparison.quality) if comparison.quality else None,
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


_COLUMNS = ("throughput", "ttft", "ttft_p99", "tpot", "jtok")
_DIGITS = {"jtok": 3, "usd_mtok": 4}


def _columns(comparison: Comparison) -> list[CompareMetric]:
    """The standard columns, then any Pareto metric that is not one of them (e.g. usd_mtok)."""
    cols = [get_metric(c) for c in _COLUMNS]
    return cols + [m for m in comparison.pareto_metrics if m.name not in _COLUMNS]


def _row_cells(row: RunRow, cols: list[CompareMetric]) -> list[str]:
    p = row.run.predicate
    return [
        p.parameters.suite.name,
        row.label,
        load_label(p.parameters.load.concurrency, p.parameters.load.rate_rps),
        *[_num(m.value(p), _DIGITS.get(m.name, 1)) for m in cols],
        "★" if row.pareto else "",
        "yes" if p.validity.valid else "NO",
    ]


def _headers(cols: list[CompareMetric]) -> list[str]:
    return ["Suite", "Run", "Conc.", *[m.label for m in cols], "Pareto", "Valid"]


def comparison_csv(comparison: Comparison, frontier_only: bool = False) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    cols = _columns(comparison)
    writer.writerow(["suite", "label", "concurrency", *[m.json_key for m in cols],
                     "pareto", "valid", "run_id"])  # fmt: skip
    for row in _visible(comparison, frontier_only):
        p = row.run.predicate
        writer.writerow(
            [p.parameters.suite.name, row.label, p.parameters.load.concurrency,
             *[m.value(p) for m in cols], row.pareto,
             p.validity.valid, p.run_id]
        )  # fmt: skip
    return buf.getvalue()


def comparison_markdown(comparison: Comparison, frontier_only: bool = False) -> str:
    cols = _columns(comparison)
    heads = _headers(cols)
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += [
        "| " + " | ".join(_row_cells(r, cols)) + " |" for r in _visible(comparison, frontier_only)
    ]
    if comparison.pairs:
        head = "| Suite | Point | A | B | Metric | Verdict |"
        lines += ["", _method_line(comparison), "", head, "|---|---|---|---|---|---|"]
        for pair in comparison.pairs:
            for d in pair.metrics:
                lines.append(
                    f"| {pair.suite} | {pair.point} | {pair.a} | {pair.b} | "
                    f"{d.metric.label} | {_with_warnings(d)} |"
                )
    if comparison.quality:
        lines += quality_markdown(comparison.quality)
    return "\n".join(lines) + "\n"


def render_comparison_rich(
    comparison: Comparison, console: Console, frontier_only: bool = False
) -> None:
    if comparison.quality:
        render_quality_rich(comparison.quality, console)
    if not comparison.rows:
        return
    t = Table(title=f"runs by {comparison.by}", title_justify="left", header_style="bold")
    cols = _columns(comparison)
    for h in _headers(cols):
        t.add_column(h, justify="left" if h in ("Suite", "Run") else "right", no_wrap=True)
    for row in _visible(comparison, frontier_only):
        t.add_row(*_row_cells(row, cols))
    console.print(t)
    names = ", ".join(m.name for m in comparison.pareto_metrics)
    console.print(f"★ = on the Pareto frontier of {names} within its suite")
    for row in _visible(comparison, frontier_only):
        pred = row.run.predicate
        if not pred.validity.valid:
            console.print(
                f"[yellow]invalid:[/] {row.label} @ {pred.parameters.load.concurrency}: "
                + "; ".join(pred.validity.reasons),
                soft_wrap=True,
            )
    for pair in comparison.pairs:
        p = Table(
            title=f"{pair.suite} @ {pair.point}: {pair.b} vs {pair.a} "
            f"({pair.runs_b} vs {pair.runs_a} runs)",
            title_justify="left",
            header_style="bold",
        )
        p.add_column("Metric")
        p.add_column(pair.a, justify="right")
        p.add_column(pair.b, justify="right")
        p.add_column(f"Verdict ({1 - comparison.alpha:.0%} CI of the ratio over runs)")
        for d in pair.metrics:
            p.add_row(d.metric.label, _num(d.difference.a), _num(d.difference.b),
                      _with_warnings(d))  # fmt: skip
        console.print(p)
    if comparison.pairs:
        console.print(_method_line(comparison), soft_wrap=True)
    for problem in comparison.forced_mismatches:
        console.print(f"[yellow]warning:[/] compared with --force: {problem}", soft_wrap=True)
