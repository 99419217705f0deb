"""--duration keeps the load up for that long: a time-bound plan is generated as it is sent
(closed and open loop, split or not), the request count is a cap only when --requests is given,
the default warmup is capped, and the prompts built for a point are bounded however long it
runs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tokenbench.envelope.schema import LoadInfo
from tokenbench.errors import ConfigError
from tokenbench.loadgen.plan import arrival_offsets_ns, closed_loop_plan, open_loop_plan, split
from tokenbench.loadgen.points import LoadPoint
from tokenbench.loadgen.sweep import (
    DEFAULT_WARMUP_MAX,
    PROMPT_POOL_MAX,
    RunSettings,
    _bounds,
    _prompt_count,
)
from tokenbench.loadgen.worker import Window
from tokenbench.records import RequestRecord
from tokenbench.suites.suite import load_suite
from tokenbench.workloads.sources import Calibration

SUITE = load_suite("llm.inference.chatbot-short")
CAL = Calibration("synthetic", 128, 121, 7, None, ())


def _settings(**kw: object) -> RunSettings:
    return RunSettings(suite=SUITE, output=Path("unused"), **kw)  # type: ignore[arg-type]


def test_a_time_bound_closed_loop_plan_has_no_request_count_and_cycles_its_prompts() -> None:
    prompts = 5
    plan = closed_loop_plan(prompts, None, 2, concurrency=4, duration_s=3600.0)
    assert plan.measured_count is None
    assert plan.planned_requests is None
    many = prompts * 1000
    first = list(itertools.islice(plan.iter_measured(), many))
    assert [r.index for r in first] == list(range(2, 2 + many))  # after the 2 warmup requests
    assert {r.prompt_index for r in first} == set(range(prompts))
    with pytest.raises(ValueError, match="bounded by time"):
        _ = plan.measured  # no finite list to materialise


def test_a_huge_request_cap_costs_nothing_up_front() -> None:
    huge = 10**12  # a list of this many requests could never be built
    plan = closed_loop_plan(8, huge, 0, concurrency=2, duration_s=60.0)
    assert plan.planned_requests == huge
    assert next(plan.iter_measured()).index == 0


def test_a_time_bound_open_loop_schedule_is_drawn_as_it_is_sent() -> None:
    rate, duration = 50.0, 3600.0
    plan = open_loop_plan(4, None, 0, rate, "poisson", seed=5, duration_s=duration)
    n = 1000
    drawn = [r.offset_ns for r in itertools.islice(plan.iter_measured(), n)]
    assert drawn == arrival_offsets_ns(n, rate, "poisson", 1.0, 5)
    assert plan.scheduled_requests(n) == n  # counting stops at the limit asked for
    short = open_loop_plan(4, None, 0, rate, "constant", duration_s=2.0)
    assert short.scheduled_requests(10**9) == pytest.approx(rate * 2.0, abs=1)
    assert short.offered_rate_rps == pytest.approx(rate)


@pytest.mark.parametrize("workers", [2, 3])
def test_a_time_bound_plan_splits_into_disjoint_interleaved_shares(workers: int) -> None:
    plan = open_loop_plan(7, None, 3, 20.0, seed=2, max_concurrency=6, duration_s=600.0)
    shares = split(plan, workers)
    k = 300
    one = list(itertools.islice(plan.iter_measured(), k))
    merged = sorted(
        (r.index, r.offset_ns, r.prompt_index)
        for s in shares
        for r in itertools.takewhile(lambda r: r.index < one[-1].index + 1, s.iter_measured())
    )
    assert merged == [(r.index, r.offset_ns, r.prompt_index) for r in one]
    assert all(s.planned_requests is None for s in shares)


def test_a_plan_needs_a_count_or_a_duration() -> None:
    with pytest.raises(ConfigError, match="--requests or --duration"):
        closed_loop_plan(1, None, 0, 1)


def test_duration_lifts_the_suites_request_count_unless_requests_is_given() -> None:
    point = LoadPoint(4)
    assert _bounds(_settings(), point, CAL).requests == SUITE.workload.prompts
    timed = _bounds(_settings(duration_s=15.0), point, CAL)
    assert timed.requests is None
    assert timed.duration_s == 15.0
    both = _bounds(_settings(duration_s=15.0, requests=7), point, CAL)
    assert (both.requests, both.duration_s) == (7, 15.0)  # whichever ends first


def test_a_probe_is_bounded_by_its_own_duration() -> None:
    probe = LoadPoint(64, 8.0, duration_s=12.5)
    b = _bounds(_settings(requests=40), probe, CAL)
    assert (b.requests, b.duration_s) == (None, 12.5)


def test_the_default_warmup_is_capped_and_says_so() -> None:
    many = DEFAULT_WARMUP_MAX * 4
    b = _bounds(_settings(), LoadPoint(many), CAL)
    assert b.warmup == b.warmup_capped_at == DEFAULT_WARMUP_MAX
    small = _bounds(_settings(), LoadPoint(3), CAL)
    assert (small.warmup, small.warmup_capped_at) == (3, None)
    chosen = _bounds(_settings(warmup=many), LoadPoint(many), CAL)
    assert (chosen.warmup, chosen.warmup_capped_at) == (many, None)  # asked for: not capped


def test_the_prompts_built_for_a_point_are_bounded() -> None:
    point = LoadPoint(4)
    few = _bounds(_settings(requests=10), point, CAL)
    assert _prompt_count(_settings(requests=10), point, few) == 10 + few.warmup  # one each
    for settings in (_settings(duration_s=3600.0), _settings(requests=10**9, duration_s=60.0)):
        assert _prompt_count(settings, point, _bounds(settings, point, CAL)) == PROMPT_POOL_MAX
    rate = LoadPoint(64, 2.0)
    timed = _settings(duration_s=5.0, arrival="constant")
    b = _bounds(timed, rate, CAL)
    assert _prompt_count(timed, rate, b) <= b.warmup + 2.0 * 5.0 + 1  # what the schedule sends


def test_labels_name_the_swept_quantity() -> None:
    assert LoadPoint(64, 2.5).label == "2.5 req/s"
    assert LoadPoint(1, None, 1024).label == "input 1024 tokens"
    assert LoadPoint(2, None, 1024).label == "input 1024 tokens, concurrency 2"
    assert LoadPoint(4).label == "concurrency 4"
    base = {"concurrency": 64, "requests": None, "warmup_requests": 0, "duration_limit_s": 1.0,
            "timeout_s": 1.0, "seed": 0}  # fmt: skip
    assert LoadInfo(**base, rate_rps=3.0).label == "3 req/s"  # type: ignore[arg-type]
    assert LoadInfo(**{**base, "concurrency": 1}, input_length=256).label == "input 256 tokens"  # type: ignore[arg-type]


def _sent(index: int, send_ns: int | None) -> RequestRecord:
    record = RequestRecord(
        index=index, worker=0, slot=index, warmup=False, prompt_id="p", scheduled_ns=0
    )
    record.send_ns = send_ns
    return record


def test_a_closed_loops_window_starts_at_its_earliest_send_and_ends_by_the_records_stamps() -> None:
    anchor, start, length = 1_000, 2_000, 2_000_000_000
    window = Window(length, start, cooldown_ns=500_000_000)
    assert not window.ended(None)  # no response yet
    # records finish out of order: a later send finishing first sets the end, an earlier one
    # finishing after pulls it back to the earliest send
    window.begin(_sent(1, 9_000_000), anchor)
    assert window.end_ns == anchor + 9_000_000 + length
    window.begin(_sent(0, 7_000_000), anchor)  # sent 7 ms after the anchor
    window.begin(_sent(2, 12_000_000), anchor)
    end = anchor + 7_000_000 + length
    assert window.end_ns == end
    assert not window.ended(end - 1)
    assert window.ended(end)  # a response ending at `end` is enough
    # the cooldown is timed from the phase's start, like the energy window
    assert not window.cooling(start + length - 500_000_001)
    assert window.cooling(start + length - 500_000_000)
    assert not Window(None, start).ended(10**15)  # bounded by the request count only


def test_a_window_whose_sends_all_failed_ends_at_the_phases_start_plus_its_length() -> None:
    start, length = 5_000, 1_000_000_000
    window = Window(length, start)
    window.begin(_sent(0, None), 0)  # timed out before its bytes left: no send stamp
    assert window.end_ns is None
    assert not window.ended(start + length - 1)
    assert window.ended(start + length)
