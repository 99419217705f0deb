"""What the report shows, computed once from the corpus; the HTML and PNG renderers only draw."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tokenbench.compare.comparison import Comparison, RunRow
from tokenbench.compare.quality import QualityComparison, QualityRow
from tokenbench.metrics.bootstrap import bootstrap_ci
from tokenbench.metrics.latency import tpot_ms, ttft_ms


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    x: list[float]
    y: list[float]
    mode: str = "lines+markers"  # plotly's vocabulary: "lines", "markers", "lines+markers"
    dash: bool = False


@dataclass(frozen=True, slots=True)
class Chart:
    chart_id: str
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    log_x: bool = False


@dataclass(frozen=True, slots=True)
class TableRow:
    label: str
    concurrency: int
    throughput: float | None
    ttft_p50: float | None
    ttft_p50_ci: tuple[float, float] | None
    ttft_p99: float | None
    tpot_p50: float | None
    tpot_p50_ci: tuple[float, float] | None
    joules_per_token: float | None
    errors: int
    valid: bool


@dataclass(frozen=True, slots=True)
class ProvenanceRow:
    label: str
    concurrency: int
    run_id: str
    hardware: str
    fingerprint: str
    engine: str
    tool: str
    signature: str  # "verified (keyid …)" or "unsigned"
    comparability_key: str
    energy: str


@dataclass
class SuiteSection:
    suite: str
    charts: list[Chart] = field(default_factory=list)
    table: list[TableRow] = field(default_factory=list)
    provenance: list[ProvenanceRow] = field(default_factory=list)


def _samples(row: RunRow, fn: object) -> list[float]:
    out = []
    for rec in row.run.records():
        if not rec.measured or not rec.ok:
            continue
        v = fn(rec)  # type: ignore[operator]
        if v is not None:
            out.append(float(v))
    return out


def _cdf(values: list[float]) -> tuple[list[float], list[float]]:
    ordered = sorted(values)
    n = len(ordered)
    return ordered, [(i + 1) / n for i in range(n)]


def sections(comparison: Comparison) -> list[SuiteSection]:
    """One section per suite: its charts, its per-run table and its provenance."""
    by_suite: dict[str, list[RunRow]] = defaultdict(list)
    for row in comparison.rows:
        by_suite[row.run.predicate.parameters.suite.name].append(row)
    out = []
    for index, (suite, rows) in enumerate(sorted(by_suite.items())):
        section = SuiteSection(suite)
        section.charts = _charts(index, rows)
        for row in sorted(
            rows, key=lambda r: (r.label, r.run.predicate.parameters.load.concurrency)
        ):
            section.table.append(_table_row(row))
            section.provenance.append(_provenance_row(row))
        out.append(section)
    return out


def _charts(index: int, rows: list[RunRow]) -> list[Chart]:
    by_label: dict[str, list[RunRow]] = defaultdict(list)
    for row in rows:
        by_label[row.label].append(row)
    tput = []
    latency = []
    for label, members in sorted(by_label.items()):
        members.sort(key=lambda r: r.run.predicate.parameters.load.concurrency)
        pts = [
            (float(r.run.predicate.parameters.load.concurrency), t)
            for r in members
            if (t := r.run.predicate.metrics.output_throughput_tok_per_s) is not None
        ]
        tput.append(Series(label, [c for c, _ in pts], [t for _, t in pts]))
        for q, dash in (("p50", False), ("p99", True)):
            xs, ys = [], []
            for r in members:
                m = r.run.predicate.metrics
                if m.output_throughput_tok_per_s is not None and m.ttft_ms is not None:
                    xs.append(m.output_throughput_tok_per_s)
                    ys.append(m.ttft_ms.p50 if q == "p50" else m.ttft_ms.p99)
            latency.append(Series(f"{label} TTFT {q}", xs, ys, "lines+markers", dash))
    frontier = sorted(
        (r.run.predicate.metrics.output_throughput_tok_per_s or 0.0,
         r.run.predicate.metrics.ttft_ms.p50 if r.run.predicate.metrics.ttft_ms else 0.0)
        for r in rows
        if r.pareto
    )  # fmt: skip
    if frontier:
        latency.append(Series("Pareto frontier", [x for x, _ in frontier],
                              [y for _, y in frontier], "lines", True))  # fmt: skip
    cdfs = []
    for row in sorted(rows, key=lambda r: (r.label, r.run.predicate.parameters.load.concurrency)):
        xs, ys = _cdf(_samples(row, ttft_ms))
        if xs:
            c = row.run.predicate.parameters.load.concurrency
            cdfs.append(Series(f"{row.label} c={c}", xs, ys, "lines"))
    return [
        Chart(f"s{index}-throughput", "Output throughput vs concurrency", "concurrency",
              "output tok/s", tput, log_x=True),
        Chart(f"s{index}-latency", "TTFT vs throughput (Pareto frontier dashed)",
              "output tok/s", "TTFT (ms)", latency),
        Chart(f"s{index}-cdf", "TTFT distribution (CDF)", "TTFT (ms)", "fraction of requests",
              cdfs),
    ]  # fmt: skip


def _table_row(row: RunRow) -> TableRow:
    p = row.run.predicate
    m = p.metrics
    return TableRow(
        label=row.label,
        concurrency=p.parameters.load.concurrency,
        throughput=m.output_throughput_tok_per_s,
        ttft_p50=m.ttft_ms.p50 if m.ttft_ms else None,
        ttft_p50_ci=bootstrap_ci(_samples(row, ttft_ms), 50),
        ttft_p99=m.ttft_ms.p99 if m.ttft_ms else None,
        tpot_p50=m.tpot_ms.p50 if m.tpot_ms else None,
        tpot_p50_ci=bootstrap_ci(_samples(row, tpot_ms), 50),
        joules_per_token=m.joules_per_token,
        errors=m.requests_failed,
        valid=p.validity.valid,
    )


def _provenance_row(row: RunRow) -> ProvenanceRow:
    p = row.run.predicate
    engine = p.target.engine
    return ProvenanceRow(
        label=row.label,
        concurrency=p.parameters.load.concurrency,
        run_id=p.run_id,
        hardware=p.hardware.label,
        fingerprint=p.hardware.fingerprint[:12],
        engine=engine.detail,
        tool=f"tokenbench {p.software.tool_version}"
        + (f" ({p.software.git_commit[:10]})" if p.software.git_commit else ""),
        signature=(f"verified (keyid {row.run.signer[:16]}…)" if row.run.signer else "unsigned"),
        comparability_key=p.comparability.key,
        energy=p.energy.method
        + (f" ({p.energy.scope})" if p.energy.scope else "")
        + (f": {p.energy.reason}" if p.energy.reason else ""),
    )


def quality_charts(q: QualityComparison) -> list[Chart]:
    """Per task, accuracy against throughput: one marker per model (the frontier is above-right)."""
    by_task: dict[str, list[QualityRow]] = defaultdict(list)
    for row in q.rows:
        by_task[row.task].append(row)
    charts = []
    for n, (task, rows) in enumerate(sorted(by_task.items())):
        series = [
            Series(r.label + (" ★" if r.pareto else ""), [r.throughput_tok_per_s],
                   [r.accuracy.accuracy * 100], mode="markers")
            for r in rows
            if r.throughput_tok_per_s is not None and r.accuracy.accuracy is not None
        ]  # fmt: skip
        if series:
            charts.append(
                Chart(
                    f"quality-{n}",
                    f"{task}: accuracy vs throughput",
                    "output throughput (tok/s)",
                    "accuracy (%)",
                    series,
                )
            )
    return charts
