"""Comparing runs: which are comparable, which are on the Pareto frontier, and for each pair of
labels at the same workload point, how each metric differs, judged with the run as the unit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tokenbench.compare.metrics_registry import (
    CompareMetric,
    all_metrics,
    get_metric,
    resolve_metric,
    worse_word,
)
from tokenbench.compare.pareto import pareto_front
from tokenbench.compare.quality import Axis as QualityAxis
from tokenbench.compare.quality import QualityComparison, compare_quality
from tokenbench.corpus.loader import Corpus, LoadedEval, LoadedRun
from tokenbench.corpus.matching import (
    WORKLOAD_PARTS,
    setup_key,
    workload_key,
    workload_parts,
)
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.schema import EvalPredicate, RunPredicate, load_label
from tokenbench.errors import ConfigError
from tokenbench.metrics.inference import (
    DEFAULT_ALPHA,
    METHOD,
    MIN_RUNS,
    RunLevelDifference,
    holm,
    run_level_difference,
)
from tokenbench.pricing.selfhost import SelfHostPricing

BY = ("model", "engine", "quant", "hardware", "cache", "workload", "load")
# Comparability parts that may differ when comparing along each axis.
_MAY_DIFFER = {
    "model": frozenset[str](),
    "quant": frozenset[str](),
    "engine": frozenset({"engine"}),
    "hardware": frozenset({"hardware_fingerprint"}),
    "cache": frozenset[str](),  # the same suite, engine and host; the prefix cache on or off
    "workload": frozenset[str](),  # the same setup sent different work (thinking on or off)
    "load": frozenset[str](),  # the same setup at several concurrencies or rates
}
# The axes a load level is made of: --by load pairs across them.
_LOAD_AXES = frozenset({"mode", "concurrency", "rate", "arrival"})
# Axes that compare one setup with itself: a model's runs are never pooled with another's
# (the comparability key does not hold the model), so the setup is part of the point.
PER_SETUP = frozenset({"cache", "workload", "load"})
_PARTS = ("hardware_fingerprint", "engine", "suite_digest", "schema_version")
DEFAULT_PARETO = ("throughput", "ttft")
PAIR_METRICS = ("throughput", "ttft", "ttft_p99", "tpot", "e2e")
# --unit: the metric "throughput" stands for, in the frontier and the pairs' verdicts. Tokens
# differ between tokenizers; bytes and words of the generated text do not.
UNITS = {"tokens": "throughput", "bytes": "bytes", "words": "words"}
# A percentile above p90 from fewer requests than this sits on the run's few slowest ones.
MIN_REQUESTS_FOR_TAIL = 100


@dataclass(frozen=True, slots=True)
class Axis:
    """One workload axis: runs are paired only when they agree on every axis."""

    name: str  # the --at key
    value: Callable[[RunPredicate], str | float | int | None]
    numeric: bool


POINT_AXES = (
    Axis("suite", lambda p: p.parameters.suite.name, False),
    Axis("mode", lambda p: p.parameters.load.mode, False),
    Axis("concurrency", lambda p: p.parameters.load.concurrency, True),
    Axis("rate", lambda p: p.parameters.load.rate_rps, True),
    Axis("arrival", lambda p: p.parameters.load.arrival, False),
    Axis("input_tokens", lambda p: p.parameters.workload.input_tokens_target, True),
    Axis("output_tokens", lambda p: p.parameters.suite.max_tokens, True),
    Axis("prompts", lambda p: p.parameters.workload.kind, False),
    # the prefix cache allowed or defeated: never mixed, except when it is what is compared
    Axis("cache", lambda p: "defeated" if p.parameters.suite.prefix_cache_disabled
         else "allowed", False),
    # the extra body, length distributions, trace and prompts file (thinking on vs off, two
    # traces): a short digest, "plain" when none was set (older envelopes: all plain)
    Axis("workload", workload_key, False),
)  # fmt: skip
_AXES = {a.name: a for a in POINT_AXES}

PointKey = tuple[str | float | int | None, ...]


def _point_axes(by: str | None) -> list[Axis]:
    """The workload axes a point is made of when comparing by `by`."""
    if by != "load":
        return [axis for axis in POINT_AXES if axis.name != by]
    return [axis for axis in POINT_AXES if axis.name not in _LOAD_AXES]


def point_key(p: RunPredicate, by: str | None = None, without: str | None = None) -> PointKey:
    """Where a run sits among the workload axes (less the axis compared, when it is one, and
    the axis `without`)."""
    values = tuple(axis.value(p) for axis in _point_axes(by) if axis.name != without)
    return (*setup_key(p), *values) if by in PER_SETUP else values


def point_label(p: RunPredicate, with_input: bool, with_workload: bool = False,
                with_setup: bool = False) -> str:  # fmt: skip
    """The point as a reader names it: its load, plus its input length where points differ in
    it (a context sweep), its workload key where points differ in that, and the setup first
    where one suite's pairs compare several setups each with itself (--by cache, workload)."""
    label = p.parameters.load.label
    n = p.parameters.workload.input_tokens_target
    if with_input and n is not None:
        label += f", {n:,} input tokens"
    if with_workload:
        label += f", workload {_AXES['workload'].value(p)}"
    return f"{setup_label(p)}: {label}" if with_setup else label


def run_label(run: LoadedRun | LoadedEval, by: str) -> str:
    p = run.predicate
    if by == "model":
        return p.target.model.model_id
    if by == "engine":
        return p.target.engine.label
    if by == "quant":
        return p.target.model.quant or "unknown"
    if by in ("cache", "workload"):
        if isinstance(p, RunPredicate):
            return f"{by} {_AXES[by].value(p)}"
        return "eval"  # an eval's settings digest keeps its own extra body apart
    if by == "load":
        return _level(p)[1]
    return f"{p.hardware.label} [{p.hardware.fingerprint[:8]}]"


def _level(p: RunPredicate | EvalPredicate) -> tuple[tuple[int, float], str]:
    """A run's or an eval's load level: its sort key (closed loop first, then by size) and
    its label ("concurrency 4", "2 req/s")."""
    if isinstance(p, RunPredicate):
        load = p.parameters.load
        concurrency, rate = load.concurrency, load.rate_rps
    else:
        concurrency, rate = p.parameters.concurrency, p.parameters.rate_rps
    if rate is not None:
        return (1, rate), f"{rate:g} req/s"
    return (0, float(concurrency)), f"concurrency {concurrency}"


def label_order(by: str, members: Sequence[LoadedRun | LoadedEval]) -> Callable[[str], Any]:
    """How labels sort, the first being the baseline: load levels from the lowest, every other
    axis alphabetically."""
    if by != "load":
        return str
    keys = {run_label(m, by): _level(m.predicate)[0] for m in members}
    return lambda label: keys.get(label, (2, 0.0))


def quality_axis(corpus: Corpus, by: str) -> QualityAxis:
    """How `compare_quality` labels, groups and orders the evals along `by`."""
    if by != "load":
        return QualityAxis({str(e.path): run_label(e, by) for e in corpus.evals},
                           order=label_order(by, corpus.evals))  # fmt: skip
    return QualityAxis(
        {str(e.path): run_label(e, by) for e in corpus.evals},
        {str(e.path): setup_label(e.predicate) for e in corpus.evals},
        label_order(by, corpus.evals),
        {str(e.path): _level(e.predicate)[0][1] for e in corpus.evals},
    )


def quality_by_load(corpus: Corpus, pricing: SelfHostPricing | None) -> QualityComparison | None:
    """Accuracy against load for every setup with evals at two or more levels (the report draws
    it whatever the --by), or None when there is none."""
    if not corpus.evals:
        return None
    runs = {str(r.path): run_label(r, "load") for r in corpus.runs}
    q = compare_quality(corpus, quality_axis(corpus, "load"), runs, pricing)
    levels: dict[tuple[str, str | None], int] = defaultdict(int)
    for row in q.rows:
        levels[row.task, row.setting] += 1
    rows = [r for r in q.rows if levels[r.task, r.setting] > 1]
    if not rows:
        return None
    pairs = [p for p in q.pairs if levels[p.task, p.setting] > 1]
    return q.model_copy(update={"rows": rows, "pairs": pairs})


def setup_label(p: RunPredicate | EvalPredicate) -> str:
    """A setup (setup_key) as a reader names it: the hardware by its label and the start of
    its fingerprint, so two machines of one label stay apart."""
    return (f"{p.target.model.model_id}, {p.target.engine.label}, "
            f"{p.target.model.quant or 'quant unknown'}, "
            f"{p.hardware.label} [{p.hardware.fingerprint[:8]}]")  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunRow:
    run: LoadedRun
    label: str
    pareto: bool


@dataclass(frozen=True, slots=True)
class MetricDifference:
    metric: CompareMetric
    difference: RunLevelDifference
    verdict: str
    warnings: tuple[str, ...] = ()
    # the client's error budget (p99 ms, the larger of --selftest and --canary) of each side
    budget_a_ms: float | None = None
    budget_b_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Pair:
    suite: str
    point: str  # point_label of the runs
    concurrency: int
    rate_rps: float | None
    input_tokens: int | None
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
    # labels of one suite left unpaired, and the workload axis that kept them apart
    notes: list[str] = field(default_factory=list)
    unit: str = "tokens"  # the unit throughput is compared in (--unit)
    quality: QualityComparison | None = None  # when the corpus holds eval envelopes
    alpha: float = DEFAULT_ALPHA
    method: str = METHOD
    family: int = 0  # tests in the Holm family (every tested metric of every pair)


def parse_at(specs: Sequence[str]) -> dict[str, str]:
    """`--at concurrency=16` (repeatable; keys: the workload axes)."""
    out: dict[str, str] = {}
    keys = ", ".join(_AXES)
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or key not in _AXES or not value:
            raise ConfigError(f"--at {spec!r}: expected KEY=VALUE with KEY one of {keys}")
        if _AXES[key].numeric:
            try:
                float(value)
            except ValueError:
                raise ConfigError(f"--at {spec!r}: {key} must be a number") from None
        out[key] = value
    return out


def _matches(p: RunPredicate, at: dict[str, str]) -> bool:
    for key, wanted in at.items():
        axis = _AXES[key]
        value = axis.value(p)
        if axis.numeric:
            if value is None or float(value) != float(wanted):
                return False
        elif str(value) != wanted:
            return False
    return True


_DIGESTS = ("hardware_fingerprint", "suite_digest")


def _shown(part: str, value: str) -> str:
    """A digest shortened to 16 hex digits (enough to tell two apart); a name, such as the
    engine and its version, in full: "llama.cpp 11434." hides the very difference."""
    return value[:16] if part in _DIGESTS else value


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
                shown = ", ".join(_shown(part, v) for v in values)
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


# Which parts of the client's error budget bound a metric's resolution (compare never calls a
# smaller difference significant): TTFT error for TTFT metrics, ITL error for TPOT and ITL, and
# for E2E the larger of the two (its end is a chunk's stamp, its start the send's).
BUDGET_PART: dict[str, tuple[Literal["ttft", "itl"], ...]] = {
    "ttft": ("ttft",), "ttft_p99": ("ttft",), "ttfat": ("ttft",), "tpot": ("itl",),
    "itl": ("itl",), "e2e": ("ttft", "itl"),
}  # fmt: skip


def error_budget_ms(metric: str, runs: Sequence[LoadedRun]) -> float | None:
    """The largest p99 error budget (--selftest or --canary) of these runs for `metric`, in ms;
    None when the metric has no budget or no run measured one."""
    values = [
        v
        for part in BUDGET_PART.get(metric, ())
        for r in runs
        for budget in (r.predicate.error_budget, r.predicate.canary)
        if budget is not None and (v := getattr(budget, f"{part}_error_ms_p99")) is not None
    ]
    return max(values, default=None)


def verdict(metric: CompareMetric, d: RunLevelDifference, a: str, b: str) -> str:
    """B against the baseline A; percentages are always of A's value."""
    change = f"{d.relative * 100:+.1f}%"
    if not d.tested:
        advice = f"; use --repeat {max(MIN_RUNS, 3)}" if d.too_few_runs else ""
        return f"{d.why_no_test or 'not tested'}: {change}, no verdict{advice}"
    assert d.ci_low is not None
    assert d.ci_high is not None
    ci = f"CI {d.ci_low * 100:+.1f}% to {d.ci_high * 100:+.1f}%"
    p = f"p={d.p_value:.2g}, Holm {d.p_adjusted if d.p_adjusted is not None else d.p_value:.2g}"
    if d.p_significant and d.within_error_budget:
        assert d.error_budget_ms is not None
        return (f"no verdict: within the client's measured error budget (|difference| "
                f"{abs(d.b - d.a):.2f} ms < {d.error_budget_ms:.2f} ms at p99; {change}, {ci}, "
                f"{p})")  # fmt: skip
    if not d.significant:
        return f"no verdict: within run-to-run noise ({change}, {ci}, {p})"
    b_better = (d.relative > 0) == (metric.direction == "max")
    word = metric.better if b_better else worse_word(metric)
    return f"{b} {word} by {abs(d.relative) * 100:.1f}% ({ci}, {p})"


def _tail_warning(metric: CompareMetric, runs: list[LoadedRun]) -> tuple[str, ...]:
    if metric.percentile is None or metric.percentile <= 90:
        return ()
    fewest = min(r.predicate.metrics.requests_ok for r in runs)
    if fewest >= MIN_REQUESTS_FOR_TAIL:
        return ()
    return (
        f"p{metric.percentile:g} from {fewest} requests in a run (under "
        f"{MIN_REQUESTS_FOR_TAIL}): it is close to that run's maximum",
    )


def _difference(
    metric: CompareMetric, runs_a: list[LoadedRun], runs_b: list[LoadedRun], alpha: float
) -> RunLevelDifference | None:
    """One value per run and side; None when a side has no usable value."""
    a = [v for r in runs_a if (v := metric.value(r.predicate)) is not None]
    b = [v for r in runs_b if (v := metric.value(r.predicate)) is not None]
    if not a or not b:
        return None
    try:
        return run_level_difference(a, b, alpha)
    except ValueError:
        return None


def _rows(runs: list[LoadedRun], by: str, pareto_metrics: list[CompareMetric]) -> list[RunRow]:
    """Every run with its label; the frontier is drawn among the valid runs of each suite."""
    rows: list[RunRow] = []
    by_suite: dict[str, list[LoadedRun]] = defaultdict(list)
    for r in runs:
        by_suite[r.predicate.parameters.suite.name].append(r)
    for _suite, members in sorted(by_suite.items()):
        valid = [r for r in members if r.predicate.validity.valid]
        points = [[m.value(r.predicate) for m in pareto_metrics] for r in valid]
        flags = pareto_front(points, [m.direction for m in pareto_metrics])
        on_front = {id(r) for r, flag in zip(valid, flags, strict=True) if flag}
        rows += [RunRow(r, run_label(r, by), id(r) in on_front) for r in members]
    rows.sort(key=lambda row: (point_key_sortable(row.run.predicate), row.label))
    return rows


def point_key_sortable(p: RunPredicate) -> tuple[tuple[int, str | float], ...]:
    """point_key with None sorting first, so mixed None/number axes order cleanly."""
    return tuple((0, "") if v is None else (1, v) for v in point_key(p))


def _pairs(rows: list[RunRow], alpha: float, by: str, unit: str = "tokens") -> list[Pair]:
    groups: dict[PointKey, dict[str, list[LoadedRun]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        groups[point_key(row.run.predicate, by)][row.label].append(row.run)
    lengths: dict[str, set[int | None]] = defaultdict(set)
    workloads: dict[str, set[object]] = defaultdict(set)
    setups: dict[str, set[object]] = defaultdict(set)
    for row in rows:
        p = row.run.predicate
        lengths[p.parameters.suite.name].add(p.parameters.workload.input_tokens_target)
        workloads[p.parameters.suite.name].add(_AXES["workload"].value(p))
        setups[p.parameters.suite.name].add(setup_key(p))
    pairs = []
    order = label_order(by, [row.run for row in rows])
    for by_label in groups.values():
        labels = sorted(by_label, key=order)
        base = labels[0]
        first = by_label[base][0].predicate
        load = first.parameters.load
        for other in labels[1:]:
            diffs = []
            for name in _in_unit(PAIR_METRICS, unit):
                metric = get_metric(name)
                d = _difference(metric, by_label[base], by_label[other], alpha)
                if d is not None:
                    both = by_label[base] + by_label[other]
                    d = replace(d, error_budget_ms=error_budget_ms(name, both))
                    warn = _tail_warning(metric, by_label[base] + by_label[other])
                    budgets = (error_budget_ms(name, by_label[base]),
                               error_budget_ms(name, by_label[other]))  # fmt: skip
                    diffs.append(MetricDifference(metric, d, "", warn, *budgets))
            suite = first.parameters.suite.name
            pairs.append(
                Pair(suite,
                     point_label(first, len(lengths[suite]) > 1,
                                 by != "workload" and len(workloads[suite]) > 1,
                                 by in PER_SETUP and len(setups[suite]) > 1),
                     load.concurrency,
                     load.rate_rps, first.parameters.workload.input_tokens_target, base, other,
                     len(by_label[base]), len(by_label[other]), diffs)
            )  # fmt: skip
    return pairs


def _unpaired(rows: list[RunRow], by: str, pairs: list[Pair]) -> list[str]:
    """Why labels of a suite made no pair, one line each: two labels whose runs agree on every
    workload axis but one, and never on that one (thinking on against off: the workload key),
    with each side's values and what to do; a suite's other labels that made no pair share no
    point with another label's at all. Pairing never crosses an axis, --force or not."""
    order = label_order(by, [row.run for row in rows])
    # (suite, axis, label, label): the runs of each side kept apart by that axis alone
    apart: dict[tuple[str, str, str, str], tuple[list[RunPredicate], list[RunPredicate]]] = {}
    for axis in _point_axes(by):
        groups: dict[tuple[str, PointKey], dict[str, list[RunPredicate]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for row in rows:
            p = row.run.predicate
            suite = "" if axis.name == "suite" else p.parameters.suite.name
            groups[suite, point_key(p, by, without=axis.name)][row.label].append(p)
        for (suite, _), by_label in groups.items():
            values = {label: {axis.value(p) for p in ps} for label, ps in by_label.items()}
            labels = sorted(by_label, key=order)
            for i, x in enumerate(labels):
                for y in labels[i + 1 :]:
                    if values[x].isdisjoint(values[y]):
                        sides = apart.setdefault((suite, axis.name, x, y), ([], []))
                        sides[0].extend(by_label[x])
                        sides[1].extend(by_label[y])
    notes = [_apart_note(*key, *sides) for key, sides in sorted(apart.items())]
    explained = {(suite, label) for suite, _, x, y in apart for label in (x, y)}
    explained |= {(pair.suite, label) for pair in pairs for label in (pair.a, pair.b)}
    by_suite: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        by_suite[row.run.predicate.parameters.suite.name].add(row.label)
    for suite, members in sorted(by_suite.items()):
        alone = [label for label in sorted(members, key=order)
                 if (suite, label) not in explained and ("", label) not in explained]  # fmt: skip
        if len(members) > 1 and alone:
            shared = ("setup (model, engine, quant, hardware) and workload point" if by == "load"
                      else "workload point (they differ in two axes or more)")  # fmt: skip
            notes.append(f"{suite}: runs of {', '.join(alone)} share no {shared} with "
                         f"another {by}'s: not paired; `bench summary PATH` lists each run's "
                         "point")  # fmt: skip
    return notes


def _apart_note(suite: str, name: str, x: str, y: str, runs_x: list[RunPredicate],
                runs_y: list[RunPredicate]) -> str:  # fmt: skip
    """The line for labels x and y kept apart by the workload axis `name` alone."""
    axis = _AXES[name]
    values = " vs ".join(_values({axis.value(p) for p in side}) for side in (runs_x, runs_y))
    where = f"{suite}: " if suite else ""
    if name == "workload":
        differ = _differing_parts([*runs_x, *runs_y])
        return (f"{where}runs of {x} and {y} sent different work (workload {values}, differing "
                f"in the {differ}): not paired; measure both with the same {differ}")  # fmt: skip
    if name == "suite":
        return f"runs of {x} and {y} ran different suites ({values}): not paired"
    return (f"{where}runs of {x} and {y} differ in {name} alone ({values}): not paired; "
            f"measure both at the same {name}")  # fmt: skip


def _values(values: set[str | float | int | None]) -> str:
    shown = sorted("none" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
                   for v in values)  # fmt: skip
    return ", ".join(shown)


def _differing_parts(runs: list[RunPredicate]) -> str:
    """The parts of the workload key that differ among these runs, as a reader names them."""
    parts = [workload_parts(p) for p in runs]
    differ = [name for part, name in WORKLOAD_PARTS.items()
              if len({canonical({"v": ps.get(part)}) for ps in parts}) > 1]  # fmt: skip
    return " and ".join(differ) or "work sent"  # (two keys always differ in a part)


def _in_unit(names: Sequence[str], unit: str) -> list[str]:
    """The metric names with "throughput" in the --unit chosen."""
    if unit not in UNITS:
        raise ConfigError(f"--unit {unit!r}: choose one of {', '.join(UNITS)}")
    return [UNITS[unit] if name == "throughput" else name for name in names]


def _judge(pairs: list[Pair]) -> int:
    """Holm over every tested difference of this output, then the verdicts; returns the family
    size."""
    flat = [d.difference for pair in pairs for d in pair.metrics]
    adjusted = iter(holm(flat))
    for pair in pairs:
        for i, d in enumerate(pair.metrics):
            adj = next(adjusted)
            pair.metrics[i] = MetricDifference(
                d.metric, adj, verdict(d.metric, adj, pair.a, pair.b), d.warnings
            )
    return sum(1 for d in flat if d.tested)


def compare(
    corpus: Corpus,
    by: str = "model",
    at: dict[str, str] | None = None,
    pareto: Sequence[str] = DEFAULT_PARETO,
    force: bool = False,
    pricing: SelfHostPricing | None = None,
    alpha: float = DEFAULT_ALPHA,
    unit: str = "tokens",
) -> Comparison:
    """`pricing` (a GPU-hour price) adds self-hosted $/Mtok: a Pareto axis (`usd_mtok`) for
    runs, and the cost axis of the quality frontier. `alpha`: the family-wise error rate.
    `unit` (tokens, bytes, words): what "throughput" counts, in the frontier and the pairs."""
    if by not in BY:
        raise ConfigError(f"--by {by!r}: choose one of {', '.join(BY)}")
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha {alpha:g}: choose a level between 0 and 1, e.g. 0.05")
    pareto_metrics = [resolve_metric(name, pricing) for name in _in_unit(pareto, unit)]
    if not 2 <= len(pareto_metrics) <= 3:
        raise ConfigError("--pareto takes two or three metrics, e.g. throughput,ttft")
    if not corpus.loaded:
        raise ConfigError(f"nothing to compare: {corpus.nothing_loaded()}")
    runs = [r for r in corpus.runs if _matches(r.predicate, at or {})]
    if not runs and not corpus.evals:
        shown = " ".join(f"{k}={v}" for k, v in (at or {}).items())
        raise ConfigError(f"no run matches --at {shown} among the {len(corpus.runs)} loaded; "
                          "`bench summary PATH` lists their points")  # fmt: skip
    result = Comparison(by, pareto_metrics, alpha=alpha, unit=unit)
    if corpus.evals:
        result.quality = compare_quality(corpus, quality_axis(corpus, by),
                                         {str(r.path): run_label(r, by) for r in corpus.runs},
                                         pricing)  # fmt: skip
    result.forced_mismatches = _check_comparable(runs, by, force)
    result.rows = _rows(runs, by, pareto_metrics)
    result.pairs = _pairs(result.rows, alpha, by, unit)
    result.notes = _unpaired(result.rows, by, result.pairs)
    result.family = _judge(result.pairs)
    return result


__all__ = [
    "BY",
    "DEFAULT_PARETO",
    "POINT_AXES",
    "UNITS",
    "Comparison",
    "Pair",
    "RunRow",
    "all_metrics",
    "compare",
    "load_label",
]
