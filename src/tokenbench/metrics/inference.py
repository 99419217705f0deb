"""Run-level inference: is B different from A, with the run as the unit of evidence.

Each run contributes one value per metric (its throughput, its TTFT p50, …). Welch's t-test on
the logarithms of those values gives a confidence interval for the ratio B/A and a p-value;
Holm's step-down method then controls the family-wise error over every test one output makes.
Requests within a run are never treated as independent samples (docs/statistics.md says why).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

METHOD = "welch-t on log per-run values, Holm-adjusted"
DEFAULT_ALPHA = 0.05
MIN_RUNS = 2  # per side: with one run there is no run-to-run variance to estimate


@dataclass(frozen=True, slots=True)
class RunLevelDifference:
    """B against A for one metric: geometric means of the per-run values, the ratio's
    confidence interval and p-value (None with fewer than MIN_RUNS a side, or no spread)."""

    a: float  # geometric mean over A's runs
    b: float
    relative: float  # b / a − 1
    ci_low: float | None  # of `relative`, at 1 − alpha (unadjusted)
    ci_high: float | None
    p_value: float | None
    n_a: int  # runs
    n_b: int
    p_adjusted: float | None = None  # Holm, over the family this difference was tested in
    family: int = 1  # tests in that family
    alpha: float = DEFAULT_ALPHA
    why_no_test: str | None = None  # set when p_value is None
    too_few_runs: bool = False  # under MIN_RUNS a side: more runs would allow a test
    # The client's measured timing error for this metric (ms, p99, the larger side's): a
    # difference of the means smaller than it is never significant, whatever the test says.
    error_budget_ms: float | None = None

    @property
    def tested(self) -> bool:
        return self.p_value is not None

    @property
    def p_significant(self) -> bool:
        """The test alone (Holm-adjusted where adjusted) rejects equality."""
        p = self.p_adjusted if self.p_adjusted is not None else self.p_value
        return p is not None and p < self.alpha

    @property
    def within_error_budget(self) -> bool:
        budget = self.error_budget_ms
        return budget is not None and abs(self.b - self.a) < budget

    @property
    def significant(self) -> bool:
        return self.p_significant and not self.within_error_budget


def _geomean(logs: np.ndarray) -> float:
    return float(math.exp(float(logs.mean())))


def run_level_difference(
    a: Sequence[float], b: Sequence[float], alpha: float = DEFAULT_ALPHA
) -> RunLevelDifference:
    """Welch's t on log values. Needs at least one positive value a side (ValueError
    otherwise); a test needs MIN_RUNS a side and some spread between runs."""
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(va) == 0 or len(vb) == 0:
        raise ValueError("both sides need at least one run")
    if (va <= 0).any() or (vb <= 0).any():
        raise ValueError("a ratio needs positive values")
    la, lb = np.log(va), np.log(vb)
    ga, gb = _geomean(la), _geomean(lb)
    base = RunLevelDifference(ga, gb, gb / ga - 1, None, None, None, len(va), len(vb), alpha=alpha)
    if len(va) < MIN_RUNS or len(vb) < MIN_RUNS:
        runs = "1 run each" if len(va) == len(vb) == 1 else f"{len(va)} vs {len(vb)} runs"
        return replace(base, why_no_test=runs, too_few_runs=True)
    diff = float(lb.mean() - la.mean())
    var_a, var_b = float(la.var(ddof=1)) / len(la), float(lb.var(ddof=1)) / len(lb)
    se = math.sqrt(var_a + var_b)
    if se == 0:
        return replace(base, why_no_test="every run gave the same value")
    # Welch–Satterthwaite degrees of freedom (a zero-variance side contributes nothing)
    denom = sum(v * v / (n - 1) for v, n in ((var_a, len(la)), (var_b, len(lb))) if v > 0)
    df = (var_a + var_b) ** 2 / denom
    t = diff / se
    # imported here: scipy takes half a second to load, and most commands never test
    from scipy import stats

    p = float(2 * stats.t.sf(abs(t), df))
    half = float(stats.t.ppf(1 - alpha / 2, df)) * se
    return replace(
        base, ci_low=math.exp(diff - half) - 1, ci_high=math.exp(diff + half) - 1, p_value=p
    )


def holm(differences: Sequence[RunLevelDifference]) -> list[RunLevelDifference]:
    """Holm-adjusted p-values over the tested differences (untested ones pass through); every
    difference learns the family size."""
    tested = sorted(
        (i for i, d in enumerate(differences) if d.p_value is not None),
        key=lambda i: differences[i].p_value or 0.0,
    )
    m = len(tested)
    out = [replace(d, family=m) for d in differences]
    running = 0.0
    for rank, i in enumerate(tested):
        p = differences[i].p_value
        assert p is not None
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = replace(out[i], p_adjusted=running)
    return out
