"""Pareto frontier: the points no other point beats on every axis at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Direction = Literal["max", "min"]


def _at_least_as_good(p: Sequence[float], q: Sequence[float], dirs: Sequence[Direction]) -> bool:
    return all(a >= b if d == "max" else a <= b for a, b, d in zip(p, q, dirs, strict=True))


def pareto_front(
    points: Sequence[Sequence[float | None]],
    directions: Sequence[Direction],
    eligible: Sequence[bool] | None = None,
) -> list[bool]:
    """For each point, whether it is on the frontier. A point with a missing value is never on
    it (it cannot be compared); equal points are all on it (neither dominates the other).
    `eligible`: False for a point that may not compete (an invalid run): it is never on the
    frontier and pushes no other point off it, as if absent."""
    if eligible is not None and len(eligible) != len(points):
        raise ValueError(f"{len(eligible)} eligibility flags for {len(points)} points")
    complete = [all(v is not None for v in p) and (eligible is None or bool(eligible[i]))
                for i, p in enumerate(points)]  # fmt: skip
    values = [[float(v) if v is not None else 0.0 for v in p] for p in points]
    out = []
    for i, p in enumerate(values):
        if not complete[i]:
            out.append(False)
            continue
        dominated = any(
            complete[j] and q != p and _at_least_as_good(q, p, directions)
            for j, q in enumerate(values)
            if j != i
        )
        out.append(not dominated)
    return out
