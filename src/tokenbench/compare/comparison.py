"""Comparing runs: which are comparable, which are on the Pareto frontier, and for each pair on
the same suite and sweep point, how each metric differs, with a bootstrap confidence interval."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from tokenbench.compare.metrics_registry import (
    CompareMetric,
    all_metrics,
    get_metric,
    resolve_metric,
    worse_word,
)
from tokenbench.compare.pareto import pareto_front
from tokenbench.compare.quality import QualityComparison, compare_quality
from tokenbench.corpus.loader import Corpus, LoadedEval, LoadedRun
from tokenbench.envelope.schema import load_label
from tokenbench.errors import ConfigError
from tokenbench.metrics.bootstrap import RelativeDifference, bootstrap_relative_difference
from tokenbench.pricing.selfhost import SelfHostPricing

BY = ("model", "engine", "quant", "hardware")
# Comparability parts that may differ when comparing along each axis.
_MAY_DIFFER = {
    "model": frozenset[str](),
    "quant": frozenset[str](),
    "engine": frozenset({"engine"}),
    "hardware": frozenset({"hardware_fingerprint"}),
}
_PARTS = ("hardware_fingerprint", "engine", "suite_digest", "schema_version")
DEFAULT_PARETO = ("throughput", "ttft")
PAIR_METRICS = ("throughput", "ttft", "ttft_p99", "tpot", "e2e")


def run_label(run: LoadedRun | LoadedEval, by: str) -> str:
    p = run.predicate
    if by == "model":
        return p.target.model.model_id
    if by == "engine":
        return p.target.engine.label
    if by == "quant":
        return p.target.model.quant or "unknown"
    return f"{p.hardware.label} [{p.hardware.fingerprint[:8]}]"


@dataclass(frozen=True, slots=True)
class RunRow:
    run: LoadedRun
    label: str
    pareto: bool


@dataclass(frozen=True, slots=True)
class MetricDifference:
    metric: CompareMetric
    difference: RelativeDifference
    verdict: str


@dataclass(frozen=True, slots=True)
class Pair:
    suite: str
    concurrency: int
    rate_rps: float | None
    a: str  # baseline label
    b: str
    runs_a: int
    runs_b: int
    metrics: list[MetricDifference]


@dataclass
class Comparison:
    by: str
    pareto_metrics: list[CompareMetric]
    rows: list[RunRow] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    forced_mismatches: list[str] = field(default_factory=list)  # compared anyway (--force)
    quality: QualityComparison | None = None  # when the corpus holds eval envelopes


def parse_at(specs: Sequence[str]) -> dict[str, str]:
    """`--at concurrency=16` (repeatable; keys: concurrency, suite)."""
    out: dict[str, str] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or key not in ("concurrency", "suite") or not value:
            raise ConfigError(f"--at {spec!r}: expected concurrency=N or suite=NAME")
        if key == "concurrency" and not value.isdigit():
            raise ConfigError(f"--at {spec!r}: concurrency must be an integer")
        out[key] = value
    return out


def _selected(runs: list[LoadedRun], at: dict[str, str]) -> list[LoadedRun]:
    out = []
    for r in runs:
        params = r.predicate.parameters
        if "concurrency" in at and params.load.concurrency != int(at["concurrency"]):
            continue
        if "suite" in at and params.suite.name != at["suite"]:
            continue
        out.append(r)
    return out


def _check_comparable(runs: list[LoadedRun], by: str, force: bool) -> list[str]:
    """Runs of one suite must agree on every comparability part except the axis compared."""
    problems = []
    by_suite: dict[str, list[LoadedRun]] = defaultdict(list)
    for r in runs:
        by_suite[r.predicate.parameters.suite.name].append(r)
    for suite, members in sorted(by_suite.items()):
        differing = []
        for part in _PARTS:
            if part in _MAY_DIFFER[by]:
                continue
            values = sorted({str(getattr(r.predicate.comparability, part)) for r in members})
            if len(values) > 1:
                shown = ", ".join(v[:16] for v in values)
                differing.append(f"{part} ({shown})")
        if differing:
            problems.append(f"{suite}: runs differ in " + "; ".join(differing))
    if problems and not force:
        raise ConfigError(
            "runs are not comparable: "
            + " | ".join(problems)
            + f"; compare like with like, or pass --force to compare by {by} anyway"
        )
    return problems


def verdict(metric: CompareMetric, d: RelativeDifference, a: str, b: str) -> str:
    """B against the baseline A; percentages are always of A's value."""
    if d.ci_low is None or d.ci_high is None:
        return f"{b} {d.relative * 100:+.1f}% vs {a} (single observation, no CI)"
    if not d.significant:
        return (
            f"within noise ({d.relative * 100:+.1f}%, CI {d.ci_low * 100:+.1f}% to "
            f"{d.ci_high * 100:+.1f}%)"
        )
    b_better = (d.relative > 0) == (metric.direction == "max")
    word = metric.better if b_better else worse_word(metric)
    low, high = sorted((abs(d.ci_low) * 100, abs(d.ci_high) * 100))
    return f"{b} {word} by {abs(d.relative) * 100:.1f}% (CI {low:.1f}–{high:.1f}%)"


def _difference(
    metric: CompareMetric, runs_a: list[LoadedRun], runs_b: list[LoadedRun]
) -> RelativeDifference | None:
    if metric.per_request is not None:
        fn = metric.per_request

        def samples(runs: list[LoadedRun]) -> list[float]:
            out = []
            for run in runs:
                for rec in run.records():
                    if not rec.measured or not rec.ok:
                        continue
                    v = fn(rec)
                    if v is not None:
                        out.append(v)
            return out

        a, b = samples(runs_a), samples(runs_b)
        q = metric.q
    else:
        a = [v for r in runs_a if (v := metric.figure(r.predicate.metrics)) is not None]
        b = [v for r in runs_b if (v := metric.figure(r.predicate.metrics)) is not None]
        q = None  # the mean over repeated runs
    if not a or not b:
        return None
    try:
        return bootstrap_relative_difference(a, b, q=q)
    except ValueError:
        return None


def compare(
    corpus: Corpus,
    by: str = "model",
    at: dict[str, str] | None = None,
    pareto: Sequence[str] = DEFAULT_PARETO,
    force: bool = False,
    pricing: SelfHostPricing | None = None,
) -> Comparison:
    """`pricing` (a GPU-hour price) adds self-hosted $/Mtok: a Pareto axis (`usd_mtok`) for
    runs, and the cost axis of the quality frontier."""
    if by not in BY:
        raise ConfigError(f"--by {by!r}: choose one of {', '.join(BY)}")
    pareto_metrics = [resolve_metric(name, pricing) for name in pareto]
    if not 2 <= len(pareto_metrics) <= 3:
        raise ConfigError("--pareto takes two or three metrics, e.g. throughput,ttft")
    runs = _selected(corpus.runs, at or {})
    if not runs and not corpus.evals:
        raise ConfigError("no run matches the selection; check the paths and --at")
    result = Comparison(by, pareto_metrics)
    if corpus.evals:
        result.quality = compare_quality(
            corpus,
            {str(e.path): run_label(e, by) for e in corpus.evals},
            {str(r.path): run_label(r, by) for r in runs},
            pricing,
        )
    result.forced_mismatches = _check_comparable(runs, by, force)

    by_suite: dict[str, list[LoadedRun]] = defaultdict(list)
    for r in runs:
        by_suite[r.predicate.parameters.suite.name].append(r)
    for _suite, members in sorted(by_suite.items()):
        points = [[m.figure(r.predicate.metrics) for m in pareto_metrics] for r in members]
        flags = pareto_front(points, [m.direction for m in pareto_metrics])
        result.rows += [
            RunRow(r, run_label(r, by), flag) for r, flag in zip(members, flags, strict=True)
        ]
    result.rows.sort(
        key=lambda row: (
            row.run.predicate.parameters.suite.name,
            row.run.predicate.parameters.load.concurrency,
            row.label,
        )
    )

    groups: dict[tuple[str, float, int], dict[str, list[LoadedRun]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in result.rows:
        load = row.run.predicate.parameters.load
        key = (row.run.predicate.parameters.suite.name, load.rate_rps or 0.0, load.concurrency)
        groups[key][row.label].append(row.run)
    for (suite, rate, concurrency), by_label in sorted(groups.items()):
        labels = sorted(by_label)
        base = labels[0]
        for other in labels[1:]:
            diffs = []
            for name in PAIR_METRICS:
                metric = get_metric(name)
                d = _difference(metric, by_label[base], by_label[other])
                if d is not None:
                    diffs.append(MetricDifference(metric, d, verdict(metric, d, base, other)))
            result.pairs.append(
                Pair(
                    suite,
                    concurrency,
                    rate or None,
                    base,
                    other,
                    len(by_label[base]),
                    len(by_label[other]),
                    diffs,
                )
            )
    return result


__all__ = [
    "BY",
    "DEFAULT_PARETO",
    "Comparison",
    "Pair",
    "RunRow",
    "all_metrics",
    "compare",
    "load_label",
]
