"""Quality beside speed: per task, each model's accuracy with its interval, its speed from a run
envelope of the same setup (model, engine, quant, hardware), paired differences with McNemar
tests on the items both models answered, and the Pareto frontier of accuracy against throughput.

An item whose request failed (timeout, connection, HTTP error) says nothing about the model:
pairs leave it out on both sides and count it apart. Invalid evals stay off the frontier."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from tokenbench.compare.pareto import pareto_front
from tokenbench.corpus.loader import Corpus, LoadedEval
from tokenbench.envelope.schema import EvalPredicate, RunPredicate
from tokenbench.metrics.quality import Accuracy, PairedDifference, paired_difference
from tokenbench.pricing.selfhost import SelfHostPricing

SIGNIFICANCE = 0.05


class QualityRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str
    label: str  # the model (or the --by axis)
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


def same_setup(run: RunPredicate, ev: EvalPredicate) -> bool:
    """Whether a run measured what the eval scored: the same model, engine (and version), quant
    and hardware (fingerprint). The model id alone could be another engine or GPU."""
    rm, em = run.target.model, ev.target.model
    return (
        rm.model_id == em.model_id
        and run.target.engine.label == ev.target.engine.label
        and (rm.quant or "").lower() == (em.quant or "").lower()
        and run.hardware.fingerprint == ev.hardware.fingerprint
    )


@dataclass(frozen=True, slots=True)
class Speed:
    tok_per_s: float | None
    at: str | None  # "concurrency 16", or "eval, concurrency 4"
    predicate: RunPredicate | EvalPredicate | None  # whose hardware a price reads
    reason: str | None  # why there is no figure


def _speed(corpus: Corpus, eligible: set[str], ev: LoadedEval) -> Speed:
    p = ev.predicate
    best = corpus.fastest_run(lambda r: str(r.path) in eligible and same_setup(r.predicate, p))
    if best is not None:
        bp = best.predicate
        return Speed(bp.metrics.output_throughput_tok_per_s, bp.parameters.load.label, bp, None)
    if p.metrics.output_throughput_tok_per_s is not None:
        # no run of this setup: the eval's own requests are the speed evidence
        return Speed(p.metrics.output_throughput_tok_per_s,
                     f"eval, concurrency {p.parameters.concurrency}", p, None)  # fmt: skip
    return Speed(None, None, None, _why_no_run(corpus, eligible, p))


def _why_no_run(corpus: Corpus, eligible: set[str], p: EvalPredicate) -> str:
    same_model = [r for r in corpus.runs if str(r.path) in eligible
                  and r.predicate.target.model.model_id == p.target.model.model_id]  # fmt: skip
    if not same_model:
        return f"no run of {p.target.model.model_id} in the corpus"
    if any(same_setup(r.predicate, p) for r in same_model):
        return "no valid run of this setup with a throughput"
    return (f"no run of {p.target.model.model_id} on the eval's engine, quant and hardware "
            f"({p.target.engine.label}, {p.target.model.quant or 'quant unknown'}, "
            f"{p.hardware.label})")  # fmt: skip


def _usd(pricing: SelfHostPricing | None, speed: Speed) -> tuple[float | None, str | None]:
    if pricing is None or speed.predicate is None:
        return None, None
    hourly = pricing.run_hourly_usd(speed.predicate)
    if hourly.usd is None:
        return None, hourly.reason
    usd = pricing.usd_per_mtok(speed.tok_per_s, hourly.usd)
    return (None, None) if usd is None else (float(usd), None)


def _first_sample(ev: LoadedEval, variant: str) -> tuple[dict[str, bool], set[str]]:
    """Per item, the first sample's verdict (the greedy answer, or sample 0 of n), and the items
    whose request failed: an infrastructure failure, not an answer."""
    first = [it for it in ev.items() if it.sample == 0]
    verdicts = {it.item_id: bool(it.correct.get(variant)) for it in first}
    return verdicts, {it.item_id for it in first if not it.request.ok}


def verdict_of(d: PairedDifference, a: str, b: str) -> str:
    """Differences of two accuracies are in percentage points (pp), not percent."""
    if d.mcnemar_p >= SIGNIFICANCE:
        return f"no significant difference (McNemar p={d.mcnemar_p:.2g})"
    better, worse = (a, b) if d.difference > 0 else (b, a)
    return f"{better} better than {worse} by {abs(d.difference) * 100:.1f} pp (p={d.mcnemar_p:.2g})"


def _row(task: str, label: str, ev: LoadedEval, speed: Speed,
         pricing: SelfHostPricing | None) -> QualityRow:  # fmt: skip
    p = ev.predicate
    usd, usd_reason = _usd(pricing, speed)
    return QualityRow(
        task=task,
        variant=p.task.primary,
        label=label,
        accuracy=p.metrics.scores[p.task.primary],
        parse_failure_rate=p.metrics.parse_failure_rate,
        output_tokens_mean=p.metrics.output_tokens_mean,
        throughput_tok_per_s=speed.tok_per_s,
        throughput_at=speed.at,
        usd_per_mtok=usd,
        eval_path=str(ev.path),
        pareto=False,
        throughput_reason=speed.reason or usd_reason,
        valid=p.validity.valid,
    )


def _pair(task: str, a: str, b: str, ev_a: LoadedEval, ev_b: LoadedEval,
          notes: list[str]) -> QualityPair | None:  # fmt: skip
    variant = ev_a.predicate.task.primary
    (va, failed_a), (vb, failed_b) = _first_sample(ev_a, variant), _first_sample(ev_b, variant)
    shared = va.keys() & vb.keys()
    common = sorted(shared - failed_a - failed_b)
    dropped_a, dropped_b = len(shared & failed_a), len(shared & failed_b)
    if dropped_a or dropped_b:
        notes.append(f"{task}: {len(shared) - len(common)} shared item(s) left out of {a} vs "
                     f"{b} because a request failed ({a}: {dropped_a}, {b}: {dropped_b}); "
                     "a failed request is not a wrong answer")  # fmt: skip
    if not common:
        notes.append(f"{task}: {a} and {b} share no item both answered")
        return None
    d = paired_difference([va[i] for i in common], [vb[i] for i in common])
    return QualityPair(task=task, a=a, b=b, verdict=verdict_of(d, a, b), failed_a=dropped_a,
                       failed_b=dropped_b, difference=d)  # fmt: skip


def compare_quality(
    corpus: Corpus,
    label_eval: dict[str, str],
    label_run: dict[str, str],
    pricing: SelfHostPricing | None = None,
) -> QualityComparison:
    """`label_eval`: eval path → the label it is compared under; `label_run`: the runs whose
    speed may be shown (a run is shown beside an eval only when it is of the same setup). With
    `pricing`, the frontier is accuracy × self-hosted $/Mtok, else accuracy × throughput."""
    out = QualityComparison()
    by_task: dict[str, dict[str, LoadedEval]] = defaultdict(dict)
    for ev in sorted(corpus.evals, key=lambda e: e.predicate.timing.started_at):
        label = label_eval[str(ev.path)]
        task = ev.predicate.task.name
        if label in by_task[task]:
            out.notes.append(f"{task}: several evals of {label}; the latest is used")
        by_task[task][label] = ev  # the latest wins
    for task, evals in sorted(by_task.items()):
        labels = sorted(evals)
        keys = {evals[label].predicate.comparability.key for label in labels}
        if len(keys) > 1:
            out.notes.append(
                f"{task}: evals differ in data or settings (comparability keys "
                f"{', '.join(sorted(keys))}); pairs use only the items both answered"
            )
        rows = [_row(task, label, evals[label], _speed(corpus, set(label_run), evals[label]),
                     pricing) for label in labels]  # fmt: skip
        out.rows.extend(_with_frontier(rows, pricing is not None))
        for other in labels[1:]:
            pair = _pair(task, labels[0], other, evals[labels[0]], evals[other], out.notes)
            if pair is not None:
                out.pairs.append(pair)
    return out


def _with_frontier(rows: list[QualityRow], by_cost: bool) -> list[QualityRow]:
    """Only valid evals compete for the frontier: an invalid one is kept off it and cannot push
    a valid one off."""
    valid = [r.valid for r in rows]
    if by_cost:
        points = [[r.accuracy.accuracy, r.usd_per_mtok] for r in rows]
        flags = pareto_front(points, ["max", "min"], valid)
    else:
        points = [[r.accuracy.accuracy, r.throughput_tok_per_s] for r in rows]
        flags = pareto_front(points, ["max", "max"], valid)
    return [r.model_copy(update={"pareto": f}) for r, f in zip(rows, flags, strict=True)]
