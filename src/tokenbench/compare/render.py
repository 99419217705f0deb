"""Renderers for tables: rich for terminals, JSON for jq. They format; they compute nothing."""

from __future__ import annotations

from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from tokenbench.compare.summary import SummaryRow, SummaryTable

DASH = "—"
_NO_WRAP = ("Model", "Engine", "Hardware", "Key", "Run ID")


def _num(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def _suite_table(suite: str, rows: list[SummaryRow]) -> Table:
    t = Table(title=suite, title_justify="left", header_style="bold")
    for name, justify in [
        ("Model", "left"), ("Engine", "left"), ("Quant", "left"), ("Hardware", "left"),
        ("Conc.", "right"), ("Throughput (tok/s)", "right"), ("TTFT p50 (ms)", "right"),
        ("TTFT p99 (ms)", "right"), ("J/tok", "right"), ("Errors", "right"), ("Key", "left"),
        ("Signed", "left"), ("Run ID", "left"),
    ]:  # fmt: skip
        t.add_column(name, justify=justify, no_wrap=name in _NO_WRAP)  # type: ignore[arg-type]
    for r in rows:
        engine = r.engine + (f" {r.engine_version}" if r.engine_version else "")
        t.add_row(
            r.model_id,
            engine,
            r.quant or DASH,
            r.hardware,
            str(r.concurrency),
            _num(r.output_throughput_tok_per_s),
            _num(r.ttft_p50_ms),
            _num(r.ttft_p99_ms),
            _num(r.joules_per_token, 3),
            str(r.requests_failed) + ("" if r.valid else " [red](invalid)[/]"),
            r.comparability_key[:8],
            "✓" if r.signer else "[yellow]unsigned[/]",
            r.run_id[-8:],
        )
    return t


def render_summary_rich(table: SummaryTable, console: Console) -> None:
    """One table per suite (rows are already sorted by suite), then the load count line."""
    by_suite: dict[str, list[SummaryRow]] = {}
    for r in table.rows:
        by_suite.setdefault(r.suite, []).append(r)
    for suite, rows in by_suite.items():
        console.print(_suite_table(suite, rows))
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
