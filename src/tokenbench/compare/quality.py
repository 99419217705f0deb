"""Quality beside speed: per task, each model's accuracy with its interval, its speed from a run
envelope of the same setup (model, engine, quant, hardware), paired differences with McNemar
tests on the items both models answered, and the Pareto frontier of accuracy against throughput.

An item whose request failed (timeout, connection, HTTP error) says nothing about the model:
pairs leave it out on both sides and count it apart. Invalid evals stay off the frontier."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from tokenbench.compare.pareto import pareto_front
from tokenbench.corpus.loader import Corpus, LoadedEval
from tokenbench.corpus.matching import Speed, speed_of
from tokenbench.metrics.quality import Accuracy, PairedDifference, paired_difference
from tokenbench.pricing.api import ApiRate
from tokenbench.pricing.outcomes import OutcomeCost, outcome_cost, speed_usd_per_mtok
from tokenbench.pricing.selfhost import SelfHostPricing

SIGNIFICANCE = 0.05


class QualityRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str
    setting: str | None = None  # --by load: the model and setup whose levels are compared
    label: str  # the model (or the --by axis)
    level: float | None = None  # --by load: the concurrency or rate, as a number
    variant: str  # the primary variant
    accuracy: Accuracy
    parse_failure_rate: float | None
    output_tokens_mean: float | None  # verbosity
    throughput_tok_per_s: float | None  # best valid run of the eval's own setup
    throughput_at: str | None  # which run: "concurrency 16", "4 req/s", or the eval's own
    throughput_reason: str | None = None  # why there is no throughput (or no $/Mtok)
    # self-hosted $/M output tokens at that throughput
    usd_per_mtok: float | None = Field(serialization_alias="self_host_usd_per_mtok_output")
    pareto: bool  # on the accuracy × throughput frontier of its task (valid evals only)
    valid: bool = True  # the eval's validity: an invalid one is never on the frontier
    eval_path: str
    outcome: OutcomeCost | None = None  # $, J and seconds per correct answer


class QualityPair(BaseModel):
    """Dumped flat: the difference's fields beside the pair's own (the `--report json` shape)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str
    a: str
    b: str
    verdict: str
    # shared items left out: A's request failed (not a wrong answer)
    failed_a: int = Field(default=0, serialization_alias="failed_requests_a")
    # … B's request failed (an item failed on both counts on both sides)
    failed_b: int = Field(default=0, serialization_alias="failed_requests_b")
    setting: str | None = None  # --by load: the model and setup whose levels are compared
    # items whose greedy answer text differs between A and B, scored alike or not
    diverged: int | None = None
    divergence: float | None = None  # diverged / items both answered
    divergence_reason: str | None = None  # why there is no divergence figure
    difference: PairedDifference

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        doc: dict[str, Any] = handler(self)
        difference = doc.pop("difference")
        return {**doc, **difference}


class QualityComparison(BaseModel):
    """Quality beside speed, as `compare` shows it (and dumps it under "quality")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: list[QualityRow] = Field(default_factory=list)
    pairs: list[QualityPair] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def _first_sample(ev: LoadedEval, variant: str) -> tuple[dict[str, bool], set[str]]:
    """Per item, the first sample's verdict (the greedy answer, or sample 0 of n), and the items
    whose request failed: an infrastructure failure, not an answer."""
    first = [it for it in ev.items() if it.sample == 0]
    verdicts = {it.item_id: bool(it.correct.get(variant)) for it in first}
    return verdicts, {it.item_id for it in first if not it.request.ok}


def _answers(ev: LoadedEval) -> dict[str, str | None]:
    """Per item, the first sample's answer text."""
    return {it.item_id: it.output for it in ev.items() if it.sample == 0}


def verdict_of(d: PairedDifference, a: str, b: str) -> str:
    """Differences of two accuracies are in percentage points (pp), not percent."""
    if d.mcnemar_p >= SIGNIFICANCE:
        return f"no significant difference (McNemar p={d.mcnemar_p:.2g})"
    better, worse = (a, b) if d.difference > 0 else (b, a)
    return f"{better} better than {worse} by {abs(d.difference) * 100:.1f} pp (p={d.mcnemar_p:.2g})"


def _row(
    task: str, label: str, ev: LoadedEval, speed: Speed, pricing: SelfHostPricing | None,
    setting: str | None, apis: Sequence[ApiRate], level: float | None,
) -> QualityRow:  # fmt: skip
    p = ev.predicate
    usd, usd_reason = speed_usd_per_mtok(pricing, speed)
    return QualityRow(
        task=task,
        setting=setting,
        level=level,
        variant=p.task.primary,
        label=label,
        accuracy=p.metrics.scores[p.task.primary],
        parse_failure_rate=p.metrics.parse_failure_rate,
        output_tokens_mean=p.metrics.output_tokens_mean,
        throughput_tok_per_s=speed.tok_per_s,
        throughput_at=speed.at,
        usd_per_mtok=None if usd is None else float(usd),
        eval_path=str(ev.path),
        pareto=False,
        throughput_reason=speed.reason or usd_reason,
        valid=p.validity.valid,
        outcome=outcome_cost(ev, speed, pricing, apis),
    )


def _divergence(ev_a: LoadedEval, ev_b: LoadedEval, common: list[str]) -> dict[str, Any]:
    """How often B's answer text differs from A's on the items both answered, whatever the
    scores say; meaningful for greedy decoding only (sampled answers differ by chance)."""
    greedy = ev_a.predicate.parameters.temperature == 0 == ev_b.predicate.parameters.temperature
    if not greedy:
        return {"divergence_reason": "sampled answers (temperature > 0) differ by chance"}
    ta, tb = _answers(ev_a), _answers(ev_b)
    diverged = sum(1 for i in common if (ta.get(i) or "").strip() != (tb.get(i) or "").strip())
    return {"diverged": diverged, "divergence": diverged / len(common)}


def _pair(task: str, a: str, b: str, ev_a: LoadedEval, ev_b: LoadedEval,
          notes: list[str], setting: str | None) -> QualityPair | None:  # fmt: skip
    variant = ev_a.predicate.task.primary
    (va, failed_a), (vb, failed_b) = _first_sample(ev_a, variant), _first_sample(ev_b, variant)
    shared = va.keys() & vb.keys()
    common = sorted(shared - failed_a - failed_b)
    dropped_a, dropped_b = len(shared & failed_a), len(shared & failed_b)
    where = f"{task} ({setting})" if setting else task
    if dropped_a or dropped_b:
        notes.append(f"{where}: {len(shared) - len(common)} shared item(s) left out of {a} vs "
                     f"{b} because a request failed ({a}: {dropped_a}, {b}: {dropped_b}); "
                     "a failed request is not a wrong answer")  # fmt: skip
    if not common:
        notes.append(f"{where}: {a} and {b} share no item both answered")
        return None
    d = paired_difference([va[i] for i in common], [vb[i] for i in common])
    return QualityPair(task=task, setting=setting, a=a, b=b, verdict=verdict_of(d, a, b),
                       failed_a=dropped_a, failed_b=dropped_b, difference=d,
                       **_divergence(ev_a, ev_b, common))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Axis:
    """How evals are grouped and paired: each eval's label on the compared axis, the setting
    it shares with the evals it is paired with (None: one group per task), and the order of
    labels (the first is the baseline)."""

    label: dict[str, str]  # eval path → label
    setting: dict[str, str] = field(default_factory=dict)  # eval path → setting
    order: Callable[[str], Any] = str
    level: dict[str, float] = field(default_factory=dict)  # eval path → its load, to draw it


def compare_quality(
    corpus: Corpus,
    axis: Axis,
    label_run: dict[str, str],
    pricing: SelfHostPricing | None = None,
    apis: Sequence[ApiRate] = (),
) -> QualityComparison:
    """`label_run`: the runs whose speed may be shown (a run is shown beside an eval only when
    it is of the same setup). With `pricing`, the frontier is accuracy × self-hosted $ per
    correct answer, else accuracy × throughput."""
    out = QualityComparison()
    groups: dict[tuple[str, str], dict[str, LoadedEval]] = defaultdict(dict)
    for ev in sorted(corpus.evals, key=lambda e: e.predicate.timing.started_at):
        path = str(ev.path)
        label, setting = axis.label[path], axis.setting.get(path, "")
        key = (ev.predicate.task.name, setting)
        if label in groups[key]:
            out.notes.append(f"{_where(key)}: several evals of {label}; the latest is used")
        groups[key][label] = ev  # the latest wins
    for key, evals in sorted(groups.items()):
        task, setting = key
        labels = sorted(evals, key=axis.order)
        keys = {evals[label].predicate.comparability.key for label in labels}
        if len(keys) > 1:
            out.notes.append(
                f"{_where(key)}: evals differ in data or settings (comparability keys "
                f"{', '.join(sorted(keys))}); pairs use only the items both answered"
            )
        rows = [_row(task, label, evals[label], speed_of(corpus, set(label_run), evals[label]),
                     pricing, setting or None, apis, axis.level.get(str(evals[label].path)))
                for label in labels]  # fmt: skip
        out.rows.extend(_with_frontier(rows, pricing is not None))
        for other in labels[1:]:
            pair = _pair(task, labels[0], other, evals[labels[0]], evals[other], out.notes,
                         setting or None)  # fmt: skip
            if pair is not None:
                out.pairs.append(pair)
    return out


def _where(key: tuple[str, str]) -> str:
    task, setting = key
    return f"{task} ({setting})" if setting else task


def _with_frontier(rows: list[QualityRow], by_cost: bool) -> list[QualityRow]:
    """Only valid evals compete for the frontier: an invalid one is kept off it and cannot push
    a valid one off. With a price: accuracy against $ per correct answer."""
    valid = [r.valid for r in rows]
    if by_cost:
        points = [[r.accuracy.accuracy, r.outcome.usd_per_correct if r.outcome else None]
                  for r in rows]  # fmt: skip
        flags = pareto_front(points, ["max", "min"], valid)
    else:
        points = [[r.accuracy.accuracy, r.throughput_tok_per_s] for r in rows]
        flags = pareto_front(points, ["max", "max"], valid)
    return [r.model_copy(update={"pareto": f}) for r, f in zip(rows, flags, strict=True)]
