"""`bench recommend` ranks like with like: measured scores only from complete, valid evals, each
score labelled with its setting, and scores compared only within one setting."""

from __future__ import annotations

from pathlib import Path

from tests.support.eval_envelopes import items, loaded_eval
from tokenbench.catalog.catalog import load_catalog
from tokenbench.catalog.recommend import (
    UNSCORED,
    Pick,
    Requirements,
    measured_scores,
    published_setting,
    recommend,
)
from tokenbench.corpus.loader import Corpus

CATALOG = load_catalog()
GENERAL = Requirements(4000, "low", "general")  # ranked by MMLU
MISTRAL = "mistral-7b-instruct"


def _picks(corpus: Corpus | None) -> dict[str, Pick]:
    rec = recommend(CATALOG, GENERAL, corpus)
    return {p.model.id: p for p in rec.shortlist + rec.alternatives}


def test_a_measured_zero_shot_score_is_not_ranked_against_published_few_shot(
    tmp_path: Path,
) -> None:
    # a perfect measured score: sorted by value alone it would lead every published figure
    corpus = Corpus(evals=[loaded_eval(tmp_path, MISTRAL, items([True] * 4))])
    rec = recommend(CATALOG, GENERAL, corpus)
    settings = {r.setting: r.models for r in rec.rankings}
    measured = [s for s in settings if "measured" in s]
    assert measured == [next(iter(settings))]  # measured rankings come first
    assert settings[measured[0]] == [MISTRAL]
    assert measured[0].startswith("0-shot generative")
    for setting, models in settings.items():
        if setting in (measured[0], UNSCORED):
            continue
        assert MISTRAL not in models
        for model_id in models:  # every published ranking holds one stated setting
            score = CATALOG.get(model_id).published["mmlu"]
            assert published_setting(score) == setting
    pick = next(p for p in rec.shortlist if p.model.id == MISTRAL)
    assert pick.setting == measured[0]
    assert any("another setting" in r for r in pick.reasons)


def test_published_scores_rank_within_the_shots_they_state() -> None:
    rec = recommend(CATALOG, Requirements(4000, "high", "math"))  # GSM8K: 0-, 8-shot, maj@8
    by_setting = {r.setting: r.models for r in rec.rankings}
    assert len([s for s in by_setting if s != UNSCORED]) > 1  # not one mixed list
    for setting, models in by_setting.items():
        if setting == UNSCORED:
            continue
        scores = [CATALOG.get(m).published["gsm8k"].value for m in models]
        assert scores == sorted(scores, reverse=True)
        assert {published_setting(CATALOG.get(m).published["gsm8k"]) for m in models} == {setting}
    ranked = [p.model.id for p in rec.shortlist + rec.alternatives]
    assert ranked == [m for r in rec.rankings for m in r.models]


def test_only_complete_valid_evals_are_measured_evidence(tmp_path: Path) -> None:
    invalid = loaded_eval(tmp_path, MISTRAL, items([True] * 4), valid=False, started="2")
    partial = loaded_eval(tmp_path, MISTRAL, items([True] * 4), status="partial", started="3")
    corpus = Corpus(evals=[invalid, partial])
    pick = _picks(corpus)[MISTRAL]
    assert pick.tier == 1  # published: neither unusable eval counts
    assert measured_scores(corpus, CATALOG.get(MISTRAL)) == {}
    good = loaded_eval(tmp_path, MISTRAL, items([True, False]), started="1")
    corpus.evals.append(good)
    found = measured_scores(corpus, CATALOG.get(MISTRAL))["mmlu"]
    assert found["envelope"] == str(good.path)  # the older but usable eval
    assert found["setting"].startswith("0-shot generative, measured")
