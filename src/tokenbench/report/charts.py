"""What the report shows, computed once from the corpus; the HTML and PNG renderers only draw."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tokenbench.compare.comparison import Comparison, RunRow
from tokenbench.compare.quality import QualityComparison, QualityRow
from tokenbench.metrics.bootstrap import bootstrap_ci
from tokenbench.metrics.latency import tpot_ms, ttft_ms
from tokenbench.metrics.timeline import client_timeline, telemetry_timeline, timeline_origin_ns

# One colour per label across every chart of a report: a fixed palette (category10 without its
# grey) taken in the order of the sorted labels; the grey is kept for what belongs to no label.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf")  # fmt: skip
NEUTRAL = "#555555"


def label_colours(labels: Iterable[str]) -> dict[str, str]:
    """Each label's colour: the palette in the order of the sorted labels (cycling past 9)."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(sorted(set(labels)))}


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    x: list[float]
    y: list[float]
    mode: str = "lines+markers"  # plotly's vocabulary: "lines", "markers", "lines+markers"
    dash: str = "solid"  # plotly's vocabulary: "solid", "dash", "dot", "dashdot"
    label: str | None = None  # the model (or --by axis) it belongs to; None: no label's
    colour: str = NEUTRAL  # the label's colour, the same in every chart
    text: list[str] | None = None  # written beside each marker (the point's load)
    hover: list[str] | None = None  # shown on hover, one per point
    error_plus: list[float] | None = None  # error bar above each point (y units)
    error_minus: list[float] | None = None  # … below
    legend: bool = True  # listed in the legend (repeats of one point are listed once)
    group: str | None = None  # traces toggled together from the legend
    width: float = 2.0  # the line's, in px
    opacity: float = 1.0
    panel: int = 0  # a chart with panels: which one (each its own y axis, one x axis)


@dataclass(frozen=True, slots=True)
class Chart:
    chart_id: str
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    log_x: bool = False
    y_range: tuple[float, float] | None = None  # fixed (a share: 0–1, a percentage: 0–100)
    x_from_zero: bool = False  # a rate on x (tok/s): one point alone is not zoomed into
    panels: tuple[str, ...] = ()  # stacked panels sharing the x axis: each one's y label


@dataclass(frozen=True, slots=True)
class TableRow:
    label: str
    concurrency: int
    load: str  # "c=4", "2 req/s", or "1,024 tok in" in a context sweep
    throughput: float | None
    ttft_p50: float | None
    ttft_p50_ci: tuple[float, float] | None
    ttft_p99: float | None
    tpot_p50: float | None
    tpot_p50_ci: tuple[float, float] | None
    joules_per_token: float | None
    errors: int
    valid: bool
    client_error_p99: float | None = None  # ms: --canary's TTFT error p99, else --selftest's


@dataclass(frozen=True, slots=True)
class ProvenanceRow:
    label: str
    concurrency: int
    load: str
    run_id: str
    hardware: str
    hardware_short: str  # "1× H200", "EPYC 7B13 ×16": the line's name; `hardware` in full
    fingerprint: str
    engine: str
    tool: str
    signature: str  # "verified (keyid …)" or "unsigned"
    signature_short: str  # "verified (keyid 01234567…)" or "unsigned"
    comparability_key: str
    energy: str
    valid: bool
    validity: str  # "valid", or the reasons it is not


@dataclass
class SuiteSection:
    suite: str
    charts: list[Chart] = field(default_factory=list)
    table: list[TableRow] = field(default_factory=list)
    provenance: list[ProvenanceRow] = field(default_factory=list)
    # every label of the report (runs and evals): the domain of the colours, so that a chart
    # drawn apart from this section (quality) gives each label the same colour
    labels: list[str] = field(default_factory=list)
    timelines: list[Chart] = field(default_factory=list)  # each point over time
    timelines_omitted: int = 0  # points beyond TIMELINES_MAX, not drawn


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


# What a section's points sweep: each kind its own x axis (a rate point's concurrency is only
# its cap, and a context sweep's points differ in input length, not load).
_SWEEPS = {
    "concurrency": ("Output throughput vs concurrency", "concurrency"),
    "rate": ("Output throughput vs offered rate", "offered rate (req/s)"),
    "context": ("Output throughput vs input length", "input tokens"),
}


def _sweep_kind(row: RunRow, context: bool) -> str:
    p = row.run.predicate.parameters
    if context and p.workload.input_tokens_target is not None:
        return "context"
    return "rate" if p.load.rate_rps is not None else "concurrency"


def _is_context_sweep(rows: list[RunRow]) -> bool:
    params = [r.run.predicate.parameters for r in rows]
    lengths = {p.workload.input_tokens_target for p in params} - {None}
    return len(lengths) > 1 or any(p.suite.table == "context" for p in params)


def _x(row: RunRow, kind: str) -> float:
    p = row.run.predicate.parameters
    if kind == "context":
        return float(p.workload.input_tokens_target or 0)
    if kind == "rate":
        return float(p.load.rate_rps or 0.0)
    return float(p.load.concurrency)


def load_text(row: RunRow, context: bool) -> str:
    """A point's load, short enough to write beside its marker: "c=4", "2 req/s", or its input
    length in a context sweep ("1,024 tok in")."""
    p = row.run.predicate.parameters
    if context and p.workload.input_tokens_target is not None:
        return f"{p.workload.input_tokens_target:,} tok in"
    if p.load.rate_rps is not None:
        return f"{p.load.rate_rps:g} req/s"
    return f"c={p.load.concurrency}"


def _order(row: RunRow) -> tuple[str, float, float, int]:
    p = row.run.predicate.parameters
    return (row.label, float(p.workload.input_tokens_target or 0), p.load.rate_rps or 0.0,
            p.load.concurrency)  # fmt: skip


def report_labels(comparison: Comparison) -> list[str]:
    """Every label the report draws: its runs' and its evals'."""
    labels = {row.label for row in comparison.rows}
    if comparison.quality is not None:
        labels |= {row.label for row in comparison.quality.rows}
    return sorted(labels)


def sections(comparison: Comparison) -> list[SuiteSection]:
    """One section per suite: its charts, its per-run table and its provenance."""
    labels = report_labels(comparison)
    colours = label_colours(labels)
    by_suite: dict[str, list[RunRow]] = defaultdict(list)
    for row in comparison.rows:
        by_suite[row.run.predicate.parameters.suite.name].append(row)
    out = []
    for index, (suite, rows) in enumerate(sorted(by_suite.items())):
        section = SuiteSection(suite, labels=labels)
        context = _is_context_sweep(rows)
        section.charts = _charts(index, rows, colours, context)
        ordered = sorted(rows, key=_order)
        drawn = [timeline_chart(index, i, row, colours[row.label], context)
                 for i, row in enumerate(ordered)]  # fmt: skip
        drawn = [c for c in drawn if c.series]  # a run without its raw records has none
        section.timelines = drawn[:TIMELINES_MAX]
        section.timelines_omitted = max(0, len(drawn) - TIMELINES_MAX)
        for row in ordered:
            section.table.append(_table_row(row, context))
            section.provenance.append(_provenance_row(row, context))
        out.append(section)
    return out


def _charts(index: int, rows: list[RunRow], colours: dict[str, str], context: bool) -> list[Chart]:
    """Throughput by load (one chart per sweep kind), TTFT against throughput with the frontier,
    and TTFT distributions; one colour per label throughout."""
    by_label: dict[str, list[RunRow]] = defaultdict(list)
    for row in rows:
        by_label[row.label].append(row)
    kinds = sorted({_sweep_kind(r, context) for r in rows}, key=list(_SWEEPS).index)
    tput: dict[str, list[Series]] = {k: [] for k in kinds}
    latency = []
    for label, members in sorted(by_label.items()):
        members.sort(key=_order)
        for kind in kinds:
            tput[kind] += _throughput_series(label, members, kind, colours[label], context)
        latency += _latency_series(label, members, colours[label], context)
    frontier = sorted(
        (r.run.predicate.metrics.output_throughput_tok_per_s or 0.0,
         r.run.predicate.metrics.ttft_ms.p50 if r.run.predicate.metrics.ttft_ms else 0.0)
        for r in rows
        if r.pareto
    )  # fmt: skip
    if frontier:  # a wide grey band under the runs it passes through
        band = Series("Pareto frontier", [x for x, _ in frontier], [y for _, y in frontier],
                      "lines", width=12, opacity=0.3)  # fmt: skip
        latency.insert(0, band)
    cdfs = _cdf_series(by_label, colours, context)
    charts = []
    for n, kind in enumerate(kinds):
        title, x_label = _SWEEPS[kind]
        suffix = "" if n == 0 else f"-{kind}"
        charts.append(Chart(f"s{index}-throughput{suffix}", title, x_label, "output tok/s",
                            tput[kind], log_x=True))  # fmt: skip
    return [
        *charts,
        Chart(f"s{index}-latency", "TTFT vs throughput, by load (p99 dashed; grey band: Pareto "
              "frontier)", "output tok/s", "TTFT (ms)", latency, x_from_zero=True),
        Chart(f"s{index}-cdf", "TTFT distribution (CDF)", "TTFT (ms)", "fraction of requests",
              cdfs, y_range=(0.0, 1.0)),
    ]  # fmt: skip


TIMELINES_MAX = 24  # timelines drawn per suite: a long sweep's first ones


def timeline_chart(index: int, n: int, row: RunRow, colour: str, context: bool) -> Chart:
    """One point over time: a panel per quantity, on one time axis (client series from the
    raw records; the server's and the hardware's from the telemetry, where recorded)."""
    records = row.run.records()
    series = client_timeline(records)
    origin = timeline_origin_ns(records)
    if origin is not None:
        series += telemetry_timeline(row.run.telemetry(), origin)
    panels = tuple(f"{s.name} ({s.unit})" for s in series)
    drawn = [
        Series(s.name, s.t_s, s.values, "lines", label=row.label, colour=colour, panel=i,
               legend=False)
        for i, s in enumerate(series)
    ]  # fmt: skip
    title = f"{row.label}, {load_text(row, context)} (run …{row.run.predicate.run_id[-8:]})"
    return Chart(f"s{index}-timeline-{n}", title, "seconds from the first measured send", "",
                 drawn, panels=panels)  # fmt: skip


def _throughput_series(
    label: str, members: list[RunRow], kind: str, colour: str, context: bool
) -> list[Series]:
    pts = [(_x(r, kind), t, load_text(r, context)) for r in members
           if _sweep_kind(r, context) == kind
           and (t := r.run.predicate.metrics.output_throughput_tok_per_s) is not None
           ]  # fmt: skip
    if not pts:
        return []
    return [Series(label, [x for x, _, _ in pts], [t for _, t, _ in pts], label=label,
                   colour=colour, hover=[w for _, _, w in pts])]  # fmt: skip


def _latency_series(label: str, members: list[RunRow], colour: str, context: bool) -> list[Series]:
    """TTFT p50 and p99 against throughput, each point labelled by its load."""
    measured = sorted((r for r in members
                       if r.run.predicate.metrics.output_throughput_tok_per_s is not None
                       and r.run.predicate.metrics.ttft_ms is not None),
                      key=lambda r: r.run.predicate.metrics.output_throughput_tok_per_s or 0.0
                      )  # fmt: skip
    loads = [load_text(r, context) for r in measured]
    # each load written once beside its first marker (repeats sit close together)
    text = [w if w not in loads[:i] else "" for i, w in enumerate(loads)]
    out = []
    for q, dash in (("p50", "solid"), ("p99", "dash")):
        xs, ys = [], []
        for r in measured:
            m = r.run.predicate.metrics
            xs.append(m.output_throughput_tok_per_s or 0.0)
            ys.append((m.ttft_ms.p50 if q == "p50" else m.ttft_ms.p99) if m.ttft_ms else 0.0)
        if xs:
            out.append(Series(f"{label} TTFT {q}", xs, ys,
                              "lines+markers+text" if q == "p50" else "lines+markers",
                              dash, label=label, colour=colour,
                              text=text if q == "p50" else None,
                              hover=[f"{w}, TTFT {q}" for w in loads],
                              group=label))  # fmt: skip
    return out


def _cdf_series(
    by_label: dict[str, list[RunRow]], colours: dict[str, str], context: bool
) -> list[Series]:
    """One TTFT CDF per run; the loads of a label told apart by dash, repeats sharing one
    legend entry."""
    cdfs = []
    dashes = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
    seen: set[str] = set()
    for label, members in sorted(by_label.items()):
        points = list(dict.fromkeys(load_text(r, context) for r in members))
        for row in members:  # sorted by the caller
            xs, ys = _cdf(_samples(row, ttft_ms))
            if xs:
                load = load_text(row, context)
                name = f"{label} {load}"
                cdfs.append(Series(name, xs, ys, "lines",
                                   dashes[points.index(load) % len(dashes)], label=label,
                                   colour=colours[label], legend=name not in seen,
                                   group=name))  # fmt: skip
                seen.add(name)
    return cdfs


def _table_row(row: RunRow, context: bool) -> TableRow:
    p = row.run.predicate
    m = p.metrics
    return TableRow(
        label=row.label,
        concurrency=p.parameters.load.concurrency,
        load=load_text(row, context),
        throughput=m.output_throughput_tok_per_s,
        ttft_p50=m.ttft_ms.p50 if m.ttft_ms else None,
        ttft_p50_ci=bootstrap_ci(_samples(row, ttft_ms), 50),
        ttft_p99=m.ttft_ms.p99 if m.ttft_ms else None,
        tpot_p50=m.tpot_ms.p50 if m.tpot_ms else None,
        tpot_p50_ci=bootstrap_ci(_samples(row, tpot_ms), 50),
        joules_per_token=m.joules_per_token,
        errors=m.requests_failed,
        valid=p.validity.valid,
        client_error_p99=next((b.ttft_error_ms_p99 for b in (p.canary, p.error_budget)
                               if b is not None and b.ttft_error_ms_p99 is not None), None),
    )  # fmt: skip


_VENDOR_WORDS = re.compile(r"\((?:R|TM)\)|\b(?:NVIDIA|GeForce|Intel|AMD|CPU|Processor)\b|"
                           r"\b\d+-Core\b|@\s*[\d.]+\s*GHz", re.IGNORECASE)  # fmt: skip


def short_hardware(label: str) -> str:
    """A hardware label without vendor words and clock speeds: "1× NVIDIA H200" → "1× H200",
    "AMD EPYC 7B13 64-Core Processor ×16" → "EPYC 7B13 ×16"."""
    return " ".join(_VENDOR_WORDS.sub(" ", label).split()) or label


def _provenance_row(row: RunRow, context: bool) -> ProvenanceRow:
    p = row.run.predicate
    engine = p.target.engine
    return ProvenanceRow(
        label=row.label,
        concurrency=p.parameters.load.concurrency,
        load=load_text(row, context),
        run_id=p.run_id,
        hardware=p.hardware.label,
        hardware_short=short_hardware(p.hardware.label),
        fingerprint=p.hardware.fingerprint[:12],
        engine=engine.detail,
        tool=f"tokenbench {p.software.tool_version}"
        + (f" ({p.software.git_commit[:10]})" if p.software.git_commit else ""),
        signature=(f"verified (keyid {row.run.signer[:16]}…)" if row.run.signer else "unsigned"),
        signature_short=(
            f"verified (keyid {row.run.signer[:8]}…)" if row.run.signer else "unsigned"
        ),
        comparability_key=p.comparability.key,
        energy=p.energy.method
        + (f" ({p.energy.scope})" if p.energy.scope else "")
        + (f": {p.energy.reason}" if p.energy.reason else ""),
        valid=p.validity.valid,
        validity="valid" if p.validity.valid else "invalid: " + "; ".join(p.validity.reasons),
    )


def quality_charts(q: QualityComparison, labels: Iterable[str] = ()) -> list[Chart]:
    """Per task, accuracy (%, with its 95% Wilson interval) against throughput: one marker per
    model (the frontier is above-right). `labels`: the report's other labels, so that each
    label has the colour it has in the speed charts."""
    colours = label_colours({*labels, *(r.label for r in q.rows)})
    by_task: dict[str, list[QualityRow]] = defaultdict(list)
    for row in q.rows:
        by_task[row.task].append(row)
    charts = []
    for n, (task, rows) in enumerate(sorted(by_task.items())):
        series = [_quality_series(r, colours[r.label]) for r in rows]
        drawn = [s for s in series if s is not None]
        if drawn:
            charts.append(
                Chart(
                    f"quality-{n}",
                    f"{task}: accuracy vs throughput (bars: 95% Wilson interval; ★ frontier)",
                    "output throughput (tok/s)",
                    "accuracy (%)",
                    drawn,
                    y_range=(0.0, 100.0),
                    x_from_zero=True,
                )
            )
    return charts


def _quality_series(r: QualityRow, colour: str) -> Series | None:
    acc = r.accuracy
    if r.throughput_tok_per_s is None or acc.accuracy is None:
        return None
    low = acc.ci_low if acc.ci_low is not None else acc.accuracy
    high = acc.ci_high if acc.ci_high is not None else acc.accuracy
    at = f" @ {r.throughput_at}" if r.throughput_at else ""
    return Series(r.label + (" ★" if r.pareto else ""), [r.throughput_tok_per_s],
                  [acc.accuracy * 100], mode="markers", label=r.label, colour=colour,
                  hover=[f"{acc.accuracy:.1%} [{low:.1%}, {high:.1%}] of {acc.total}{at}"],
                  error_plus=[(high - acc.accuracy) * 100],
                  error_minus=[(acc.accuracy - low) * 100])  # fmt: skip


def load_charts(q: QualityComparison) -> list[Chart]:
    """Per task: accuracy (with its 95% Wilson interval) against the load level, one line per
    model setup; and how often greedy answers diverge from the lowest level's."""
    colours = label_colours({(r.setting or r.label) + (" (req/s)" if r.label.endswith("req/s")
                                                       else "") for r in q.rows})  # fmt: skip
    by_task: dict[str, list[QualityRow]] = defaultdict(list)
    for row in q.rows:
        by_task[row.task].append(row)
    charts = []
    for n, (task, rows) in enumerate(sorted(by_task.items())):
        by_setting: dict[str, list[QualityRow]] = defaultdict(list)
        for r in rows:
            if r.level is not None and r.accuracy.accuracy is not None:
                # closed and open loop are not one axis: a setup's rate levels are a line apart
                rate = " (req/s)" if r.label.endswith("req/s") else ""
                by_setting[(r.setting or r.label) + rate].append(r)
        series = [_accuracy_line(name, sorted(rs, key=lambda r: r.level or 0), colours[name])
                  for name, rs in sorted(by_setting.items())]  # fmt: skip
        levels = [r.level for rs in by_setting.values() for r in rs if r.level]
        log_x = bool(levels) and max(levels) / min(levels) >= 8
        charts.append(Chart(f"load-accuracy-{n}", f"{task}: accuracy vs load (bars: 95% Wilson "
                            "interval)", "load (concurrency or req/s)", "accuracy (%)", series,
                            log_x=log_x, y_range=(0.0, 100.0)))  # fmt: skip
        diverged = _divergence_lines(q, task, by_setting, colours)
        if diverged:
            charts.append(Chart(f"load-divergence-{n}", f"{task}: answers that differ from the "
                                "lowest load's (greedy decoding)", "load (concurrency or req/s)",
                                "answers changed (%)", diverged, log_x=log_x,
                                y_range=(0.0, 100.0)))  # fmt: skip
    return charts


def _accuracy_line(name: str, rows: list[QualityRow], colour: str) -> Series:
    x = [r.level or 0.0 for r in rows]
    acc = [r.accuracy.accuracy or 0.0 for r in rows]
    high = [(r.accuracy.ci_high if r.accuracy.ci_high is not None else a) for r, a in
            zip(rows, acc, strict=True)]  # fmt: skip
    low = [(r.accuracy.ci_low if r.accuracy.ci_low is not None else a) for r, a in
           zip(rows, acc, strict=True)]  # fmt: skip
    hover = [f"{r.label}: {a:.1%} [{lo:.1%}, {hi:.1%}] of {r.accuracy.total}"
             for r, a, lo, hi in zip(rows, acc, low, high, strict=True)]  # fmt: skip
    return Series(name, x, [a * 100 for a in acc], label=name, colour=colour, hover=hover,
                  error_plus=[(h - a) * 100 for h, a in zip(high, acc, strict=True)],
                  error_minus=[(a - lo) * 100 for a, lo in zip(acc, low, strict=True)])  # fmt: skip


def _divergence_lines(q: QualityComparison, task: str, by_setting: dict[str, list[QualityRow]],
                      colours: dict[str, str]) -> list[Series]:  # fmt: skip
    out = []
    for name, rows in sorted(by_setting.items()):
        level = {r.label: r.level or 0.0 for r in rows}
        setting = rows[0].setting
        pairs = sorted((p for p in q.pairs if p.task == task and p.setting == setting
                        and p.divergence is not None and p.b in level and p.a in level),
                       key=lambda p: level[p.b])  # fmt: skip
        if not pairs:
            continue
        x = [level.get(pairs[0].a, 0.0)] + [level[p.b] for p in pairs]
        y = [0.0] + [(p.divergence or 0.0) * 100 for p in pairs]
        hover = ["the baseline"] + [f"{p.b}: {p.diverged} of {p.difference.items} answers "
                                    "changed" for p in pairs]  # fmt: skip
        out.append(Series(name, x, y, label=name, colour=colours[name], hover=hover))
    return out
