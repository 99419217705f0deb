from __future__ import annotations

import itertools
import statistics

import pytest

from tokenbench.errors import ConfigError
from tokenbench.loadgen.plan import arrival_offsets_ns, closed_loop_plan, open_loop_plan, split


def test_plan_puts_warmup_first_and_cycles_prompts() -> None:
    plan = closed_loop_plan(prompts=3, requests=5, warmup=2, concurrency=4)
    assert [r.warmup for r in plan.requests] == [True, True, False, False, False, False, False]
    assert [r.prompt_index for r in plan.measured] == [2, 0, 1, 2, 0]
    assert [r.index for r in plan.requests] == list(range(7))


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_split_preserves_every_request_and_the_concurrency(workers: int) -> None:
    plan = closed_loop_plan(prompts=4, requests=20, warmup=3, concurrency=5)
    shares = split(plan, workers)
    assert sum(s.concurrency for s in shares) == 5
    merged = sorted(r.index for s in shares for r in s.requests)
    assert merged == list(range(23))
    assert len(shares) == min(workers, 5)


def test_bad_plans_are_refused() -> None:
    with pytest.raises(ConfigError):
        closed_loop_plan(1, 1, 0, 0)
    with pytest.raises(ConfigError):
        closed_loop_plan(1, 0, 0, 1)
    with pytest.raises(ConfigError):
        split(closed_loop_plan(1, 1, 0, 1), 0)


def _gaps_s(offsets: list[int]) -> list[float]:
    return [(b - a) / 1e9 for a, b in itertools.pairwise(offsets)]


def _mean_cv(gaps: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(gaps)
    return mean, statistics.pstdev(gaps) / mean


@pytest.mark.parametrize(
    ("arrival", "burstiness", "cv"),
    [("constant", 1.0, 0.0), ("poisson", 1.0, 1.0), ("gamma", 0.25, 2.0), ("gamma", 4.0, 0.5)],
)
def test_arrivals_have_the_right_mean_and_dispersion(
    arrival: str, burstiness: float, cv: float
) -> None:
    offsets = arrival_offsets_ns(20_000, 8.0, arrival, burstiness, seed=3)
    mean, measured_cv = _mean_cv(_gaps_s(offsets))
    assert mean == pytest.approx(1 / 8.0, rel=0.03)
    assert measured_cv == pytest.approx(cv, abs=0.06)
    assert offsets[0] == 0
    assert offsets == sorted(offsets)


def test_schedule_is_seeded_and_survives_a_split() -> None:
    a = arrival_offsets_ns(100, 5.0, "poisson", 1.0, seed=1)
    assert a == arrival_offsets_ns(100, 5.0, "poisson", 1.0, seed=1)
    assert a != arrival_offsets_ns(100, 5.0, "poisson", 1.0, seed=2)
    plan = open_loop_plan(50, 40, 3, 5.0, seed=1, max_concurrency=8)
    assert plan.rate_rps == 5.0
    assert [r.offset_ns for r in plan.warmup] == [None] * 3
    assert [r.offset_ns for r in plan.measured] == arrival_offsets_ns(40, 5.0, "poisson", 1.0, 1)
    merged = sorted((r.index, r.offset_ns) for s in split(plan, 3) for r in s.requests)
    assert merged == sorted((r.index, r.offset_ns) for r in plan.requests)
    with pytest.raises(ConfigError):
        arrival_offsets_ns(1, 0.0, "poisson", 1.0, 0)
    with pytest.raises(ConfigError):
        arrival_offsets_ns(1, 1.0, "weibull", 1.0, 0)


def test_timed_warmup_cycles_its_own_prompts() -> None:
    plan = closed_loop_plan(prompts=7, requests=4, warmup=3, concurrency=3, warmup_s=1.0)
    assert plan.warmup_s == 1.0
    warm = plan.warmup
    assert len(warm) > 1000  # enough to last the time; the phase ends at the deadline
    assert {r.prompt_index for r in warm} == {0, 1, 2}
    assert [r.prompt_index for r in plan.measured] == [3, 4, 5, 6]  # never used by warmup
    assert len({r.index for r in plan.requests}) == len(plan.requests)


def test_cooldown_needs_a_duration() -> None:
    with pytest.raises(ConfigError, match="--cooldown needs --duration"):
        closed_loop_plan(1, 1, 0, 1, cooldown_s=1.0)
    with pytest.raises(ConfigError):
        closed_loop_plan(1, 1, 0, 1, duration_s=1.0, cooldown_s=2.0)
    assert closed_loop_plan(1, 1, 0, 1, duration_s=3.0, cooldown_s=1.0).cooldown_s == 1.0


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_split_keeps_the_time_bounds_and_the_whole_schedule(workers: int) -> None:
    timed = closed_loop_plan(50, 40, 4, 8, duration_s=5.0, warmup_s=1.0, cooldown_s=1.0)
    for share in split(timed, workers):
        assert (share.duration_s, share.warmup_s, share.cooldown_s) == (5.0, 1.0, 1.0)
    plan = open_loop_plan(100, 100, 4, rate_rps=20.0, seed=7, max_concurrency=16)
    one = sorted((r.index, r.offset_ns) for r in plan.measured)
    shares = split(plan, workers)
    assert all(s.rate_rps == 20.0 for s in shares)
    assert sum(s.concurrency for s in shares) == 16
    assert sorted((r.index, r.offset_ns) for s in shares for r in s.measured) == one


def test_warmup_never_indexes_past_the_prompts() -> None:
    plan = closed_loop_plan(1, 5, 4, 4)  # one prompt for everything
    assert {r.prompt_index for r in plan.requests} == {0}
