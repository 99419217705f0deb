"""Run-level inference: its false-positive rate is at most nominal, and it has power."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tokenbench.metrics.inference import holm, run_level_difference

SIMULATIONS = 2000


def _runs(rng: np.random.Generator, n: int, spread: float, scale: float = 1.0) -> list[float]:
    """Per-run values of a server whose speed drifts between runs by `spread` (lognormal)."""
    return list(100.0 * scale * np.exp(rng.normal(0.0, spread, size=n)))


@pytest.mark.parametrize("runs", [2, 3, 5])
def test_aa_false_positive_rate_is_at_most_nominal(runs: int) -> None:
    rng = np.random.default_rng(runs)
    hits = sum(
        run_level_difference(_runs(rng, runs, 0.03), _runs(rng, runs, 0.03)).significant
        for _ in range(SIMULATIONS)
    )
    rate = hits / SIMULATIONS
    # 5% nominal; three binomial standard errors of slack for the finite simulation
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / SIMULATIONS)


def test_power_at_ten_percent_with_five_runs_a_side() -> None:
    rng = np.random.default_rng(7)
    found = sum(
        run_level_difference(_runs(rng, 5, 0.03), _runs(rng, 5, 0.03, 1.10)).significant
        for _ in range(SIMULATIONS)
    )
    assert found / SIMULATIONS >= 0.8


def test_the_interval_covers_the_true_ratio() -> None:
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(SIMULATIONS):
        d = run_level_difference(_runs(rng, 4, 0.05), _runs(rng, 4, 0.05, 1.2))
        assert d.ci_low is not None
        assert d.ci_high is not None
        covered += d.ci_low <= 0.2 <= d.ci_high
    assert covered / SIMULATIONS >= 0.95 - 3 * math.sqrt(0.05 * 0.95 / SIMULATIONS)


def test_one_run_a_side_gives_the_difference_and_no_test() -> None:
    d = run_level_difference([100.0], [103.1])
    assert d.relative == pytest.approx(0.031)
    assert not d.tested
    assert not d.significant
    assert d.too_few_runs
    assert d.why_no_test == "1 run each"
    assert run_level_difference([100.0, 101.0], [103.0]).why_no_test == "2 vs 1 runs"


def test_geometric_means_and_the_ratio() -> None:
    d = run_level_difference([100.0, 400.0], [200.0, 800.0])
    assert d.a == pytest.approx(200.0)
    assert d.b == pytest.approx(400.0)
    assert d.relative == pytest.approx(1.0)


def test_no_spread_is_untested_and_non_positive_values_are_refused() -> None:
    d = run_level_difference([5.0, 5.0], [6.0, 6.0])
    assert not d.tested
    assert not d.too_few_runs
    with pytest.raises(ValueError, match="positive"):
        run_level_difference([0.0, 1.0], [1.0, 2.0])


def test_holm_adjusts_step_down_and_keeps_order() -> None:
    base = run_level_difference([100.0, 101.0, 99.0], [150.0, 151.0, 149.0])
    untested = run_level_difference([1.0], [2.0])
    ps = [0.01, 0.04, 0.03]
    family = [base.__class__(**{**_fields(base), "p_value": p}) for p in ps] + [untested]
    out = holm(family)
    assert [d.family for d in out] == [3, 3, 3, 3]
    # sorted 0.01, 0.03, 0.04 → ×3, ×2, ×1 with a running maximum
    assert out[0].p_adjusted == pytest.approx(0.03)
    assert out[2].p_adjusted == pytest.approx(0.06)
    assert out[1].p_adjusted == pytest.approx(0.06)
    assert out[3].p_adjusted is None
    assert out[0].significant
    assert not out[1].significant


def _fields(d: object) -> dict[str, object]:
    return {name: getattr(d, name) for name in d.__slots__}  # type: ignore[attr-defined]
