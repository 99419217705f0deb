"""The client's timeline of a point: output tokens per second by chunk arrival, and requests in
flight, from hand-made records whose expected bins are worked out here."""

from __future__ import annotations

import pytest

from tokenbench.metrics.timeline import client_timeline, telemetry_timeline
from tokenbench.records import ErrorKind, RequestRecord

S = 1_000_000_000


def _record(
    i: int, send_s: float, end_s: float, chunks_s: list[float], **kw: object
) -> RequestRecord:
    return RequestRecord(
        index=i, worker=0, slot=0, warmup=False, prompt_id=f"p{i}", scheduled_ns=int(send_s * S),
        send_ns=int(send_s * S), first_token_ns=int(chunks_s[0] * S) if chunks_s else None,
        chunk_ns=[int(t * S) for t in chunks_s], end_ns=int(end_s * S),
        output_tokens=len(chunks_s), tokens_from_usage=True,
    )  # fmt: skip


def test_throughput_bins_and_requests_in_flight() -> None:
    records = [
        _record(0, 0.0, 2.5, [0.2, 0.4, 1.1, 2.4]),  # 2 tokens in bin 0, 1 in bin 1, 1 in bin 2
        _record(1, 0.5, 1.5, [0.7, 1.2]),  # 1 in bin 0, 1 in bin 1
        _record(2, 2.0, 2.8, [2.1, 2.2, 2.3]),  # 3 in bin 2
    ]
    tput, flight = client_timeline(records, bin_s=1.0)
    assert tput.unit == "tok/s"
    assert tput.t_s == pytest.approx([0.5, 1.5, 2.5])
    assert tput.values == pytest.approx([3.0, 2.0, 4.0])
    # at 0.5 s: both first requests sent (the second at exactly 0.5), none ended; at 1.5 s the
    # second has just ended; at 2.5 s the first has just ended and the third runs
    assert flight.values == [2.0, 1.0, 1.0]


def test_warmup_is_left_out_and_a_failure_only_counts_in_flight() -> None:
    warm = _record(0, -5.0, -4.0, [-4.5])
    warm.warmup = True
    failed = _record(1, 0.0, 0.4, [0.1, 0.2])  # cut off: its tokens are not throughput
    failed.error_kind = ErrorKind.DISCONNECT
    ok = _record(2, 0.0, 1.0, [0.5])
    tput, flight = client_timeline([warm, failed, ok], bin_s=0.5)
    assert tput.t_s == pytest.approx([0.25, 0.75])  # from the first measured send, 0 s
    assert tput.values == pytest.approx([0.0, 2.0])  # ok's one token in bin 1, per 0.5 s
    assert flight.values == [2.0, 1.0]


def test_no_measured_send_gives_no_series() -> None:
    warm = _record(0, 0.0, 1.0, [0.5])
    warm.warmup = True
    assert client_timeline([warm]) == []


def test_telemetry_gauges_and_engine_cpu_on_the_points_clock() -> None:
    from tokenbench.telemetry.sampler import Row

    origin = 2 * S
    rows = [
        Row("prometheus", 2 * S, {"requests_waiting": 0.0, "kv_cache_usage": 0.25}, mark="start"),
        Row("prometheus", 3 * S, {"requests_waiting": 3.0, "kv_cache_usage": 0.5}),
        Row("prometheus", 4 * S, error="HTTP 500"),  # a failed scrape draws nothing
        Row("process", 2 * S, {"cpu_s": 10.0, "rss_bytes": 1.0}),
        Row("process", 4 * S, {"cpu_s": 13.0, "rss_bytes": 1.0}),  # 3 CPU-s over 2 s
    ]
    by_name = {s.name: s for s in telemetry_timeline(rows, origin)}
    assert set(by_name) == {"server queue", "KV-cache use", "engine CPU"}
    assert by_name["server queue"].t_s == [0.0, 1.0]
    assert by_name["server queue"].values == [0.0, 3.0]
    assert by_name["KV-cache use"].values == [25.0, 50.0]
    assert by_name["engine CPU"].t_s == [1.0]  # the middle of the two readings
    assert by_name["engine CPU"].values == pytest.approx([1.5])
