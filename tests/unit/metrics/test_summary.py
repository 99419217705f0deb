"""Run summary definitions that changed with definitions 2: each test states what today's
figure is and what the older definition gave, so both stay reproducible for `bench verify`."""

from __future__ import annotations

import pytest

from tokenbench.metrics.latency import tpot_ms
from tokenbench.metrics.summary import DEFINITIONS, meets_slo, summarize
from tokenbench.records import ErrorKind, RequestRecord

MS = 1_000_000
S = 1_000_000_000


def _rec(
    index: int = 0,
    send_ns: int = 0,
    chunks: list[int] | None = None,
    end_ns: int | None = None,
    out: int | None = None,
    finish: str | None = "stop",
    scheduled_ns: int | None = None,
    cooldown: bool = False,
    error: ErrorKind | None = None,
) -> RequestRecord:
    chunk_ns = chunks if chunks is not None else [send_ns + 10 * MS]
    return RequestRecord(
        index=index,
        worker=0,
        slot=0,
        warmup=False,
        prompt_id="p",
        scheduled_ns=send_ns if scheduled_ns is None else scheduled_ns,
        send_ns=send_ns,
        first_token_ns=chunk_ns[0] if chunk_ns else None,
        chunk_ns=chunk_ns,
        end_ns=end_ns if end_ns is not None else (chunk_ns[-1] if chunk_ns else send_ns) + MS,
        input_tokens=8,
        output_tokens=len(chunk_ns) if out is None else out,
        tokens_from_usage=True,
        finish_reason=finish,
        cooldown=cooldown,
        error_kind=error,
    )


def test_a_one_token_answer_meets_a_tpot_limit() -> None:
    one = _rec(chunks=[5 * MS], out=1)
    assert tpot_ms(one) is None
    slo = {"tpot_ms": 1.0}
    assert meets_slo(one, slo)
    assert not meets_slo(one, slo, definitions=1)  # what the first definitions said
    assert summarize([one], slo=slo).slo_attainment == 1.0
    assert summarize([one], slo=slo, definitions=1).slo_attainment == 0.0


def test_a_slow_answer_still_misses_the_tpot_limit() -> None:
    slow = _rec(chunks=[5 * MS, 50 * MS, 95 * MS])
    tpot = tpot_ms(slow)
    assert tpot is not None
    assert not meets_slo(slow, {"tpot_ms": tpot / 2})


def _llama_server_eos(send_ns: int = 0, text_chunks: int = 4) -> RequestRecord:
    """As llama-server streams it: one token of text per chunk, then a finish chunk with no
    text, and usage counting the EOS token too."""
    chunks = [send_ns + (k + 1) * 10 * MS for k in range(text_chunks)]
    return _rec(send_ns=send_ns, chunks=chunks, out=text_chunks + 1, finish="stop")


def test_a_textless_eos_token_is_not_a_multi_token_chunk() -> None:
    records = [_llama_server_eos(), _llama_server_eos(send_ns=MS)]
    assert summarize(records).requests_multi_token_chunks == 0
    assert summarize(records, definitions=1).requests_multi_token_chunks == len(records)


def test_more_tokens_than_chunks_is_still_multi_token() -> None:
    chunks = [10 * MS, 20 * MS, 30 * MS]
    doubled = _rec(chunks=chunks, out=2 * len(chunks))
    cut = _rec(chunks=chunks, out=len(chunks) + 1, finish="length")  # not an EOS: cut at max
    assert summarize([doubled, cut]).requests_multi_token_chunks == 2


def test_offered_rate_is_read_from_the_schedule_in_open_loop() -> None:
    sched = [0, 300 * MS, 450 * MS, 1500 * MS]
    records = [_rec(index=i, send_ns=t, scheduled_ns=t) for i, t in enumerate(sched)]
    m = summarize(records, open_loop=True)
    assert m.offered_rate_rps == pytest.approx((len(sched) - 1) / ((sched[-1] - sched[0]) / S))
    assert m.send_rate_rps == pytest.approx(m.offered_rate_rps)
    closed = summarize(records)
    assert closed.offered_rate_rps is None
    assert "offered_rate_rps" in closed.unmeasured
    assert "offered_rate_rps" not in summarize(records, definitions=1).unmeasured


def _straggled_run(ok: int, ok_within_s: float, straggler_s: float) -> list[RequestRecord]:
    end = int(ok_within_s * S)
    records = [_rec(index=i, send_ns=0, chunks=[MS, end - MS], end_ns=end) for i in range(ok)]
    stuck = _rec(index=ok, chunks=[], end_ns=int(straggler_s * S), out=0, error=ErrorKind.TIMEOUT)
    return [*records, stuck]


def test_steady_window_throughput_beside_the_whole_window() -> None:
    ok, within, straggler = 99, 60.0, 300.0
    m = summarize(_straggled_run(ok, within, straggler))
    assert m.duration_s == pytest.approx(straggler)
    assert m.steady_duration_s == pytest.approx(within)
    tokens = m.output_tokens_total
    assert m.output_throughput_tok_per_s == pytest.approx(tokens / straggler)
    assert m.steady_output_throughput_tok_per_s == pytest.approx(tokens / within)


def test_cooldown_counts_token_arrivals_in_the_fixed_window() -> None:
    window = (0, 1 * S)
    # a measured request whose tokens run past the window's end, one inside it, and a cooldown
    # request that started just before the end: every arrival inside counts, none outside
    across = _rec(index=0, send_ns=0, chunks=[k * 200 * MS for k in range(1, 9)])
    inside = _rec(index=1, send_ns=0, chunks=[100 * MS, 150 * MS])
    tail = _rec(index=2, send_ns=950 * MS, chunks=[980 * MS, 1100 * MS], cooldown=True)
    records = [across, inside, tail]
    arrived = sum(1 for r in records for t in r.chunk_ns if window[0] <= t <= window[1])
    energy = 50.0
    m = summarize(records, energy_j=energy, window_ns=window)
    assert m.window_output_tokens == pytest.approx(arrived)
    assert m.output_throughput_tok_per_s == pytest.approx(arrived / ((window[1] - window[0]) / S))
    assert m.joules_per_token == pytest.approx(energy / arrived)
    old = summarize(records, energy_j=energy, window_ns=window, definitions=1)
    assert old.window_output_tokens is None
    assert old.joules_per_token == pytest.approx(energy / old.output_tokens_total)


def test_new_runs_state_todays_definitions() -> None:
    assert summarize([]).definitions == DEFINITIONS
    assert summarize([], definitions=1).definitions == 1
