"""`bench cost` with evals: each eval's price of a right answer, in JSON and in the table."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson

from tests.support.eval_envelopes import items, loaded_eval
from tests.unit.compare.test_quality import loaded_run
from tests.unit.render.test_fit import _text
from tokenbench.corpus.loader import Corpus
from tokenbench.pricing.cost_views import cost_report_view
from tokenbench.pricing.selfhost import SelfHostPricing
from tokenbench.pricing.view import cost_view
from tokenbench.render.json import to_json


def test_cost_prices_each_right_answer_and_says_why_a_figure_is_missing(tmp_path: Path) -> None:
    ev = loaded_eval(tmp_path, "m", items([True, True, False, False]))
    run = loaded_run("m", 2.0, ev.predicate.hardware.fingerprint)
    orphan = loaded_eval(tmp_path, "n", items([True, False]))  # no run of its setup
    pricing = SelfHostPricing(gpu_hourly_usd=Decimal("2.5"))
    view = cost_report_view(cost_view(Corpus(runs=[run], evals=[ev, orphan]), pricing, [],
                                      Decimal("0.75")))  # fmt: skip
    doc = orjson.loads(to_json(view))
    by_model = {o["model_id"]: o for o in doc["outcomes"]}
    m = by_model["m"]["per_correct"]
    assert (m["correct"], m["answers"]) == (2, 4)
    assert m["speed_run_id"] == run.predicate.run_id
    tok_s = run.predicate.metrics.output_throughput_tok_per_s
    assert tok_s is not None
    assert m["seconds_per_correct"] == ev.predicate.metrics.output_tokens_total / tok_s / 2
    assert m["usd_per_correct"] > 0
    assert "joules_per_correct" in m["reasons"]  # the run measured no energy
    n = by_model["n"]["per_correct"]
    assert n["speed_run_id"] is None  # its own requests' speed, and no run to price
    assert n["at"] == "eval, concurrency 1"
    text = _text(view, 160)
    assert "per correct answer" in text
    assert "Self $/correct" in text
    assert "no joules_per_correct" in text
