"""A replayed trace's plan: each measured request at its recorded send time, with its labels."""

from __future__ import annotations

import pytest

from tokenbench.errors import ConfigError
from tokenbench.loadgen.plan import trace_plan

OFFSETS = (0, 150_000_000, 300_000_000, 1_000_000_000, 1_150_000_000)
# (session, turn, the session's turns in the trace)
LABELS = ((0, 0, 2), (1, 0, 2), (None, None, None), (0, 1, 2), (1, 1, 2))


def test_measured_request_i_goes_at_offset_i_with_its_labels() -> None:
    warmup = 2
    plan = trace_plan(warmup + len(OFFSETS), warmup, OFFSETS, LABELS, cap=16)
    measured = plan.measured
    assert [r.offset_ns for r in measured] == list(OFFSETS)
    assert [(r.session, r.turn, r.session_turns) for r in measured] == list(LABELS)
    assert [r.prompt_index for r in measured] == [warmup + i for i in range(len(OFFSETS))]
    assert [r.index for r in measured] == [warmup + i for i in range(len(OFFSETS))]
    assert not any(r.warmup for r in measured)
    assert plan.concurrency == 16
    assert plan.measured_count == len(OFFSETS)


def test_warmup_runs_on_its_own_prompts() -> None:
    warmup = 3
    plan = trace_plan(warmup + len(OFFSETS), warmup, OFFSETS, LABELS, cap=4)
    assert [r.prompt_index for r in plan.warmup] == list(range(warmup))
    assert all(r.warmup and r.offset_ns is None for r in plan.warmup)
    used_by_warmup = {r.prompt_index for r in plan.warmup}
    assert used_by_warmup.isdisjoint(r.prompt_index for r in plan.measured)


def test_no_warmup_starts_measuring_at_prompt_zero() -> None:
    plan = trace_plan(len(OFFSETS), 0, OFFSETS, LABELS, cap=4)
    assert plan.warmup == ()
    assert [r.prompt_index for r in plan.measured] == list(range(len(OFFSETS)))


def test_offered_rate_is_the_traces_own() -> None:
    plan = trace_plan(len(OFFSETS), 0, OFFSETS, LABELS, cap=4)
    span_s = (OFFSETS[-1] - OFFSETS[0]) / 1e9
    expected = (len(OFFSETS) - 1) / span_s
    assert plan.rate_rps == pytest.approx(expected)
    assert plan.offered_rate_rps == pytest.approx(expected)
    assert plan.schedule is not None
    assert plan.schedule.arrival == "trace"
    assert plan.schedule.explicit_ns == OFFSETS


def test_duration_bounds_what_is_sent() -> None:
    plan = trace_plan(len(OFFSETS), 0, OFFSETS, LABELS, cap=4, duration_s=0.5)
    assert plan.scheduled_requests(100) == sum(1 for o in OFFSETS if o < 0.5e9)


def test_an_empty_trace_is_refused() -> None:
    with pytest.raises(ConfigError, match="no requests"):
        trace_plan(1, 0, (), (), cap=4)
