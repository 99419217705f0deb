"""Prefix-cache, per-turn and per-session figures of summarize(), from hand-made records whose
expected figures are worked out here from the same inputs."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from tokenbench.metrics.sessions import HIT_SHARE
from tokenbench.metrics.summary import summarize
from tokenbench.records import ErrorKind, RequestRecord

MS = 1_000_000


@dataclass(frozen=True)
class Req:
    """One measured request of the run below, in ms from the run's anchor."""

    session: int | None
    turn: int | None
    sched: int
    send: int
    first: int | None  # first token; None for a failed request
    end: int
    input_tokens: int | None
    cached: int | None
    ok: bool = True

    @property
    def ttft(self) -> float:
        assert self.first is not None
        return float(self.first - self.send)

    @property
    def hit(self) -> bool:
        assert self.cached is not None
        assert self.input_tokens
        return self.cached >= HIT_SHARE * self.input_tokens


# Session 0: three turns, all answered; the later turns mostly served from the cache (the
# last at exactly half, the threshold). Session 1: its second turn fails, so the session does.
RUN = (
    Req(0, 0, sched=0, send=0, first=10, end=100, input_tokens=100, cached=0),
    Req(1, 0, sched=50, send=60, first=80, end=150, input_tokens=100, cached=10),
    Req(0, 1, sched=300, send=300, first=305, end=400, input_tokens=250, cached=200),
    Req(1, 1, sched=400, send=400, first=None, end=420, input_tokens=None, cached=None, ok=False),
    Req(0, 2, sched=500, send=500, first=503, end=600, input_tokens=400, cached=200),
)


def _record(i: int, q: Req, warmup: bool = False) -> RequestRecord:
    return RequestRecord(
        index=i, worker=0, slot=0, warmup=warmup, prompt_id=f"p{i}",
        scheduled_ns=q.sched * MS, send_ns=q.send * MS,
        first_token_ns=None if q.first is None else q.first * MS,
        chunk_ns=[] if q.first is None else [q.first * MS, (q.end - 1) * MS],
        end_ns=q.end * MS, input_tokens=q.input_tokens, output_tokens=2 if q.ok else None,
        tokens_from_usage=True, finish_reason="length" if q.ok else None,
        error_kind=None if q.ok else ErrorKind.HTTP, http_status=None if q.ok else 500,
        error=None if q.ok else "HTTP 500", cached_input_tokens=q.cached,
        session=q.session, turn=q.turn,
    )  # fmt: skip


def _records(run: tuple[Req, ...] = RUN) -> list[RequestRecord]:
    # A warmup request (no session, cache unknown) must change none of the figures.
    warm = Req(None, None, sched=-100, send=-100, first=-90, end=-50, input_tokens=5, cached=None)
    return [_record(0, warm, warmup=True)] + [_record(i + 1, q) for i, q in enumerate(run)]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_prefix_cache_share_and_hit_requests() -> None:
    m = summarize(_records())
    ok = [q for q in RUN if q.ok]
    cached = sum(q.cached or 0 for q in ok)
    inputs = sum(q.input_tokens or 0 for q in ok)
    assert m.prefix_cache_hit_rate == pytest.approx(cached / inputs)
    assert m.cache_hit_requests == sum(q.hit for q in ok)
    assert m.cache_hit_requests == 2  # 200 of 250, and 200 of 400 (exactly half) count
    assert m.cached_input_tokens_total == cached
    assert "prefix_cache_hit_rate" not in m.unmeasured


def test_ttft_split_by_cache_hit() -> None:
    m = summarize(_records())
    ok = [q for q in RUN if q.ok]
    hit, miss = m.distribution("ttft_cache_hit_ms"), m.distribution("ttft_cache_miss_ms")
    assert hit is not None
    assert miss is not None
    hits = [q.ttft for q in ok if q.hit]
    misses = [q.ttft for q in ok if not q.hit]
    assert (hit.count, miss.count) == (len(hits), len(misses))
    assert hit.mean == pytest.approx(_mean(hits))
    assert miss.mean == pytest.approx(_mean(misses))
    assert (hit.max, miss.max) == (max(hits), max(misses))


def test_by_turn_figures() -> None:
    m = summarize(_records())
    assert list(m.by_turn) == ["0", "1", "2"]
    for turn, figures in m.by_turn.items():
        at = [q for q in RUN if q.turn == int(turn)]
        ok = [q for q in at if q.ok]
        assert figures.requests == len(at)
        assert figures.ok == len(ok)
        assert figures.input_tokens_mean == pytest.approx(_mean([q.input_tokens or 0 for q in ok]))
        cached, inputs = sum(q.cached or 0 for q in ok), sum(q.input_tokens or 0 for q in ok)
        assert figures.prefix_cache_hit_rate == pytest.approx(cached / inputs)
        assert figures.ttft_ms is not None
        assert figures.ttft_ms.mean == pytest.approx(_mean([q.ttft for q in ok]))
    assert (m.by_turn["1"].requests, m.by_turn["1"].ok) == (2, 1)  # the failure counts, once
    means = [m.by_turn[t].input_tokens_mean or 0 for t in ("0", "1", "2")]
    assert means == sorted(means)  # the history grows turn by turn


def test_session_figures() -> None:
    m = summarize(_records())
    s = m.sessions
    assert s is not None
    assert (s.sessions, s.completed, s.failed) == (2, 1, 1)
    done = [q for q in RUN if q.session == 0]
    completion_s = (max(q.end for q in done) - min(q.sched for q in done)) / 1e3
    assert s.completion_s is not None
    assert s.completion_s.count == 1
    assert s.completion_s.mean == pytest.approx(completion_s)
    window_s = (max(q.end for q in RUN) - min(q.send for q in RUN)) / 1e3
    assert m.duration_s == pytest.approx(window_s)
    assert s.sessions_per_hour == pytest.approx(1 * 3600 / window_s)
    assert s.slo_sessions is None  # no --slo given
    assert s.slo_sessions_per_hour is None
    assert "sessions" not in m.unmeasured


def test_slo_sessions_need_every_turn_within_the_limits() -> None:
    slowest_turn = max(q.ttft for q in RUN if q.session == 0)
    met = summarize(_records(), slo={"ttft_ms": slowest_turn}).sessions
    assert met is not None
    assert met.slo_sessions == 1
    window_s = (max(q.end for q in RUN) - min(q.send for q in RUN)) / 1e3
    assert met.slo_sessions_per_hour == pytest.approx(3600 / window_s)
    missed = summarize(_records(), slo={"ttft_ms": slowest_turn - 1}).sessions
    assert missed is not None
    assert missed.slo_sessions == 0  # one turn over the limit fails the whole session
    assert missed.completed == 1  # it still completed


def test_independent_requests_have_no_session_figures() -> None:
    plain = tuple(replace(q, session=None, turn=None) for q in RUN)
    m = summarize(_records(plain))
    assert m.sessions is None
    assert m.by_turn == {}
    assert "session" in m.unmeasured["sessions"]
    assert m.prefix_cache_hit_rate is not None  # the cache figures do not need sessions


def test_a_server_without_cached_counts_gives_null_with_a_reason() -> None:
    unknown = tuple(replace(q, cached=None) for q in RUN)
    m = summarize(_records(unknown))
    assert m.prefix_cache_hit_rate is None
    assert m.cache_hit_requests is None
    assert "cached" in m.unmeasured["prefix_cache_hit_rate"]
    assert "cached" in m.unmeasured["cache_hit_requests"]
    for name in ("ttft_cache_hit_ms", "ttft_cache_miss_ms"):
        assert m.distribution(name) is None
        assert "cached tokens" in m.unmeasured[name]
    assert all(t.prefix_cache_hit_rate is None for t in m.by_turn.values())
    assert m.sessions is not None  # sessions are still counted
    assert m.sessions.completed == 1


def test_no_cache_hit_leaves_the_hit_distribution_unmeasured() -> None:
    cold = tuple(replace(q, cached=0 if q.ok else None) for q in RUN)
    m = summarize(_records(cold))
    assert m.prefix_cache_hit_rate == 0.0
    assert m.cache_hit_requests == 0
    assert m.distribution("ttft_cache_hit_ms") is None
    assert "ttft_cache_hit_ms" in m.unmeasured
    miss = m.distribution("ttft_cache_miss_ms")
    assert miss is not None
    assert miss.count == sum(1 for q in RUN if q.ok)


def test_a_session_cut_before_its_last_turn_is_not_completed() -> None:
    """Session 0 was to have four turns; the run ended after three (none failed)."""
    records = [replace(r, session_turns=4 if r.session == 0 else 2) for r in _records()]
    sessions = summarize(records).sessions
    assert sessions is not None
    assert sessions.cut == 1
    assert sessions.completed == 0
    assert sessions.failed == 1  # session 1's second turn failed
    whole = [replace(r, session_turns=3 if r.session == 0 else 2) for r in _records()]
    again = summarize(whole).sessions
    assert again is not None
    assert (again.completed, again.cut) == (1, 0)
