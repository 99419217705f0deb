"""Verification reads `distributions` and `unmeasured` as open maps: an envelope is held to the
figures it states, not to metrics a later tool adds."""

from __future__ import annotations

from tokenbench.envelope.verify import differing_fields
from tokenbench.metrics.stats import distribution


def _dist(values: list[float]) -> dict[str, object]:
    d = distribution(values)
    assert d is not None
    return d.model_dump(mode="json")


def test_a_metric_the_envelope_never_stated_is_not_held_against_it() -> None:
    stated = {"distributions": {"a_ms": _dist([1.0, 2.0])}, "unmeasured": {"x": "why"}}
    recomputed = {
        "distributions": {"a_ms": _dist([1.0, 2.0]), "new_ms": _dist([3.0])},
        "unmeasured": {"x": "why", "new_reason": "later tool"},
    }
    assert differing_fields(stated, recomputed) == []


def test_a_stated_figure_that_changed_or_vanished_still_fails() -> None:
    stated = {"distributions": {"a_ms": _dist([1.0, 2.0])}, "unmeasured": {"x": "why"}}
    changed = {"distributions": {"a_ms": _dist([1.0, 9.0])}, "unmeasured": {"x": "why"}}
    assert differing_fields(stated, changed) == ["distributions"]
    vanished = {"distributions": {}, "unmeasured": {}}
    assert differing_fields(stated, vanished) == ["distributions", "unmeasured"]
    closed = {"errors_by_kind": {"http_503": 1}}
    assert differing_fields(closed, {"errors_by_kind": {"http_503": 1, "timeout": 1}}) == [
        "errors_by_kind"
    ]
