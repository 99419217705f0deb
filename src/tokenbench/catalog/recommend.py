"""Recommendations: the catalogued models that meet hard requirements (context, budget,
language), ranked by evidence for the task. A model's measured score (an eval envelope in the
corpus) replaces its published claim; every pick says which evidence is which.

Ranking, in order: models with a score for the task's benchmark before those without; within
that, with --latency-critical the ones with ≤ 9B active parameters first, with --fine-tuning the
ones with a permissive license and ≤ 9B parameters first; then by score (measured if there is
one, else published), a measured score first on a tie; models without a score by size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokenbench.catalog.catalog import EVAL_TASKS, Catalog, CatalogModel
from tokenbench.catalog.infra import estimate
from tokenbench.corpus.loader import Corpus
from tokenbench.errors import ConfigError
from tokenbench.metrics.quality import Accuracy

# what each budget buys: one GPU of this memory, weights at this quantization
BUDGETS = {"low": (24.0, "int4", 1), "medium": (80.0, "int8", 1), "high": (80.0, "fp16", 8)}
TASK_BENCHMARK = {"general": "mmlu", "chat": "mmlu", "code": "humaneval", "math": "gsm8k"}
SMALL_B = 9.0  # the 7-8B class and below
SHORTLIST = 3


@dataclass(frozen=True, slots=True)
class Requirements:
    context: int = 4096
    budget: str = "medium"
    task: str = "general"
    language: str = "en"
    latency_critical: bool = False
    fine_tuning: bool = False

    def __post_init__(self) -> None:
        if self.budget not in BUDGETS:
            raise ConfigError(f"--budget {self.budget!r}: choose low, medium or high")
        if self.task not in TASK_BENCHMARK:
            raise ConfigError(f"--task {self.task!r}: choose {', '.join(TASK_BENCHMARK)}")
        if self.context < 1:
            raise ConfigError("--context must be at least 1")


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # "measured", "published" or "catalog"
    text: str


@dataclass
class Pick:
    model: CatalogModel
    tier: int  # the evidence behind `score`: 0 measured, 1 published, 2 none
    score: float | None  # percent, from the tier's source
    reasons: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Recommendation:
    requirements: Requirements
    benchmark: str
    shortlist: list[Pick]
    alternatives: list[Pick]
    excluded: list[tuple[CatalogModel, str]]


def _measured(corpus: Corpus | None, model: CatalogModel, task: str) -> Accuracy | None:
    """The latest eval of this model on this task in the corpus, if any."""
    if corpus is None:
        return None
    latest = corpus.latest_eval(task, lambda e: model.is_(e.predicate.target.model.model_id))
    if latest is None:
        return None
    return latest.predicate.metrics.scores[latest.predicate.task.primary]


def _speed(corpus: Corpus | None, model: CatalogModel) -> str | None:
    if corpus is None:
        return None
    best = corpus.fastest_run(lambda r: model.is_(r.predicate.target.model.model_id))
    if best is None:
        return None
    p = best.predicate
    ttft = f", TTFT p50 {p.metrics.ttft_ms.p50:,.0f} ms" if p.metrics.ttft_ms else ""
    tput = p.metrics.output_throughput_tok_per_s or 0.0
    return f"{tput:,.1f} output tok/s at {p.parameters.load.label}{ttft} on {p.hardware.label}"


def recommend(catalog: Catalog, req: Requirements, corpus: Corpus | None = None) -> Recommendation:
    benchmark = TASK_BENCHMARK[req.task]
    task = EVAL_TASKS[benchmark]
    memory_gib, quant, gpus = BUDGETS[req.budget]
    picks: list[Pick] = []
    excluded: list[tuple[CatalogModel, str]] = []
    for model in catalog.model:
        if model.context_length < req.context:
            excluded.append((model, f"context {model.context_length:,} < {req.context:,} needed"))
            continue
        if req.language not in model.languages:
            excluded.append((model, f"{req.language!r} is not among its languages "
                                    f"({', '.join(model.languages)})"))  # fmt: skip
            continue
        need = estimate(model, quant, req.context, 1).total_bytes / (1 << 30)
        if need > memory_gib * gpus * 0.9:
            excluded.append((model, f"needs {need:,.1f} GiB at {quant} with one {req.context:,}-"
                                    f"token sequence; the {req.budget} budget is {gpus} × "
                                    f"{memory_gib:g} GiB"))  # fmt: skip
            continue
        pick = Pick(model, 2, None)
        pick.evidence.append(Evidence("catalog", (
            f"{model.params_total_b:g}B parameters ({model.params_active_b:g}B active), "
            f"context {model.context_length:,}, {model.license}, released "
            f"{model.release_date.isoformat()}; {need:,.1f} GiB at {quant}")))  # fmt: skip
        measured = _measured(corpus, model, task)
        published = model.published.get(benchmark)
        if measured is not None and measured.accuracy is not None:
            pick.tier, pick.score = 0, measured.accuracy * 100
            if published is not None:
                pick.reasons.append(f"measured here instead of the published {published.value:g}%")
            pick.reasons.append(f"measured {task}: {measured.accuracy:.1%} "
                                f"[{measured.ci_low:.1%}, {measured.ci_high:.1%}] "
                                f"on {measured.total} answers")  # fmt: skip
            pick.evidence.append(
                Evidence("measured", pick.reasons[-1] + " (bench eval, this corpus)")
            )
        if published is not None:
            if pick.tier == 2:
                pick.tier, pick.score = 1, published.value
                pick.reasons.append(f"published {benchmark} {published.value:g}%")
            claim = f"{benchmark} {published.value:g}% ({published.setting}; {published.source})"
            pick.evidence.append(Evidence("published", claim))
        if pick.tier == 2:
            pick.reasons.append(f"no {benchmark} score, measured or published")
        if req.task in model.specialties:
            pick.reasons.append(f"{req.task} is among its specialties")
        small = model.params_active_b <= SMALL_B
        if req.latency_critical and small:
            pick.reasons.append(f"{model.params_active_b:g}B active parameters keep latency low")
        if req.fine_tuning and model.license_permissive and model.params_total_b <= SMALL_B:
            pick.reasons.append(f"permissive license ({model.license}) and small enough to "
                                "fine-tune on one GPU")  # fmt: skip
        if model.architecture.moe_experts:
            pick.reasons.append("mixture of experts: fast per token, but every expert must fit "
                                "in memory")  # fmt: skip
        speed = _speed(corpus, model)
        if speed:
            pick.evidence.append(Evidence("measured", speed))
        picks.append(pick)

    def key(p: Pick) -> tuple[float, ...]:
        prefer = 0
        if req.latency_critical and p.model.params_active_b <= SMALL_B:
            prefer += 1
        if req.fine_tuning and p.model.license_permissive and p.model.params_total_b <= SMALL_B:
            prefer += 1
        fallback = -p.model.params_total_b if not req.latency_critical else p.model.params_total_b
        unscored = p.score is None
        value = p.score if p.score is not None else fallback
        return (unscored, -prefer, -value, p.tier, p.model.id)  # type: ignore[return-value]

    picks.sort(key=key)
    return Recommendation(req, benchmark, picks[:SHORTLIST], picks[SHORTLIST:], excluded)
