"""The catalog views: what `bench models`, `bench recommend` and `bench infra` render in every
format. Their JSON is the model's dump; fields marked `exclude` are for tables only."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, RootModel

from tokenbench.catalog.catalog import CatalogModel
from tokenbench.catalog.infra import USABLE_SHARE, InfraEstimate
from tokenbench.catalog.recommend import Pick, Recommendation

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_TIERS = ("measured", "published", "none")
# a figure as computed: an int stays an int in the JSON ("0", not "0.0")
Number = int | float


class ModelEntry(CatalogModel):
    """A catalogued model and, per catalog benchmark, what was measured here (never mixed)."""

    measured: dict[str, dict[str, Any]]


class ModelsView(RootModel[list[ModelEntry]]):
    """`bench models`: dumped as the list of entries."""

    model_config = ConfigDict(frozen=True)
    # whether a corpus was given: tables then say so when nothing in it matched
    _with_corpus: bool = PrivateAttr(default=False)

    @classmethod
    def of(cls, entries: list[ModelEntry], with_corpus: bool) -> ModelsView:
        view = cls(entries)
        view._with_corpus = with_corpus
        return view

    @property
    def with_corpus(self) -> bool:
        return self._with_corpus


def models_view(
    models: list[CatalogModel], measured: dict[str, dict[str, dict[str, Any]]], with_corpus: bool
) -> ModelsView:
    entries = [ModelEntry(**m.model_dump(), measured=measured[m.id]) for m in models]
    return ModelsView.of(entries, with_corpus)


class RequirementsView(BaseModel):
    model_config = _FROZEN

    context: int
    budget: str
    task: str
    language: str
    latency_critical: bool
    fine_tuning: bool


class EvidenceView(BaseModel):
    model_config = _FROZEN

    kind: str
    text: str


class PickView(BaseModel):
    model_config = _FROZEN

    model: str  # catalog id
    name: str
    evidence_tier: str
    score: float | None
    setting: str
    reasons: list[str]
    evidence: list[EvidenceView]


class ExcludedView(BaseModel):
    model_config = _FROZEN

    model: str  # catalog id
    name: str = Field(exclude=True)
    why: str


class RankingView(BaseModel):
    model_config = _FROZEN

    setting: str
    models: list[str]


class RecommendView(BaseModel):
    """`bench recommend`: a shortlist with reasons and evidence, the alternatives, the rest."""

    model_config = _FROZEN

    requirements: RequirementsView
    benchmark: str
    shortlist: list[PickView]
    alternatives: list[PickView]
    excluded: list[ExcludedView]
    rankings: list[RankingView]


def _pick(p: Pick) -> PickView:
    return PickView(
        model=p.model.id,
        name=p.model.name,
        evidence_tier=_TIERS[p.tier],
        score=p.score,
        setting=p.setting,
        reasons=p.reasons,
        evidence=[EvidenceView(kind=e.kind, text=e.text) for e in p.evidence],
    )


def recommend_view(rec: Recommendation) -> RecommendView:
    return RecommendView(
        requirements=RequirementsView(**dataclasses.asdict(rec.requirements)),
        benchmark=rec.benchmark,
        shortlist=[_pick(p) for p in rec.shortlist],
        alternatives=[_pick(p) for p in rec.alternatives],
        excluded=[ExcludedView(model=m.id, name=m.name, why=why) for m, why in rec.excluded],
        rankings=[RankingView(setting=r.setting, models=r.models) for r in rec.rankings],
    )


class GpuFitView(BaseModel):
    model_config = _FROZEN

    gpu: str
    memory_gib: Number
    gpus_needed: int
    max_concurrency_one_gpu: int


class InfraView(BaseModel):
    """`bench infra MODEL`: memory for weights and KV cache, and which GPUs hold it."""

    model_config = _FROZEN

    model: str  # catalog id
    quant: str
    kv_dtype: str
    context: int
    concurrency: int
    bits_per_weight: Number
    embedding_params_16bit: Number
    weights_bytes: Number
    kv_bytes_per_token: Number
    kv_bytes_per_sequence: Number
    kv_total_bytes: Number
    total_bytes: Number
    usable_share: float
    gpus: list[GpuFitView]
    catalog_model: CatalogModel = Field(exclude=True)  # the architecture the table explains


def infra_view(e: InfraEstimate) -> InfraView:
    return InfraView(
        model=e.model.id, quant=e.quant, kv_dtype=e.kv_dtype, context=e.context,
        concurrency=e.concurrency, bits_per_weight=e.bits_per_weight,
        embedding_params_16bit=e.embedding_params_16bit, weights_bytes=e.weights_bytes,
        kv_bytes_per_token=e.kv_bytes_per_token, kv_bytes_per_sequence=e.kv_bytes_per_sequence,
        kv_total_bytes=e.kv_total_bytes, total_bytes=e.total_bytes, usable_share=USABLE_SHARE,
        gpus=[GpuFitView(gpu=f.gpu.name, memory_gib=f.gpu.memory_gib, gpus_needed=f.gpus_needed,
                         max_concurrency_one_gpu=f.max_concurrency_one_gpu) for f in e.fits],
        catalog_model=e.model,
    )  # fmt: skip
