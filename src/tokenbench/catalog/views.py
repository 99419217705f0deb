"""The catalog views: what `bench models` and `bench recommend` render in every format. Their
JSON is the model's dump; fields marked `exclude` are for tables only."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, RootModel

from tokenbench.catalog.catalog import CatalogModel
from tokenbench.catalog.recommend import Pick, Recommendation

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_TIERS = ("measured", "published", "none")


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
