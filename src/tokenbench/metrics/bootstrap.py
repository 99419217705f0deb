"""Bootstrap confidence intervals for the difference between two runs' statistics.

Requests are the unit of resampling (each side resampled independently), so a percentile's CI
reflects how much it would move with another draw of requests. Throughput has one value per run:
its CI needs repeated runs, and with one run per side it is a single observation with no CI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
_CHUNK = 250  # resamples drawn at once: bounds memory for large runs


@dataclass(frozen=True, slots=True)
class RelativeDifference:
    """(B − A) / A for a statistic, with a percentile-bootstrap CI (None for one observation)."""

    a: float
    b: float
    relative: float
    ci_low: float | None
    ci_high: float | None
    n_a: int
    n_b: int
    method: str  # "bootstrap" or "single observation"

    @property
    def significant(self) -> bool:
        return (
            self.ci_low is not None
            and self.ci_high is not None
            and (self.ci_low > 0 or self.ci_high < 0)
        )


def _stat(samples: np.ndarray, q: float | None, axis: int | None = None) -> np.ndarray:
    if q is None:
        return np.asarray(samples.mean(axis=axis))
    return np.asarray(np.percentile(samples, q, axis=axis))


def _resampled(values: np.ndarray, q: float | None, n: int, rng: np.random.Generator) -> np.ndarray:
    out = []
    for start in range(0, n, _CHUNK):
        k = min(_CHUNK, n - start)
        idx = rng.integers(0, len(values), size=(k, len(values)))
        out.append(_stat(values[idx], q, axis=1))
    return np.concatenate(out)


def bootstrap_relative_difference(
    a: Sequence[float],
    b: Sequence[float],
    q: float | None = 50.0,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> RelativeDifference:
    """Relative difference of the q-th percentile (or the mean when q is None) of B against A.

    With a single value on either side there is nothing to resample: the estimate is returned
    with no interval, marked a single observation.
    """
    va = np.asarray(a, dtype=float)
    vb = np.asarray(b, dtype=float)
    if len(va) == 0 or len(vb) == 0:
        raise ValueError("both sides need at least one value")
    sa, sb = float(_stat(va, q)), float(_stat(vb, q))
    if sa == 0:
        raise ValueError("the baseline statistic is zero: no relative difference")
    rel = (sb - sa) / sa
    if len(va) < 2 or len(vb) < 2:
        return RelativeDifference(sa, sb, rel, None, None, len(va), len(vb), "single observation")
    rng = np.random.default_rng(seed)
    ra = _resampled(va, q, resamples, rng)
    rb = _resampled(vb, q, resamples, rng)
    ra = np.where(ra == 0, np.nan, ra)
    diffs = (rb - ra) / ra
    diffs = diffs[np.isfinite(diffs)]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return RelativeDifference(sa, sb, rel, float(low), float(high), len(va), len(vb), "bootstrap")


def bootstrap_ci(
    values: Sequence[float], q: float = 50.0, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float] | None:
    """CI of one run's q-th percentile; None with fewer than two values."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return None
    r = _resampled(v, q, BOOTSTRAP_RESAMPLES, np.random.default_rng(seed))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(r, [tail, 100 - tail])
    return float(low), float(high)
