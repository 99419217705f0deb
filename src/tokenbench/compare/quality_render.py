"""Text cells of quality comparisons, shared by every format that draws them as a table
(terminal, Markdown, the HTML report)."""

from __future__ import annotations

from tokenbench.compare.quality import QualityPair, QualityRow
from tokenbench.metrics.quality import Accuracy


def pct(a: Accuracy) -> str:
    if a.accuracy is None:
        return "—"
    return f"{a.accuracy:.1%} [{a.ci_low:.1%}, {a.ci_high:.1%}]"


def opt(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def _at(where: str | None) -> str:
    return f" @ {where}" if where else ""


def pp(value: float) -> str:
    """A difference of two proportions, in percentage points: "+3.2 pp" (not "+3.2%", which
    would read as relative to the baseline)."""
    return f"{value * 100:+.1f} pp"


def _money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.5f}"


def quality_cells(row: QualityRow) -> list[str]:
    o = row.outcome
    return [
        row.task,
        row.setting or "—",
        row.label,
        pct(row.accuracy),
        str(row.accuracy.total),
        opt(row.parse_failure_rate, ".1%"),
        opt(row.output_tokens_mean, ".0f"),
        opt(row.throughput_tok_per_s, ",.1f")
        + _at(row.throughput_at)
        + (
            ""
            if row.throughput_tok_per_s is not None or not row.throughput_reason
            else f" ({row.throughput_reason})"
        ),
        "—" if row.usd_per_mtok is None else f"${row.usd_per_mtok:,.4f}",
        _money(o.usd_per_correct if o else None),
        opt(o.joules_per_correct if o else None, ",.1f"),
        opt(o.seconds_per_correct if o else None, ",.2f"),
        "★" if row.pareto else ("" if row.valid else "invalid"),
    ]


QUALITY_HEADERS = ["Task", "Setting", "Model", "Accuracy [95% Wilson]", "n", "Unparsed",
                   "Out tok/answer", "Throughput tok/s", "Self $/M out", "$/correct",
                   "J/correct", "s/correct", "Pareto"]  # fmt: skip
PAIR_HEADERS = ["Task", "Setting", "A", "B", "A − B [95% CI]", "Only A", "Only B", "Failed A/B",
                "McNemar p", "Diverged", "Verdict"]  # fmt: skip


def _diverged(pair: QualityPair) -> str:
    if pair.divergence is None:
        return "—"
    return f"{pair.divergence:.1%} ({pair.diverged})"


def pair_cells(pair: QualityPair) -> list[str]:
    d = pair.difference
    return [
        pair.task, pair.setting or "—", pair.a, pair.b,
        f"{pp(d.difference)} [{pp(d.ci_low)}, {pp(d.ci_high)}]",
        str(d.only_a), str(d.only_b), f"{pair.failed_a}/{pair.failed_b}", f"{d.mcnemar_p:.3g}",
        _diverged(pair), pair.verdict,
    ]  # fmt: skip
