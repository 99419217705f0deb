"""Rendering quality comparisons and eval summaries: rich tables, JSON, Markdown."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from tokenbench.compare.quality import QualityComparison, QualityPair, QualityRow
from tokenbench.corpus.loader import LoadedEval
from tokenbench.metrics.quality import Accuracy


def pct(a: Accuracy) -> str:
    if a.accuracy is None:
        return "—"
    return f"{a.accuracy:.1%} [{a.ci_low:.1%}, {a.ci_high:.1%}]"


def _opt(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def _at(where: str | None) -> str:
    return f" @ {where}" if where else ""


def pp(value: float) -> str:
    """A difference of two proportions, in percentage points: "+3.2 pp" (not "+3.2%", which
    would read as relative to the baseline)."""
    return f"{value * 100:+.1f} pp"


def quality_cells(row: QualityRow) -> list[str]:
    return [
        row.task,
        row.label,
        pct(row.accuracy),
        str(row.accuracy.total),
        _opt(row.parse_failure_rate, ".1%"),
        _opt(row.output_tokens_mean, ".0f"),
        _opt(row.throughput_tok_per_s, ",.1f")
        + _at(row.throughput_at)
        + (
            ""
            if row.throughput_tok_per_s is not None or not row.throughput_reason
            else f" ({row.throughput_reason})"
        ),
        "—" if row.usd_per_mtok is None else f"${row.usd_per_mtok:,.4f}",
        "★" if row.pareto else ("" if row.valid else "invalid"),
    ]


QUALITY_HEADERS = ["Task", "Model", "Accuracy [95% Wilson]", "n", "Unparsed", "Out tok/answer",
                   "Throughput tok/s", "Self $/M out", "Pareto"]  # fmt: skip
PAIR_HEADERS = ["Task", "A", "B", "A − B [95% CI]", "Only A", "Only B", "Failed A/B", "McNemar p",
                "Verdict"]  # fmt: skip


def pair_cells(pair: QualityPair) -> list[str]:
    d = pair.difference
    return [
        pair.task, pair.a, pair.b,
        f"{pp(d.difference)} [{pp(d.ci_low)}, {pp(d.ci_high)}]",
        str(d.only_a), str(d.only_b), f"{pair.failed_a}/{pair.failed_b}", f"{d.mcnemar_p:.3g}",
        pair.verdict,
    ]  # fmt: skip


def render_quality_rich(q: QualityComparison, console: Console) -> None:
    t = Table(title="quality beside speed", title_justify="left", header_style="bold")
    for h in QUALITY_HEADERS:
        t.add_column(h, justify="left" if h in ("Task", "Model") else "right", no_wrap=True)
    for row in q.rows:
        t.add_row(*quality_cells(row))
    console.print(t)
    axis = (
        "self-hosted $/Mtok" if any(r.usd_per_mtok is not None for r in q.rows) else ("throughput")
    )
    console.print(f"★ = on the frontier of accuracy × {axis} within its task (valid evals only)")
    if q.pairs:
        p = Table(title="paired on the same items", title_justify="left", header_style="bold")
        for h in PAIR_HEADERS:
            p.add_column(h, justify="left" if h in ("Task", "A", "B", "Verdict") else "right")
        for pair in q.pairs:
            p.add_row(*pair_cells(pair))
        console.print(p)
        console.print(
            "A − B in percentage points (pp); items whose request failed on "
            "either side are left out of the pair (Failed A/B), not scored wrong"
        )
    for note in q.notes:
        console.print(f"[yellow]note:[/] {note}", soft_wrap=True)


def quality_markdown(q: QualityComparison) -> list[str]:
    lines = ["", "| " + " | ".join(QUALITY_HEADERS) + " |", "|" + "---|" * len(QUALITY_HEADERS)]
    lines += ["| " + " | ".join(quality_cells(r)) + " |" for r in q.rows]
    if q.pairs:
        lines += ["", "| " + " | ".join(PAIR_HEADERS) + " |", "|" + "---|" * len(PAIR_HEADERS)]
        lines += ["| " + " | ".join(pair_cells(p)) + " |" for p in q.pairs]
    return lines


def quality_dict(q: QualityComparison) -> dict[str, Any]:
    return {
        "rows": [
            {
                "task": r.task, "label": r.label, "variant": r.variant,
                "accuracy": r.accuracy.model_dump(), "parse_failure_rate": r.parse_failure_rate,
                "output_tokens_mean": r.output_tokens_mean,
                "throughput_tok_per_s": r.throughput_tok_per_s, "throughput_at": r.throughput_at,
                "throughput_reason": r.throughput_reason,
                "self_host_usd_per_mtok_output": r.usd_per_mtok,
                "pareto": r.pareto, "valid": r.valid, "eval_path": r.eval_path,
            }
            for r in q.rows
        ],
        "pairs": [
            {"task": p.task, "a": p.a, "b": p.b, "verdict": p.verdict,
             "failed_requests_a": p.failed_a, "failed_requests_b": p.failed_b,
             **p.difference.model_dump()}
            for p in q.pairs
        ],
        "notes": q.notes,
    }  # fmt: skip


def eval_summary_rows(evals: list[LoadedEval]) -> list[dict[str, Any]]:
    rows = []
    for ev in evals:
        p = ev.predicate
        m = p.metrics
        rows.append(
            {
                "path": str(ev.path),
                "run_id": p.run_id,
                "task": p.task.name,
                "model_id": p.target.model.model_id,
                "engine": p.target.engine.label,
                "primary": p.task.primary,
                "scores": {k: v.model_dump() for k, v in m.scores.items()},
                "instruction_scores": (
                    {k: v.model_dump() for k, v in m.instruction_scores.items()}
                    if m.instruction_scores else None
                ),
                "pass_at_k": m.pass_at_k,
                "items": m.items,
                "samples": m.samples,
                "errors": m.errors,
                "parse_failures": m.parse_failures,
                "truncated": m.truncated,
                "output_tokens_mean": m.output_tokens_mean,
                "ttft_p50_ms": m.ttft_ms.p50 if m.ttft_ms else None,
                "output_throughput_tok_per_s": m.output_throughput_tok_per_s,
                "signer": ev.signer,
                "valid": p.validity.valid,
            }
        )  # fmt: skip
    rows.sort(key=lambda r: (r["task"], r["model_id"], r["run_id"]))
    return rows


def render_eval_summary_rich(evals: list[LoadedEval], console: Console) -> None:
    if not evals:
        return
    t = Table(title="evals", title_justify="left", header_style="bold")
    left = ("Task", "Model", "Score", "Other scores")
    for h in (*left[:3], "Accuracy [95% Wilson]", left[3], "n", "Unparsed", "Failed", "Cut off",
              "Out tok/answer", "TTFT p50 ms", "Valid"):  # fmt: skip
        t.add_column(h, justify="left" if h in left else "right")
    by_path = {str(e.path): e for e in evals}
    for row in eval_summary_rows(evals):
        m = by_path[row["path"]].predicate.metrics
        primary = row["primary"]
        others = [f"{k} {pct(v)}" for k, v in m.scores.items() if k != primary]
        others += [f"instr. {k} {pct(v)}" for k, v in (m.instruction_scores or {}).items()]
        others += [f"{k} {v:.1%}" for k, v in (m.pass_at_k or {}).items()]
        t.add_row(
            row["task"], row["model_id"], primary, pct(m.scores[primary]), "; ".join(others),
            str(row["samples"]), str(row["parse_failures"]), str(row["errors"]),
            str(row["truncated"]), _opt(row["output_tokens_mean"], ".0f"),
            _opt(row["ttft_p50_ms"], ",.1f"), "yes" if row["valid"] else "NO",
        )  # fmt: skip
    console.print(t)
