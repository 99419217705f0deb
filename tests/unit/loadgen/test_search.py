"""--find-max-rate reports what the highest passing probe's schedule offered, not only its label."""

from __future__ import annotations

from tests.support.envelopes import minimal_statement
from tokenbench.envelope.schema import RunPredicate
from tokenbench.loadgen.search import RateSearch


def _probe(offered_rps: float, valid: bool) -> RunPredicate:
    body = minimal_statement()["predicate"]
    body["metrics"]["offered_rate_rps"] = offered_rps
    body["validity"] = {"valid": valid, "reasons": [] if valid else ["too slow"]}
    return RunPredicate.model_validate(body)


def test_the_answer_gives_the_offered_rate_of_the_highest_passing_probe() -> None:
    search = RateSearch(slo={})
    draws = {1.0: 1.27, 2.0: 2.54, 4.0: 5.08}  # an unlucky seed offers 1.27x at every rate
    for nominal, offered in draws.items():
        rate = search.next_rate()
        assert rate == nominal
        search.record(rate, _probe(offered, valid=nominal < max(draws)))
    best = max(r for r in draws if r < max(draws))
    assert search.passed_rps == best
    assert search.passed_offered_rps == draws[best]
    assert f"schedule offered {draws[best]:.4g} req/s" in search.answer()
