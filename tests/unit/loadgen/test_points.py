"""Load points: --repeat / --interleave order, repeat groups, point names, and the rate search
as a point source."""

from __future__ import annotations

import pytest

from tokenbench.errors import ConfigError
from tokenbench.loadgen.points import LoadPoint, SearchPoints, fixed_points, repeat_order
from tokenbench.loadgen.search import RateSearch

POINTS = [(1, None, None), (2, None, None), (4, None, None)]


def test_repeats_run_back_to_back_by_default() -> None:
    order = repeat_order(POINTS, 2, False)
    assert [(i, c) for i, (c, _r, _n) in order] == [(0, 1), (1, 1), (0, 2), (1, 2), (0, 4), (1, 4)]


def test_interleave_alternates_the_direction_each_round() -> None:
    order = repeat_order(POINTS, 3, True)
    assert [c for _i, (c, _r, _n) in order] == [1, 2, 4, 4, 2, 1, 1, 2, 4]
    assert [i for i, _p in order] == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_one_run_is_the_plain_sweep_and_zero_is_refused() -> None:
    assert repeat_order(POINTS, 1, False) == [(0, p) for p in POINTS]
    with pytest.raises(ConfigError, match="--repeat"):
        repeat_order(POINTS, 0, False)


def test_fixed_points_share_a_repeat_group_per_point() -> None:
    source = fixed_points(POINTS[:2], 2, True, "SWEEP")
    seen = []
    while (point := source.next_point()) is not None:
        seen.append(point)
    assert [p.name for p in seen] == ["c1-rep0", "c2-rep0", "c2-rep1", "c1-rep1"]
    groups: dict[int, set[str]] = {}
    for p in seen:
        assert p.repeat is not None
        groups.setdefault(p.concurrency, set()).add(p.repeat.group)
    assert all(len(g) == 1 for g in groups.values())
    assert groups[1] != groups[2]
    single = fixed_points(POINTS[:1], 1, False, "S").next_point()
    assert single == LoadPoint(1)


def test_point_names() -> None:
    assert LoadPoint(4).name == "c4"
    assert LoadPoint(64, 2.5).name == "r2.5"
    assert LoadPoint(1, None, 1024).name == "in1024-c1"


def test_the_rate_search_is_a_point_source_under_one_cap() -> None:
    source = SearchPoints(RateSearch({"ttft_ms": 100.0}, start_rps=2.0), cap=16)
    first = source.next_point()
    assert first is not None
    # a probe is bounded by time (its steady-state duration), no longer by a request count
    assert (first.concurrency, first.rate_rps) == (16, 2.0)
    assert first.duration_s is not None
