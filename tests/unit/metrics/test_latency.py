from __future__ import annotations

import math

import pytest

from tokenbench.metrics import distribution, e2e_ms, itl_ms, percentile, summarize, tpot_ms, ttft_ms
from tokenbench.metrics.latency import chunk_token_counts, schedule_lag_ms, ttfat_ms
from tokenbench.records import ErrorKind, RequestRecord

MS = 1_000_000


def rec(
    index: int = 0,
    send: int = 0,
    chunks: tuple[int, ...] = (50, 60, 70, 80),
    end: int | None = 85,
    out: int | None = 4,
    inp: int | None = 10,
    usage: bool = True,
    warmup: bool = False,
    error: ErrorKind | None = None,
    sched: int = 0,
) -> RequestRecord:
    return RequestRecord(
        index=index,
        worker=0,
        slot=0,
        warmup=warmup,
        prompt_id="p",
        scheduled_ns=sched * MS,
        send_ns=send * MS,
        first_token_ns=chunks[0] * MS if chunks else None,
        chunk_ns=[c * MS for c in chunks],
        end_ns=end * MS if end is not None else None,
        input_tokens=inp,
        output_tokens=out,
        tokens_from_usage=usage,
        error_kind=error,
    )


def test_ttft_e2e_tpot_itl_on_regular_stream() -> None:
    r = rec(send=10, chunks=(60, 70, 80, 90), end=95, out=4)
    assert ttft_ms(r) == 50.0
    assert e2e_ms(r) == 85.0
    assert tpot_ms(r) == pytest.approx((85 - 50) / 3)
    assert itl_ms(r) == [10.0, 10.0, 10.0]


def test_single_token_has_no_tpot_or_itl() -> None:
    r = rec(chunks=(40,), end=41, out=1)
    assert ttft_ms(r) == 40.0
    assert tpot_ms(r) is None
    assert itl_ms(r) == []


def test_no_tokens_has_no_ttft() -> None:
    r = rec(chunks=(), end=30, out=0)
    assert ttft_ms(r) is None
    assert tpot_ms(r) is None
    assert e2e_ms(r) == 30.0


def test_never_sent_has_no_latencies() -> None:
    r = rec(error=ErrorKind.CONNECT)
    r.send_ns = None
    assert ttft_ms(r) is None
    assert e2e_ms(r) is None
    assert schedule_lag_ms(r) is None


def test_itl_divides_gap_by_tokens_in_chunk() -> None:
    r = rec(chunks=(10, 30, 40), out=5)
    r.chunk_tokens = [1, 2, 2]
    assert itl_ms(r) == [10.0, 5.0]
    assert chunk_token_counts(r) == ([1.0, 2.0, 2.0], True)


def test_itl_spreads_usage_tokens_when_chunks_fewer_and_flags_it() -> None:
    r = rec(chunks=(10, 30, 50), out=5)  # 5 tokens over 3 chunks, split unknown
    tokens, exact = chunk_token_counts(r)
    assert not exact
    assert tokens == [1.0, 2.0, 2.0]
    assert itl_ms(r) == [10.0, 10.0]


def test_tokens_without_usage_are_one_per_chunk_unverified() -> None:
    r = rec(usage=False)
    assert chunk_token_counts(r) == ([1.0, 1.0, 1.0, 1.0], False)


def test_percentile_interpolates_linearly() -> None:
    assert percentile([1, 2], 50) == 1.5
    assert percentile([1, 2, 3, 4, 5], 90) == pytest.approx(4.6)
    assert percentile([7], 99) == 7
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1], 101)


def test_distribution_of_nothing_is_none() -> None:
    assert distribution([]) is None
    d = distribution([3.0, 1.0, 2.0])
    assert d is not None
    assert (d.count, d.min, d.max, d.p50, d.mean) == (3, 1.0, 3.0, 2.0, 2.0)
    assert d.stdev == pytest.approx(1.0)


def test_summarize_excludes_warmup_and_counts_errors_by_kind() -> None:
    records = [
        rec(index=0, warmup=True, send=0, chunks=(500, 510), end=520, out=2),
        rec(index=1, send=1000, chunks=(1050, 1060), end=1070, out=2, inp=10),
        rec(index=2, send=1000, chunks=(1040, 1060), end=1100, out=2, inp=10),
        rec(index=3, send=1010, chunks=(), end=1020, out=None, error=ErrorKind.HTTP),
        rec(index=4, send=1010, chunks=(1030,), end=1040, out=None, error=ErrorKind.DISCONNECT),
    ]
    m = summarize(records)
    assert m.requests_total == 5
    assert m.warmup_requests == 1
    assert m.requests_measured == 4
    assert (m.requests_ok, m.requests_failed) == (2, 2)
    assert m.errors_by_kind == {"http": 1, "disconnect": 1}
    assert m.error_rate == 0.5
    assert m.duration_s == pytest.approx(0.1)  # first send 1000 ms → last end 1100 ms
    assert m.output_tokens_total == 4
    assert m.output_throughput_tok_per_s == pytest.approx(40.0)
    assert m.total_throughput_tok_per_s == pytest.approx(240.0)
    assert m.request_throughput_rps == pytest.approx(20.0)
    assert m.ttft_ms is not None
    assert (m.ttft_ms.min, m.ttft_ms.max) == (40.0, 50.0)
    assert m.energy_j is None
    assert m.joules_per_token is None
    assert "joules_per_token" in m.unmeasured


def test_summarize_all_failed_gives_nulls_with_reasons() -> None:
    m = summarize([rec(error=ErrorKind.CONNECT, chunks=(), out=None)])
    assert m.requests_ok == 0
    assert m.ttft_ms is None
    assert m.output_throughput_tok_per_s == 0.0
    assert m.unmeasured["ttft_ms"].startswith("no successful request")
    assert m.error_rate == 1.0


def test_summarize_nothing() -> None:
    m = summarize([])
    assert m.requests_total == 0
    assert m.error_rate is None
    assert m.duration_s is None
    assert m.output_throughput_tok_per_s is None
    assert "duration_s" in m.unmeasured


def test_energy_gives_joules_per_output_token() -> None:
    m = summarize([rec(out=4)], energy_j=2.0)
    assert m.joules_per_token == 0.5
    assert "energy_j" not in m.unmeasured


def test_summary_json_has_no_nan() -> None:
    m = summarize([rec()])
    assert "NaN" not in m.model_dump_json()
    assert not any(isinstance(v, float) and math.isnan(v) for v in m.model_dump().values())


def test_schedule_lag() -> None:
    assert schedule_lag_ms(rec(send=12, sched=10)) == 2.0


def test_ttfat_runs_to_the_first_answer_token_not_the_first_reasoning_token() -> None:
    r = rec(send=10, chunks=(40, 60, 90), end=95, out=3)
    r.first_content_ns = r.chunk_ns[-1]  # two reasoning chunks, then the answer
    assert ttft_ms(r) == (r.chunk_ns[0] - r.send_ns) / MS
    assert ttfat_ms(r) == (r.chunk_ns[-1] - r.send_ns) / MS
    thinking_only = rec(send=10, chunks=(40, 60), end=70, out=2)
    assert ttft_ms(thinking_only) is not None
    assert ttfat_ms(thinking_only) is None  # cut off while still reasoning
