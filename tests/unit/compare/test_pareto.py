from __future__ import annotations

from tokenbench.compare.pareto import pareto_front


def test_dominated_points_are_off_the_frontier() -> None:
    # (throughput ↑, ttft ↓)
    points = [(100.0, 50.0), (120.0, 60.0), (90.0, 70.0), (120.0, 40.0)]
    assert pareto_front(points, ["max", "min"]) == [False, False, False, True]


def test_trade_offs_all_stay() -> None:
    points = [(100.0, 50.0), (150.0, 80.0), (200.0, 120.0)]
    assert pareto_front(points, ["max", "min"]) == [True, True, True]


def test_ties_are_all_on_the_frontier() -> None:
    points = [(100.0, 50.0), (100.0, 50.0), (90.0, 60.0)]
    assert pareto_front(points, ["max", "min"]) == [True, True, False]


def test_single_point_and_missing_values() -> None:
    assert pareto_front([(1.0, 2.0)], ["max", "min"]) == [True]
    assert pareto_front([(1.0, None), (0.5, 3.0)], ["max", "min"]) == [False, True]
    assert pareto_front([], ["max", "min"]) == []


def test_three_axes() -> None:
    # (throughput ↑, ttft ↓, J/tok ↓): the third axis rescues an otherwise dominated point
    points = [(100.0, 50.0, 2.0), (120.0, 40.0, 3.0), (90.0, 60.0, 2.5)]
    assert pareto_front(points, ["max", "min", "min"]) == [True, True, False]


def test_an_ineligible_point_neither_joins_nor_pushes_others_off() -> None:
    # the invalid run would dominate both others; without it both trade off
    points = [(100.0, 50.0), (150.0, 80.0), (200.0, 10.0)]
    everyone = pareto_front(points, ["max", "min"])
    assert everyone == [False, False, True]
    assert pareto_front(points, ["max", "min"], [True, True, False]) == [True, True, False]
