"""Validity judged against what the run offered: the schedule it drew, and the steady window."""

from __future__ import annotations

from tokenbench.loadgen.plan import arrival_offsets_ns
from tokenbench.metrics.summary import summarize
from tokenbench.metrics.validity import ValidityRules, validity_reasons
from tokenbench.records import ErrorKind, RequestRecord

MS = 1_000_000
S = 1_000_000_000
RATE = 4.0
REQUESTS = 16


def _sent(index: int, scheduled_ns: int, send_ns: int) -> RequestRecord:
    first = send_ns + 5 * MS
    return RequestRecord(index=index, worker=0, slot=index, warmup=False, prompt_id="p",
                         scheduled_ns=scheduled_ns, send_ns=send_ns, first_token_ns=first,
                         chunk_ns=[first, first + MS], end_ns=first + 2 * MS, input_tokens=8,
                         output_tokens=2, tokens_from_usage=True, finish_reason="stop")  # fmt: skip


def _offered(offsets: list[int]) -> float:
    return (len(offsets) - 1) / ((offsets[-1] - offsets[0]) / S)


def _unlucky_schedule() -> list[int]:
    """The first seed whose Poisson draw offers well under the nominal rate (a short draw often
    does); the schedule is what the client should be judged by."""
    for seed in range(1000):
        offsets = arrival_offsets_ns(REQUESTS, RATE, "poisson", 1.0, seed)
        if _offered(offsets) < 0.75 * RATE:
            return offsets
    raise AssertionError("no seed offered under 75% of the nominal rate")


def test_a_client_that_kept_to_an_unlucky_schedule_is_valid() -> None:
    offsets = _unlucky_schedule()
    records = [_sent(i, t, t + MS) for i, t in enumerate(offsets)]  # each left 1 ms late
    m = summarize(records, open_loop=True)
    assert m.offered_rate_rps is not None
    assert m.offered_rate_rps < 0.9 * RATE  # the nominal-rate rule would have failed it
    assert validity_reasons(m, ValidityRules(), None, RATE) == []


def test_a_client_that_fell_behind_its_schedule_is_invalid() -> None:
    offsets = _unlucky_schedule()
    stretch = 1.5  # every send slips further behind: the client could not keep up
    records = [_sent(i, t, int(t * stretch)) for i, t in enumerate(offsets)]
    m = summarize(records, open_loop=True)
    reasons = validity_reasons(m, ValidityRules(), None, RATE)
    assert any("its schedule offered" in r for r in reasons), reasons
    assert any("behind their schedule" in r for r in reasons), reasons


def test_a_constant_lag_past_the_limit_is_invalid() -> None:
    rules = ValidityRules()
    late_ns = int(2 * rules.max_schedule_lag_ms * MS)
    offsets = arrival_offsets_ns(REQUESTS, RATE, "constant", 1.0, 0)
    records = [_sent(i, t, t + late_ns) for i, t in enumerate(offsets)]
    reasons = validity_reasons(summarize(records, open_loop=True), rules, None, RATE)
    assert [r for r in reasons if "behind their schedule" in r], reasons


def test_one_stuck_request_makes_the_run_invalid_and_names_the_stragglers() -> None:
    ok, within_s, stuck_s = 99, 60.0, 300.0
    records = [_sent(i, 0, int(i * within_s * S / ok)) for i in range(ok)]
    stuck = RequestRecord(index=ok, worker=0, slot=0, warmup=False, prompt_id="p",
                          scheduled_ns=0, send_ns=0, end_ns=int(stuck_s * S),
                          error_kind=ErrorKind.TIMEOUT)  # fmt: skip
    m = summarize([*records, stuck])
    assert m.error_rate is not None
    assert m.error_rate < ValidityRules().max_error_rate  # errors alone would pass it
    reasons = validity_reasons(m, ValidityRules(), None)
    assert len(reasons) == 1
    assert reasons[0].startswith("stragglers")
    assert m.steady_output_throughput_tok_per_s is not None
    assert m.output_throughput_tok_per_s is not None
    assert m.steady_output_throughput_tok_per_s > m.output_throughput_tok_per_s
    loose = ValidityRules(max_tail_share=1.0)
    assert validity_reasons(m, loose, None) == []


def test_an_old_envelope_without_an_offered_rate_is_judged_by_the_nominal_rate() -> None:
    offsets = _unlucky_schedule()
    records = [_sent(i, t, t) for i, t in enumerate(offsets)]
    m = summarize(records, open_loop=True).model_copy(update={"offered_rate_rps": None})
    reasons = validity_reasons(m, ValidityRules(), None, RATE)
    assert any("requested (under 90%)" in r for r in reasons)
