from __future__ import annotations

import random

import pytest

from tokenbench.metrics.bootstrap import bootstrap_ci, bootstrap_relative_difference


def _lognormal(n: int, seed: int, scale: float = 1.0) -> list[float]:
    rng = random.Random(seed)
    return [scale * 100 * rng.lognormvariate(0, 0.3) for _ in range(n)]


def test_identical_distributions_are_within_noise() -> None:
    a, b = _lognormal(300, 1), _lognormal(300, 2)
    d = bootstrap_relative_difference(a, b, q=50)
    assert d.method == "bootstrap"
    assert d.ci_low is not None
    assert d.ci_high is not None
    assert d.ci_low < 0 < d.ci_high
    assert not d.significant


def test_a_20_percent_shift_is_detected_with_its_sign() -> None:
    a = _lognormal(300, 3)
    slower = _lognormal(300, 4, scale=1.2)
    up = bootstrap_relative_difference(a, slower, q=50)
    assert up.significant
    assert up.ci_low is not None
    assert up.ci_low > 0
    assert up.relative == pytest.approx(0.2, abs=0.08)
    faster = _lognormal(300, 5, scale=0.8)
    down = bootstrap_relative_difference(a, faster, q=50)
    assert down.significant
    assert down.ci_high is not None
    assert down.ci_high < 0


def test_mean_and_p99() -> None:
    a = [10.0] * 50 + [20.0] * 50
    assert bootstrap_relative_difference(a, a, q=None).relative == 0.0
    assert bootstrap_relative_difference(a, [2 * x for x in a], q=99).relative == pytest.approx(1.0)


def test_single_observation_has_no_interval() -> None:
    d = bootstrap_relative_difference([100.0], [120.0], q=None)
    assert d.method == "single observation"
    assert d.ci_low is None
    assert d.relative == pytest.approx(0.2)
    assert not d.significant


def test_deterministic_for_a_seed_and_guarded() -> None:
    a, b = _lognormal(50, 6), _lognormal(50, 7)
    assert bootstrap_relative_difference(a, b) == bootstrap_relative_difference(a, b)
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_relative_difference([], [1.0])
    with pytest.raises(ValueError, match="zero"):
        bootstrap_relative_difference([0.0, 0.0], [1.0, 2.0])
    ci = bootstrap_ci(_lognormal(200, 8))
    assert ci is not None
    assert ci[0] < ci[1]
    assert bootstrap_ci([1.0]) is None
