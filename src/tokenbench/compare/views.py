"""The comparison view: what `bench compare` renders in every format. Its JSON is this model's
dump; the fields marked `exclude` carry what tables and the HTML report need besides."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tokenbench.compare.comparison import Comparison, MetricDifference, Pair, RunRow
from tokenbench.compare.metrics_registry import CompareMetric, all_metrics, get_metric
from tokenbench.compare.quality import QualityComparison
from tokenbench.corpus.matching import workload_key

_FROZEN = ConfigDict(frozen=True, extra="forbid")
# The standard table columns, then any Pareto metric that is not one of them (e.g. usd_mtok).
_COLUMNS = ("throughput", "ttft", "ttft_p99", "tpot", "jtok")
# Tokenizer-fair throughput: a column once any run has it (runs recorded before the text was
# counted have neither)
_TEXT_COLUMNS = ("bytes", "words")
_DIGITS = {"jtok": 3, "usd_mtok": 4, "bytes": 0}


class Column(BaseModel):
    """A metric column of the runs table: header, JSON key, and digits shown."""

    model_config = _FROZEN

    name: str
    label: str
    json_key: str
    digits: int


class RunView(BaseModel):
    model_config = _FROZEN

    suite: str
    model_id: str
    engine: str
    quant: str | None
    hardware: str
    concurrency: int
    rate_rps: float | None
    input_length: int | None = None  # a context-sweep point
    workload: str = "plain"  # the workload key (corpus.matching.workload_key), or plain
    label: str
    run_id: str
    signed: bool
    status: str
    valid: bool
    invalid_reasons: list[str]
    warnings: list[str] = []  # validity warnings: valid, but read with care (a shared host)
    metrics: dict[str, float | None]  # by json_key
    pareto: bool
    tokens_per_word: float | None = None  # the model's tokenizer on this run's output


class MetricDifferenceView(BaseModel):
    model_config = _FROZEN

    metric: str
    label: str = Field(exclude=True)  # the table's row header
    a: float
    b: float
    relative: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    n_a: int
    n_b: int
    tested: bool
    significant: bool
    verdict: str
    warnings: list[str]
    # the client's timing error (p99 ms, --selftest/--canary) of each side; a difference under
    # the larger is never significant (within_error_budget)
    error_budget_a_ms: float | None = None
    error_budget_b_ms: float | None = None
    within_error_budget: bool = False


class PairView(BaseModel):
    model_config = _FROZEN

    suite: str
    point: str
    concurrency: int
    rate_rps: float | None
    input_tokens: int | None
    a: str
    b: str
    runs_a: int
    runs_b: int
    metrics: list[MetricDifferenceView]


class ComparisonView(BaseModel):
    """`runs` holds only the rows shown (with --pareto, the frontier)."""

    # `source` is the computed Comparison: the HTML report charts each run's raw records,
    # which no text format carries, so it travels beside the view instead of in it.
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    by: str
    method: str
    alpha: float
    family: int
    unit: str = "tokens"  # --unit: what throughput counts in the frontier and the pairs
    pareto_metrics: list[str]
    runs: list[RunView]
    pairs: list[PairView]
    forced_mismatches: list[str]
    # labels of a suite that made no pair, and why (the workload axis that kept them apart)
    notes: list[str] = []
    quality: QualityComparison | None
    columns: list[Column] = Field(exclude=True)
    source: Comparison = Field(exclude=True, repr=False)
    loaded: int = Field(exclude=True)  # envelopes loaded and skipped, for the HTML report
    skipped: int = Field(exclude=True)


def comparison_view(
    comparison: Comparison, frontier_only: bool = False, loaded: int = 0, skipped: int = 0
) -> ComparisonView:
    registered = {m.name for m in all_metrics()}
    extra = [m for m in comparison.pareto_metrics if m.name not in registered]
    names = list(_COLUMNS)
    names[1:1] = [c for c in _TEXT_COLUMNS if _any_value(comparison, c)]
    cols = [get_metric(c) for c in names]
    cols += [m for m in comparison.pareto_metrics if m.name not in names]
    return ComparisonView(
        by=comparison.by,
        method=comparison.method,
        alpha=comparison.alpha,
        family=comparison.family,
        unit=comparison.unit,
        pareto_metrics=[m.name for m in comparison.pareto_metrics],
        runs=[_run(r, extra) for r in comparison.rows if r.pareto or not frontier_only],
        pairs=[_pair(p) for p in comparison.pairs],
        forced_mismatches=comparison.forced_mismatches,
        notes=comparison.notes,
        quality=comparison.quality,
        columns=[_column(m) for m in cols],
        source=comparison,
        loaded=loaded,
        skipped=skipped,
    )


def _any_value(comparison: Comparison, name: str) -> bool:
    metric = get_metric(name)
    return any(metric.value(r.run.predicate) is not None for r in comparison.rows)


def _column(m: CompareMetric) -> Column:
    return Column(name=m.name, label=m.label, json_key=m.json_key, digits=_DIGITS.get(m.name, 1))


def _run(row: RunRow, extra: list[CompareMetric]) -> RunView:
    p = row.run.predicate
    return RunView(
        suite=p.parameters.suite.name,
        model_id=p.target.model.model_id,
        engine=p.target.engine.label,
        quant=p.target.model.quant,
        hardware=p.hardware.label,
        concurrency=p.parameters.load.concurrency,
        rate_rps=p.parameters.load.rate_rps,
        input_length=p.parameters.load.input_length,
        workload=workload_key(p),
        label=row.label,
        run_id=p.run_id,
        signed=row.run.signer is not None,
        status=p.status,
        valid=p.validity.valid,
        invalid_reasons=p.validity.reasons,
        warnings=p.validity.warnings,
        metrics={m.json_key: m.value(p) for m in [*all_metrics(), *extra]},
        pareto=row.pareto,
        tokens_per_word=p.metrics.tokens_per_word,
    )


def _difference(d: MetricDifference) -> MetricDifferenceView:
    x = d.difference
    return MetricDifferenceView(
        metric=d.metric.name, label=d.metric.label, a=x.a, b=x.b, relative=x.relative,
        ci_low=x.ci_low, ci_high=x.ci_high, p_value=x.p_value, p_adjusted=x.p_adjusted,
        n_a=x.n_a, n_b=x.n_b, tested=x.tested, significant=x.significant, verdict=d.verdict,
        warnings=list(d.warnings), error_budget_a_ms=d.budget_a_ms,
        error_budget_b_ms=d.budget_b_ms, within_error_budget=x.within_error_budget,
    )  # fmt: skip


def _pair(pair: Pair) -> PairView:
    return PairView(
        suite=pair.suite, point=pair.point, concurrency=pair.concurrency,
        rate_rps=pair.rate_rps, input_tokens=pair.input_tokens, a=pair.a, b=pair.b,
        runs_a=pair.runs_a, runs_b=pair.runs_b,
        metrics=[_difference(d) for d in pair.metrics],
    )  # fmt: skip
