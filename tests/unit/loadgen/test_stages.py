"""--stages and --ramp: the forms they accept, and one-line refusals for the rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenbench.errors import ConfigError
from tokenbench.loadgen.stages import Stage, parse_stages, ramp_stages


def test_back_to_back_stages_with_rates_and_concurrencies() -> None:
    assert parse_stages("30s@1rps,60s@4rps") == (
        Stage(30.0, rate_rps=1.0),
        Stage(60.0, rate_rps=4.0),
    )
    assert parse_stages("30s@c2, 30s@8c") == (
        Stage(30.0, concurrency=2),
        Stage(30.0, concurrency=8),
    )
    assert parse_stages("10s@2.5 req/s")[0].rate_rps == 2.5


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("2s", 2.0), ("2", 2.0), ("1.5m", 90.0), ("2m", 120.0), ("1h", 3600.0)],
)
def test_duration_units(text: str, seconds: float) -> None:
    (stage,) = parse_stages(f"{text}@c1")
    assert stage.duration_s == pytest.approx(seconds)


def test_levels_read_back_as_labels() -> None:
    rate, conc = parse_stages("1s@4rps,1s@c8")
    assert (rate.level, conc.level) == ("4 req/s", "c8")


def test_explicit_windows_carry_their_start() -> None:
    first, second = parse_stages("0-30s@1rps,30-60s@c4")
    assert (first.start_s, first.duration_s, first.rate_rps) == (0.0, 30.0, 1.0)
    assert (second.start_s, second.duration_s, second.concurrency) == (30.0, 30.0, 4)
    gap = parse_stages("0-1m@c1,2m-3m@c2")  # a gap between windows is allowed
    assert (gap[1].start_s, gap[1].duration_s) == (120.0, 60.0)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0-30s@1rps,20-60s@c4", "must not overlap"),
        ("0s@c1", "positive length"),
        ("10-10s@c1", "positive length"),
        ("0-30s@c1,30s@c2", "not a mix"),
        ("30s@fast", "not a level"),
        ("30s@c0", "at least 1"),
        ("30s@0rps", "positive"),
        ("thirty@c1", "not a duration"),
        ("30s", "DURATION@LEVEL"),
        ("", "empty"),
        (" , ", "empty"),
    ],
)
def test_bad_stages_are_one_line(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_stages(text)
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    assert message.startswith("--stages")


def test_ramp_spreads_levels_evenly() -> None:
    stages = ramp_stages("1rps:9rps@60s", 5)
    assert [s.rate_rps for s in stages] == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert all(s.duration_s == pytest.approx(12.0) for s in stages)
    assert all(s.concurrency is None for s in stages)
    conc = ramp_stages("c1:c16@2m", 4)
    assert [s.concurrency for s in conc] == [1, 6, 11, 16]
    assert sum(s.duration_s for s in conc) == pytest.approx(120.0)
    assert [s.concurrency for s in ramp_stages("c8:c2@4s", 2)] == [8, 2]  # down is fine


@pytest.mark.parametrize(
    ("text", "steps", "words"),
    [
        ("1rps:c8@60s", 5, "not one of each"),
        ("1rps:8rps@60s", 1, "--ramp-steps must be at least 2"),
        ("1rps:8rps", 5, "FROM:TO@DURATION"),
        ("1rps@60s", 5, "FROM:TO@DURATION"),
        ("1rps:8rps@0s", 5, "positive length"),
        ("1rps:8rps@soon", 5, "not a duration"),
        ("1rps:lots@60s", 5, "not a level"),
    ],
)
def test_bad_ramps_are_one_line(text: str, steps: int, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        ramp_stages(text, steps)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


_levels = st.one_of(
    st.integers(1, 512).map(lambda c: (None, c)),
    st.integers(1, 10_000).map(lambda r: (r / 100, None)),
)


@given(st.lists(st.tuples(st.integers(1, 10_000), _levels), min_size=1, max_size=8))
def test_rendered_stages_parse_back(
    pairs: list[tuple[int, tuple[float | None, int | None]]],
) -> None:
    """Any positive (duration, level) list written as text reads back as the same stages."""
    text = ",".join(
        f"{ms}ms@" + (f"c{conc}" if rate is None else f"{rate!r}rps") for ms, (rate, conc) in pairs
    )
    expected = tuple(Stage(ms * 0.001, rate, conc) for ms, (rate, conc) in pairs)
    assert parse_stages(text) == expected
