"""--repeat / --interleave: the order points run in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenbench.errors import ConfigError
from tokenbench.loadgen.sweep import RunSettings, repeat_order
from tokenbench.suites import load_suite

POINTS = [(1, None, None), (2, None, None), (4, None, None)]


def _settings(repeat: int, interleave: bool) -> RunSettings:
    suite = load_suite("llm.inference.chatbot-short")
    return RunSettings(suite=suite, output=Path("."), repeat=repeat, interleave=interleave)


def test_repeats_run_back_to_back_by_default() -> None:
    order = repeat_order(POINTS, _settings(2, False))
    assert [(i, c) for i, (c, _r, _n) in order] == [(0, 1), (1, 1), (0, 2), (1, 2), (0, 4), (1, 4)]


def test_interleave_alternates_the_direction_each_round() -> None:
    order = repeat_order(POINTS, _settings(3, True))
    assert [c for _i, (c, _r, _n) in order] == [1, 2, 4, 4, 2, 1, 1, 2, 4]
    assert [i for i, _p in order] == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_one_run_is_the_plain_sweep_and_zero_is_refused() -> None:
    assert repeat_order(POINTS, _settings(1, False)) == [(0, p) for p in POINTS]
    with pytest.raises(ConfigError, match="--repeat"):
        repeat_order(POINTS, _settings(0, False))
