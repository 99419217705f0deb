"""Accuracy against load (`--by load`), answers that diverge, and the price of a right answer."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.eval_envelopes import VARIANT, items, loaded_eval
from tests.unit.compare.test_quality import loaded_run
from tokenbench.compare.comparison import compare
from tokenbench.corpus.loader import Corpus, LoadedEval, LoadedRun
from tokenbench.corpus.matching import Speed
from tokenbench.pricing.api import ApiRate
from tokenbench.pricing.outcomes import outcome_cost
from tokenbench.pricing.selfhost import SelfHostPricing
from tokenbench.records import ItemRecord


def _answers(texts: list[str], right: list[bool]) -> list[ItemRecord]:
    """Items whose answers are `texts`, scored `right`."""
    base = items(right)
    return [replace(it, output=text) for it, text in zip(base, texts, strict=True)]


def _levels(tmp: Path, model: str) -> list[LoadedEval]:
    n = 20
    c1 = loaded_eval(tmp, model, _answers(["A"] * n, [True] * n), concurrency=1)
    # at 4, six answers change and are wrong
    c4 = loaded_eval(tmp, model, _answers(["B"] * 6 + ["A"] * 14, [False] * 6 + [True] * 14),
                     concurrency=4)  # fmt: skip
    # at 16, every answer's text changes but all are still right
    c16 = loaded_eval(tmp, model, _answers(["A."] * n, [True] * n), concurrency=16)
    return [c1, c4, c16]


def test_levels_are_paired_against_the_lowest_item_by_item(tmp_path: Path) -> None:
    evals = _levels(tmp_path, "m") + _levels(tmp_path, "other")
    q = compare(Corpus(evals=evals), by="load").quality
    assert q is not None
    settings = {r.setting for r in q.rows}
    assert len(settings) == 2  # each model's levels are compared among themselves
    rows = [r for r in q.rows if r.setting and r.setting.startswith("m,")]
    assert [r.label for r in rows] == ["concurrency 1", "concurrency 4", "concurrency 16"]
    assert [r.accuracy.correct for r in rows] == [20, 14, 20]
    pairs = {p.b: p for p in q.pairs if p.setting and p.setting.startswith("m,")}
    assert set(pairs) == {"concurrency 4", "concurrency 16"}
    assert all(p.a == "concurrency 1" for p in pairs.values())
    c4 = pairs["concurrency 4"]
    assert c4.difference.difference == pytest.approx(6 / 20)  # A − B
    assert c4.difference.only_a == 6
    assert c4.difference.mcnemar_p < 0.05  # 6 discordant pairs, all one way
    assert "concurrency 1 better than concurrency 4 by 30.0 pp" in c4.verdict
    assert (c4.diverged, c4.divergence) == (6, pytest.approx(0.3))
    c16 = pairs["concurrency 16"]
    assert c16.difference.difference == 0
    assert "no significant difference" in c16.verdict
    # scored the same, but every greedy answer changed: batching is not bit-exact
    assert (c16.diverged, c16.divergence) == (20, pytest.approx(1.0))
    assert not any("several evals" in note for note in q.notes)


def test_sampled_answers_have_no_divergence_figure(tmp_path: Path) -> None:
    a = loaded_eval(tmp_path, "m", items([True] * 4), concurrency=1, temperature=0.8)
    b = loaded_eval(tmp_path, "m", items([True] * 4), concurrency=4, temperature=0.8)
    q = compare(Corpus(evals=[a, b]), by="load").quality
    assert q is not None
    (pair,) = q.pairs
    assert pair.divergence is None
    assert pair.divergence_reason is not None
    assert "temperature > 0" in pair.divergence_reason


def _run_with_energy(model: str, fingerprint: str, joules_per_token: float | None) -> LoadedRun:
    run = loaded_run(model, 2.0, fingerprint)
    metrics = run.predicate.metrics.model_copy(update={"joules_per_token": joules_per_token})
    return LoadedRun(run.path, run.predicate.model_copy(update={"metrics": metrics}), None)


def test_dollars_joules_and_seconds_per_correct_answer(tmp_path: Path) -> None:
    ev = loaded_eval(tmp_path, "m", items([True] * 3 + [False]))  # 4 answers × 10 tokens
    run = _run_with_energy("m", ev.predicate.hardware.fingerprint, 0.5)
    tok_s = run.predicate.metrics.output_throughput_tok_per_s
    assert tok_s is not None
    speed = Speed(tok_s, "concurrency 1", run.predicate, None)
    pricing = SelfHostPricing(gpu_hourly_usd=Decimal("3.6"), utilization=Decimal(1))
    api = ApiRate("openai", "m", Decimal(1), Decimal(4), None, "test", None, False)
    cost = outcome_cost(ev, speed, pricing, [api])
    assert (cost.correct, cost.answers, cost.output_tokens) == (3, 4, 40)
    # wrong answers cost tokens too: all 40 output tokens are shared by the 3 right answers
    assert cost.seconds_per_correct == pytest.approx(40 / tok_s / 3)
    assert cost.joules_per_correct == pytest.approx(0.5 * 40 / 3)
    per_mtok = 3.6 / (tok_s * 3600) * 1e6  # one machine-hour at $3.60, fully used
    assert cost.usd_per_correct == pytest.approx(per_mtok * 40 / 1e6 / 3)
    m = ev.predicate.metrics
    assert cost.api_usd_per_correct == pytest.approx(
        (m.input_tokens_total * 1 + m.output_tokens_total * 4) / 1e6 / 3)  # fmt: skip
    assert cost.api == "openai:m"
    assert cost.speed_run_id == run.predicate.run_id
    assert cost.eval_run_id == ev.predicate.run_id
    assert cost.reasons == {}


def test_a_missing_part_is_null_with_the_reason(tmp_path: Path) -> None:
    ev = loaded_eval(tmp_path, "m", items([True, False]))
    run = _run_with_energy("m", ev.predicate.hardware.fingerprint, None)
    speed = Speed(10.0, "concurrency 1", run.predicate, None)
    cost = outcome_cost(ev, speed, None)
    assert cost.usd_per_correct is None
    assert "--gpu-hourly-usd" in cost.reasons["usd_per_correct"]
    assert cost.joules_per_correct is None
    assert "measured no energy" in cost.reasons["joules_per_correct"]
    assert "--api" in cost.reasons["api_usd_per_correct"]
    none_right = outcome_cost(loaded_eval(tmp_path, "z", items([False, False])), speed, None)
    assert none_right.seconds_per_correct is None
    assert none_right.reasons["seconds_per_correct"] == "no correct answer"


def test_with_a_price_the_frontier_is_accuracy_against_dollars_per_right_answer(
    tmp_path: Path,
) -> None:
    # "cheap" is fast but often wrong; "right" is slower and always right
    cheap = loaded_eval(tmp_path, "cheap", items([True] + [False] * 9))
    right = loaded_eval(tmp_path, "right", items([True] * 10))
    fp = cheap.predicate.hardware.fingerprint
    runs = [loaded_run("cheap", 1.0, fp), loaded_run("right", 1.5, fp)]
    pricing = SelfHostPricing(gpu_hourly_usd=Decimal(2))
    q = compare(Corpus(runs=runs, evals=[cheap, right]), pricing=pricing).quality
    assert q is not None
    rows = {r.label: r for r in q.rows}
    assert rows["cheap"].usd_per_mtok is not None
    assert rows["right"].usd_per_mtok is not None
    assert rows["cheap"].usd_per_mtok < rows["right"].usd_per_mtok  # cheaper per token …
    usd = {k: r.outcome.usd_per_correct for k, r in rows.items() if r.outcome}
    assert usd["right"] is not None
    assert usd["cheap"] is not None
    assert usd["right"] < usd["cheap"]  # … but dearer per right answer
    assert rows["right"].pareto
    assert not rows["cheap"].pareto
    assert rows["right"].variant == VARIANT
