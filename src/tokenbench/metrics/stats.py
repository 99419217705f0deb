"""Order statistics over samples: percentiles (linear interpolation) and distribution summaries."""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict


class Distribution(BaseModel):
    """Summary of one latency-like quantity over the measured requests, in its unit (ms)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    min: float
    max: float
    stdev: float


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float:
    """The q-th percentile (0-100), interpolating linearly between ranks (numpy's default), so
    p50 of [1, 2] is 1.5."""
    if len(values) == 0:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} outside 0-100")
    return float(np.percentile(values, q))


def distribution(values: Sequence[float] | array[float]) -> Distribution | None:
    """Summarise values; None when there are none (the caller records why). Sorted first, so
    the result does not depend on the order the values came in (records arrive in completion
    order; a verifier reads them back in file order)."""
    if not values:
        return None
    ordered = np.sort(np.asarray(values, dtype=float))
    n = len(ordered)
    mean = math.fsum(ordered) / n
    var = math.fsum((ordered - mean) ** 2) / (n - 1) if n > 1 else 0.0
    p50, p90, p99 = (float(v) for v in np.percentile(ordered, (50, 90, 99)))
    return Distribution(
        count=n,
        mean=mean,
        p50=p50,
        p90=p90,
        p99=p99,
        min=float(ordered[0]),
        max=float(ordered[-1]),
        stdev=math.sqrt(var),
    )
