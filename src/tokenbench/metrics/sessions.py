"""Prefix-cache and session figures: how much of the input the engine's cache served, TTFT for
requests it served against those it did not, per-turn figures, and whole conversations
(completion time, sessions per hour, sessions meeting an SLO)."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from tokenbench.metrics.latency import ttft_ms
from tokenbench.metrics.stats import Distribution, distribution
from tokenbench.records import RequestRecord

# A request is a cache hit when the engine served at least this share of its input from its
# prefix cache: every chat request shares a few template tokens, which must not count as a hit.
HIT_SHARE = 0.5


def cache_hit(r: RequestRecord) -> bool | None:
    """Whether the prefix cache served most of this request's input; None when unknown."""
    if r.cached_input_tokens is None or not r.input_tokens:
        return None
    return r.cached_input_tokens >= HIT_SHARE * r.input_tokens


def ttft_cache_hit_ms(r: RequestRecord) -> float | None:
    return ttft_ms(r) if cache_hit(r) is True else None


def ttft_cache_miss_ms(r: RequestRecord) -> float | None:
    return ttft_ms(r) if cache_hit(r) is False else None


class TurnFigures(BaseModel):
    """One turn position across every session of a run (turn 0 is each session's first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests: int  # measured requests at this turn, failures included
    ok: int
    input_tokens_mean: float | None  # the history grows turn by turn
    ttft_ms: Distribution | None
    prefix_cache_hit_rate: float | None  # cached input tokens / input tokens at this turn


class SessionFigures(BaseModel):
    """Whole conversations: the unit an agent or a chat user experiences."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sessions: int  # sessions with a measured request
    completed: int  # every turn it was to have answered successfully
    failed: int  # a turn failed (the session stopped there)
    cut: int = 0  # no turn failed, but the run ended before its last turn (stopped, --duration)
    completion_s: Distribution | None  # first turn's scheduled send → last turn's end, completed
    sessions_per_hour: float | None  # completed sessions per hour of the measured window
    slo_sessions: int | None  # completed sessions whose every turn met every --slo limit
    slo_sessions_per_hour: float | None


@dataclass(slots=True)
class _Session:
    first_sched: int
    last_end: int | None = None
    turns: int = 0
    planned: int | None = None  # the turns it was to have, when the records say
    failed: bool = False
    slo_missed: bool = False


@dataclass(slots=True)
class _Turn:
    requests: int = 0
    ok: int = 0
    input_tokens: int = 0
    cached: int = 0
    cached_known: int = 0  # requests whose cached count the server reported
    inputs_of_known: int = 0
    ttft: array[float] = field(default_factory=lambda: array("d"))


class SessionAccumulator:
    """Gathers the per-turn and per-session figures in the summary's single pass."""

    def __init__(self, meets_slo: Callable[[RequestRecord], bool] | None) -> None:
        self._meets_slo = meets_slo
        self._sessions: dict[int, _Session] = {}
        self._turns: dict[int, _Turn] = {}

    def add(self, r: RequestRecord) -> None:
        """A measured request."""
        if r.session is None:
            return
        s = self._sessions.get(r.session)
        if s is None:
            s = self._sessions[r.session] = _Session(r.scheduled_ns)
        s.first_sched = min(s.first_sched, r.scheduled_ns)
        s.turns += 1
        if r.session_turns is not None:
            s.planned = r.session_turns
        if r.end_ns is not None:
            s.last_end = r.end_ns if s.last_end is None else max(s.last_end, r.end_ns)
        s.failed |= not r.ok
        if self._meets_slo is not None and not self._meets_slo(r):
            s.slo_missed = True
        if r.turn is not None:
            self._add_turn(r)

    def _add_turn(self, r: RequestRecord) -> None:
        assert r.turn is not None
        t = self._turns.setdefault(r.turn, _Turn())
        t.requests += 1
        if not r.ok:
            return
        t.ok += 1
        t.input_tokens += r.input_tokens or 0
        if r.cached_input_tokens is not None and r.input_tokens:
            t.cached += r.cached_input_tokens
            t.inputs_of_known += r.input_tokens
            t.cached_known += 1
        v = ttft_ms(r)
        if v is not None:
            t.ttft.append(v)

    def by_turn(self) -> dict[str, TurnFigures]:
        out = {}
        for turn in sorted(self._turns):
            t = self._turns[turn]
            out[str(turn)] = TurnFigures(
                requests=t.requests, ok=t.ok,
                input_tokens_mean=t.input_tokens / t.ok if t.ok else None,
                ttft_ms=distribution(t.ttft),
                prefix_cache_hit_rate=t.cached / t.inputs_of_known if t.inputs_of_known else None,
            )  # fmt: skip
        return out

    def sessions(self, duration_s: float | None) -> SessionFigures | None:
        """None when no record belongs to a session (independent requests)."""
        if not self._sessions:
            return None
        ended = [s for s in self._sessions.values() if not s.failed and s.last_end is not None]
        done = [s for s in ended if s.planned is None or s.turns >= s.planned]
        times = array("d", [((s.last_end or 0) - s.first_sched) / 1e9 for s in done])
        slo = None if self._meets_slo is None else sum(1 for s in done if not s.slo_missed)

        def per_hour(n: int | None) -> float | None:
            return n * 3600 / duration_s if duration_s and n is not None else None

        return SessionFigures(
            sessions=len(self._sessions), completed=len(done),
            failed=sum(1 for s in self._sessions.values() if s.failed),
            cut=len(ended) - len(done),
            completion_s=distribution(times), sessions_per_hour=per_hour(len(done)),
            slo_sessions=slo, slo_sessions_per_hour=per_hour(slo),
        )  # fmt: skip
