"""Recommendations: the catalogued models that meet hard requirements (context, budget,
language), ranked by evidence for the task. Every score carries its setting, and scores are
ranked only against scores of the same setting: a 0-shot score measured here is never sorted
against a published 5-shot one as if they were one protocol.

Settings: a measured score (a valid, complete eval envelope in the corpus) is "0-shot
generative, measured" (or letter log-probs), per task version; a published score falls in the
group of the shots its catalog setting states ("published, 5-shot"), or "published, shots not
stated". A model is ranked by its measured score when it has one, else by its published one.

Order: rankings of measured scores first, then published rankings of a stated shot count (the
one with most models first), then published scores whose shots are not stated; models without
a score last, by size. Within a ranking: with --latency-critical the ones
with ≤ 9B active parameters first, with --fine-tuning the ones with a permissive license and
≤ 9B parameters first; then by score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tokenbench.catalog.catalog import EVAL_TASKS, Catalog, CatalogModel, PublishedScore
from tokenbench.catalog.infra import estimate
from tokenbench.corpus.loader import Corpus, LoadedEval
from tokenbench.envelope.schema import EvalPredicate
from tokenbench.errors import ConfigError

# what each budget buys: one GPU of this memory, weights at this quantization
BUDGETS = {"low": (24.0, "int4", 1), "medium": (80.0, "int8", 1), "high": (80.0, "fp16", 8)}
TASK_BENCHMARK = {"general": "mmlu", "chat": "mmlu", "code": "humaneval", "math": "gsm8k"}
SMALL_B = 9.0  # the 7-8B class and below
SHORTLIST = 3
UNSCORED = "no score"
UNSTATED = "published, shots not stated"  # a bucket of unknown settings, not one setting
_SHOTS = re.compile(r"(\d+)-shot", re.IGNORECASE)
# language names a user may type, to their ISO 639-1 codes (the catalog's languages use codes)
_LANGUAGE_NAMES = {
    "english": "en", "chinese": "zh", "mandarin": "zh", "german": "de", "french": "fr",
    "spanish": "es", "italian": "it", "portuguese": "pt", "japanese": "ja", "korean": "ko",
    "russian": "ru", "arabic": "ar", "hindi": "hi", "dutch": "nl", "polish": "pl",
    "turkish": "tr", "vietnamese": "vi", "thai": "th", "indonesian": "id",
}  # fmt: skip


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
        if not re.fullmatch(r"[a-z]{2}", self.language):
            guess = _LANGUAGE_NAMES.get(self.language.lower())
            hint = f"did you mean {guess!r}?" if guess else "e.g. en, zh, de"
            raise ConfigError(f"--language {self.language!r}: give an ISO 639-1 code; {hint}")


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
    setting: str = UNSCORED  # the ranking it competes in: only scores of this setting


@dataclass(frozen=True, slots=True)
class Ranking:
    setting: str  # e.g. "0-shot generative, measured (mmlu v1)" or "published, 5-shot"
    models: list[str]  # catalog ids, best first


@dataclass
class Recommendation:
    requirements: Requirements
    benchmark: str
    shortlist: list[Pick]
    alternatives: list[Pick]
    excluded: list[tuple[CatalogModel, str]]
    rankings: list[Ranking] = field(default_factory=list)


def measured_setting(p: EvalPredicate) -> str:
    """Every built-in task asks with no examples in the prompt (0-shot)."""
    how = "letter log-probs" if p.task.method == "letter-logprobs" else "generative"
    return f"0-shot {how}, measured ({p.task.name} v{p.task.version})"


def published_setting(score: PublishedScore) -> str:
    """The ranking a published score competes in: by the shots its setting states."""
    found = _SHOTS.search(score.setting)
    return f"published, {found.group(1)}-shot" if found else UNSTATED


def usable_eval(e: LoadedEval) -> bool:
    """Only a complete, valid eval is evidence of quality: a partial or invalid one (failed
    requests, a stopped run) scores the model on what the server failed to do."""
    return e.predicate.status == "complete" and e.predicate.validity.valid


def latest_measured(corpus: Corpus | None, model: CatalogModel, task: str) -> LoadedEval | None:
    """The latest complete, valid eval of this model on this task in the corpus, if any."""
    if corpus is None:
        return None
    return corpus.latest_eval(
        task, lambda e: usable_eval(e) and model.is_(e.predicate.target.model.model_id)
    )


def measured_scores(corpus: Corpus | None, model: CatalogModel) -> dict[str, dict[str, Any]]:
    """Per catalog benchmark, the latest complete, valid eval of this model in the corpus, with
    its setting (never the published score's: see `setting` there)."""
    out: dict[str, dict[str, Any]] = {}
    for bench, task in EVAL_TASKS.items():
        latest = latest_measured(corpus, model, task)
        if latest is None:
            continue
        p = latest.predicate
        acc = p.metrics.scores[p.task.primary]
        out[bench] = {"accuracy": acc.model_dump(), "task": task, "variant": p.task.primary,
                      "setting": measured_setting(p), "limit": p.task.limit,
                      "envelope": str(latest.path)}  # fmt: skip
    return out


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


def _exclusion(model: CatalogModel, req: Requirements) -> tuple[str | None, float]:
    """Why the model fails a hard requirement (None: it meets them), and the GiB it needs."""
    memory_gib, quant, gpus = BUDGETS[req.budget]
    if model.context_length < req.context:
        return f"context {model.context_length:,} < {req.context:,} needed", 0.0
    if req.language not in model.languages:
        return (f"{req.language!r} is not among its languages "
                f"({', '.join(model.languages)})"), 0.0  # fmt: skip
    need = estimate(model, quant, req.context, 1).total_bytes / (1 << 30)
    if need > memory_gib * gpus * 0.9:
        return (f"needs {need:,.1f} GiB at {quant} with one {req.context:,}-token sequence; the "
                f"{req.budget} budget is {gpus} × {memory_gib:g} GiB"), need  # fmt: skip
    return None, need


def _score(pick: Pick, measured: LoadedEval | None, published: PublishedScore | None,
           benchmark: str) -> None:  # fmt: skip
    """The score the pick is ranked by (measured, else published), with its setting."""
    acc = None if measured is None else measured.predicate.metrics.scores[
        measured.predicate.task.primary]  # fmt: skip
    if measured is not None and acc is not None and acc.accuracy is not None:
        pick.tier, pick.score = 0, acc.accuracy * 100
        pick.setting = measured_setting(measured.predicate)
        if published is not None:
            pick.reasons.append(
                f"ranked on the score measured here instead of the published "
                f"{published.value:g}% ({published.setting}): another setting, not ranked "
                "against it")  # fmt: skip
        pick.reasons.append(f"measured {measured.predicate.task.name} "
                            f"[{pick.setting}]: {acc.accuracy:.1%} [{acc.ci_low:.1%}, "
                            f"{acc.ci_high:.1%}] on {acc.total} answers")  # fmt: skip
        pick.evidence.append(Evidence("measured", pick.reasons[-1] + " (bench eval, this corpus)"))
    if published is not None:
        if pick.tier == 2:
            pick.tier, pick.score = 1, published.value
            pick.setting = published_setting(published)
            pick.reasons.append(f"published {benchmark} {published.value:g}% "
                                f"[{published.setting}]")  # fmt: skip
        claim = f"{benchmark} {published.value:g}% ({published.setting}; {published.source})"
        pick.evidence.append(Evidence("published", claim))
    if pick.tier == 2:
        pick.reasons.append(f"no {benchmark} score, measured or published")


def _pick(model: CatalogModel, req: Requirements, corpus: Corpus | None, need: float) -> Pick:
    benchmark = TASK_BENCHMARK[req.task]
    quant = BUDGETS[req.budget][1]
    pick = Pick(model, 2, None)
    pick.evidence.append(Evidence("catalog", (
        f"{model.params_total_b:g}B parameters ({model.params_active_b:g}B active), "
        f"context {model.context_length:,}, {model.license}, released "
        f"{model.release_date.isoformat()}; {need:,.1f} GiB at {quant}")))  # fmt: skip
    measured = latest_measured(corpus, model, EVAL_TASKS[benchmark])
    _score(pick, measured, model.published.get(benchmark), benchmark)
    if req.task in model.specialties:
        pick.reasons.append(f"{req.task} is among its specialties")
    if req.latency_critical and model.params_active_b <= SMALL_B:
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
    return pick


def _rank(picks: list[Pick], req: Requirements) -> tuple[list[Pick], list[Ranking]]:
    """Scores are compared only within a setting; the settings themselves are ordered by
    evidence (measured first) and by how many models they rank, never by their scores."""
    groups: dict[str, list[Pick]] = {}
    for p in picks:
        groups.setdefault(p.setting, []).append(p)

    def within(p: Pick) -> tuple[float, ...]:
        prefer = 0
        if req.latency_critical and p.model.params_active_b <= SMALL_B:
            prefer += 1
        if req.fine_tuning and p.model.license_permissive and p.model.params_total_b <= SMALL_B:
            prefer += 1
        if p.score is not None:
            return (-prefer, -p.score)
        size = p.model.params_total_b  # unscored: the smaller first when latency matters
        return (-prefer, size if req.latency_critical else -size)

    def order(setting: str) -> tuple[int, bool, int, str]:
        tier = 2 if setting == UNSCORED else min(p.tier for p in groups[setting])
        return (tier, setting == UNSTATED, -len(groups[setting]), setting)

    ranked: list[Pick] = []
    rankings = []
    for setting in sorted(groups, key=order):
        members = sorted(groups[setting], key=lambda p: (*within(p), p.model.id))
        ranked += members
        rankings.append(Ranking(setting, [p.model.id for p in members]))
    for p in ranked:
        size = len(groups[p.setting])
        p.reasons.append(f"ranked among the {size} model(s) scored in this setting "
                         f"[{p.setting}]" if p.setting != UNSCORED else
                         "unranked by score: after every scored model, by size")  # fmt: skip
    return ranked, rankings


def recommend(catalog: Catalog, req: Requirements, corpus: Corpus | None = None) -> Recommendation:
    picks: list[Pick] = []
    excluded: list[tuple[CatalogModel, str]] = []
    for model in catalog.model:
        why, need = _exclusion(model, req)
        if why is not None:
            excluded.append((model, why))
            continue
        picks.append(_pick(model, req, corpus, need))
    ranked, rankings = _rank(picks, req)
    return Recommendation(req, TASK_BENCHMARK[req.task], ranked[:SHORTLIST],
                          ranked[SHORTLIST:], excluded, rankings)  # fmt: skip
