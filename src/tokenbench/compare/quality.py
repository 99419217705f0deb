"""Quality beside speed: per task, each model's accuracy with its interval, its speed from the
run envelopes in the same corpus, paired differences with McNemar tests on the items both models
answered, and the Pareto frontier of accuracy against throughput."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from tokenbench.compare.pareto import pareto_front
from tokenbench.corpus.loader import Corpus, LoadedEval
from tokenbench.metrics.quality import Accuracy, PairedDifference, paired_difference
from tokenbench.pricing.selfhost import SelfHostPricing

SIGNIFICANCE = 0.05


@dataclass(frozen=True, slots=True)
class QualityRow:
    task: str
    variant: str  # the primary variant
    label: str  # the model (or the --by axis)
    accuracy: Accuracy
    parse_failure_rate: float | None
    output_tokens_mean: float | None  # verbosity
    throughput_tok_per_s: float | None  # best valid run of this label in the corpus
    throughput_at: str | None  # which run: "concurrency 16", "4 req/s", or the eval's own
    usd_per_mtok: (
        float | None
    )  # self-hosted $/M output tokens at that throughput (--gpu-hourly-usd)
    eval_path: str
    pareto: bool  # on the accuracy × throughput frontier of its task


@dataclass(frozen=True, slots=True)
class QualityPair:
    task: str
    a: str
    b: str
    difference: PairedDifference
    verdict: str


@dataclass
class QualityComparison:
    rows: list[QualityRow] = field(default_factory=list)
    pairs: list[QualityPair] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _speed(corpus: Corpus, label_of: dict[str, str], label: str) -> tuple[float, str] | None:
    best = corpus.fastest_run(lambda r: label_of[str(r.path)] == label)
    if best is None:
        return None
    p = best.predicate
    return p.metrics.output_throughput_tok_per_s or 0.0, p.parameters.load.label


def _usd(pricing: SelfHostPricing | None, tok_per_s: float | None) -> float | None:
    if pricing is None:
        return None
    usd = pricing.usd_per_mtok(tok_per_s)
    return None if usd is None else float(usd)


def _first_sample(ev: LoadedEval, variant: str) -> dict[str, bool]:
    """Per item, the first sample's verdict (the greedy answer, or sample 0 of n)."""
    return {it.item_id: bool(it.correct.get(variant)) for it in ev.items() if it.sample == 0}


def verdict_of(d: PairedDifference, a: str, b: str) -> str:
    if d.mcnemar_p >= SIGNIFICANCE:
        return f"no significant difference (McNemar p={d.mcnemar_p:.2g})"
    better, worse = (a, b) if d.difference > 0 else (b, a)
    return f"{better} better than {worse} by {abs(d.difference):.1%} (p={d.mcnemar_p:.2g})"


def compare_quality(
    corpus: Corpus,
    label_eval: dict[str, str],
    label_run: dict[str, str],
    pricing: SelfHostPricing | None = None,
) -> QualityComparison:
    """`label_eval` / `label_run`: envelope path → the label it is compared under. With
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
        rows = []
        for label in labels:
            p = evals[label].predicate
            speed = _speed(corpus, label_run, label)
            if speed is None and p.metrics.output_throughput_tok_per_s is not None:
                # no run envelope for this model: the eval's own requests are the speed evidence
                speed = (
                    p.metrics.output_throughput_tok_per_s,
                    f"eval, concurrency {p.parameters.concurrency}",
                )
            rows.append(
                QualityRow(
                    task=task,
                    variant=p.task.primary,
                    label=label,
                    accuracy=p.metrics.scores[p.task.primary],
                    parse_failure_rate=p.metrics.parse_failure_rate,
                    output_tokens_mean=p.metrics.output_tokens_mean,
                    throughput_tok_per_s=speed[0] if speed else None,
                    throughput_at=speed[1] if speed else None,
                    usd_per_mtok=_usd(pricing, speed[0] if speed else None),
                    eval_path=str(evals[label].path),
                    pareto=False,
                )
            )
        if pricing is None:
            flags = pareto_front(
                [[r.accuracy.accuracy, r.throughput_tok_per_s] for r in rows], ["max", "max"]
            )
        else:
            flags = pareto_front(
                [[r.accuracy.accuracy, r.usd_per_mtok] for r in rows], ["max", "min"]
            )
        out.rows += [replace(r, pareto=f) for r, f in zip(rows, flags, strict=True)]
        base = labels[0]
        for other in labels[1:]:
            variant = evals[base].predicate.task.primary
            a, b = _first_sample(evals[base], variant), _first_sample(evals[other], variant)
            common = sorted(a.keys() & b.keys())
            if not common:
                out.notes.append(f"{task}: {base} and {other} share no items")
                continue
            d = paired_difference([a[i] for i in common], [b[i] for i in common])
            out.pairs.append(QualityPair(task, base, other, d, verdict_of(d, base, other)))
    return out
