"""A run's plan: the ordered requests of one sweep point, splittable across workers.

The plan is made once by the coordinator, so a run split over processes or machines sends the
same requests as a single-process run; each share carries its slice of the concurrency.

A plan is a description, not a list: its requests (and an open loop's send times) are generated
as they are sent, so a run bounded by `--duration` alone — any number of requests — costs the
same memory and start-up as a short one.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from tokenbench.errors import ConfigError


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    index: int  # position in the run; records keep it, so shares merge back in order
    prompt_index: int
    warmup: bool
    offset_ns: int | None = None  # open loop: send time from the measured phase's start
    session: int | None = None  # a replayed trace: the conversation this request belongs to
    turn: int | None = None
    session_turns: int | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """Open loop: how the measured requests' send times are drawn (seeded, so every share of a
    split run draws the same schedule)."""

    rate_rps: float
    arrival: str = "poisson"
    burstiness: float = 1.0
    seed: int = 0
    explicit_ns: tuple[int, ...] | None = None  # a replayed trace's own send times

    def offsets_ns(self) -> Iterator[int]:
        if self.explicit_ns is not None:
            return iter(self.explicit_ns)
        return _offsets(self.rate_rps, self.arrival, self.burstiness, self.seed)


@dataclass(frozen=True, slots=True)
class Plan:
    concurrency: int  # closed loop: requests in flight at once; open loop: the cap
    prompts: int  # request bodies to cycle through
    measured_count: int | None  # measured requests; None: as many as `duration_s` allows
    warmup_count: int  # warmup requests (with warmup_s: an upper bound the deadline cuts)
    warmup_prompts: int = 1  # warmup cycles prompts [0, warmup_prompts)
    first_measured_prompt: int = 0  # the measured requests start at this prompt
    duration_s: float | None = None  # stop starting new measured requests after this long
    schedule: Schedule | None = None  # open loop: the send times of the measured requests
    warmup_s: float | None = None  # keep warming up (cycling the warmup prompts) this long
    cooldown_s: float | None = None  # requests starting in the last S of duration: not measured
    share: tuple[int, int] = (0, 1)  # (this share, of how many): requests with index ≡ share
    # a replayed trace: (session, turn) of each measured request, by position
    labels: tuple[tuple[int | None, int | None, int | None], ...] | None = None
    # the warmup prompts [0, first_measured_prompt) are kept apart: measured requests cycle
    # through the rest only (a trace's or shared prefixes', whose cache warmup must not touch)
    measured_apart: bool = False

    @property
    def rate_rps(self) -> float | None:
        """Open loop: the offered request rate."""
        return self.schedule.rate_rps if self.schedule else None

    @property
    def offered_rate_rps(self) -> float | None:
        """Open loop: the rate the drawn schedule offers, (n − 1) / (last − first offset), over
        the requests sent within the plan's bounds. A seeded Poisson draw of a few dozen
        requests can be far from `rate_rps`. None for a schedule too long to walk up front
        (the measured offered rate, from the records, is in the metrics)."""
        if self.schedule is None:
            return None
        walk = _OFFERED_WALK_MAX + 1
        n, last = 0, 0
        for offset in itertools.islice(self.schedule.offsets_ns(),
                                       min(self.measured_count or walk, walk)):  # fmt: skip
            if self.duration_s is not None and offset >= self.duration_s * 1e9:
                break
            n, last = n + 1, offset
        if n > _OFFERED_WALK_MAX:
            return None
        return (n - 1) / (last / 1e9) if n >= 2 and last > 0 else None

    def scheduled_requests(self, limit: int) -> int | None:
        """Open loop: how many measured requests the schedule sends within its bounds, counted
        up to `limit` (beyond it: `limit`); None for a closed loop bounded by time."""
        if self.schedule is None or self.duration_s is None:
            return self.measured_count
        n = 0
        for offset in itertools.islice(self.schedule.offsets_ns(),
                                       min(self.measured_count or limit, limit)):  # fmt: skip
            if self.duration_s is not None and offset >= self.duration_s * 1e9:
                break
            n += 1
        return n

    def iter_warmup(self) -> Iterator[PlannedRequest]:
        pool = self.warmup_prompts
        k, w = self.share[1], self.share[0]
        for i in range(w, self.warmup_count, k):
            yield PlannedRequest(i, i % pool, True)

    def iter_measured(self) -> Iterator[PlannedRequest]:
        """This share's measured requests, made as they are asked for."""
        k, w = self.share[1], self.share[0]
        start = self.warmup_count
        end = start + self.measured_count if self.measured_count is not None else None
        offsets = self.schedule.offsets_ns() if self.schedule else None
        index = itertools.count(start) if end is None else iter(range(start, end))
        for i in index:
            offset = next(offsets) if offsets is not None else None
            if i % k == w:
                prompt = self._measured_prompt(i - start)
                label = self.labels[i - start] if self.labels else (None, None, None)
                yield PlannedRequest(i, prompt, False, offset, *label)

    def _measured_prompt(self, position: int) -> int:
        first = self.first_measured_prompt
        if self.measured_apart and first < self.prompts:
            return first + position % (self.prompts - first)
        return (first + position) % self.prompts

    def share_prompt_indices(self) -> set[int]:
        """The prompts this share can use (its measured prompts repeat within one cycle)."""
        used = {r.prompt_index for r in self.iter_warmup()}
        used |= {r.prompt_index for r in itertools.islice(self.iter_measured(), self.prompts)}
        return used

    @property
    def share_warmup(self) -> int:
        """Warmup requests of this share."""
        return len(range(self.share[0], self.warmup_count, self.share[1]))

    @property
    def share_measured(self) -> int | None:
        """Measured requests of this share; None when bounded by time alone."""
        if self.measured_count is None:
            return None
        total = self.warmup_count + self.measured_count
        return len(range(self.share[0], total, self.share[1])) - self.share_warmup

    @property
    def planned_requests(self) -> int | None:
        """Requests of this share, warmup included; None when bounded by time alone."""
        measured = self.share_measured
        return None if measured is None else self.share_warmup + measured

    # Materialised views, for tests and small plans; a run iterates instead.
    @property
    def requests(self) -> tuple[PlannedRequest, ...]:
        return self.warmup + self.measured

    @property
    def warmup(self) -> tuple[PlannedRequest, ...]:
        return tuple(self.iter_warmup())

    @property
    def measured(self) -> tuple[PlannedRequest, ...]:
        if self.measured_count is None:
            raise ValueError("a plan bounded by time alone has no finite list of requests")
        return tuple(self.iter_measured())


_TIMED_WARMUP_CAP = 100_000
_OFFERED_WALK_MAX = 1_000_000  # the schedule walked up front for its offered rate, at most


def closed_loop_plan(
    prompts: int,
    requests: int | None,
    warmup: int,
    concurrency: int,
    duration_s: float | None = None,
    warmup_s: float | None = None,
    cooldown_s: float | None = None,
) -> Plan:
    """Warmup requests first, then measured ones; request i uses prompt i mod `prompts`, so with
    one prompt per request no two requests share a prompt. With `warmup_s` the warmup phase
    cycles through its own `warmup` prompts until the time is up (measured prompts stay unused
    by warmup); `cooldown_s` needs `duration_s`. `requests` None: as many as `duration_s`
    allows (which is then required)."""
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    if requests is not None and requests < 1:
        raise ConfigError(f"--requests must be at least 1, got {requests}")
    if requests is None and duration_s is None:
        raise ConfigError("a run needs --requests or --duration")
    if prompts < 1:
        raise ConfigError("the workload has no prompts")
    if warmup_s is not None and warmup_s <= 0:
        raise ConfigError("--warmup-duration must be positive")
    if cooldown_s is not None and (duration_s is None or not 0 < cooldown_s < duration_s):
        raise ConfigError("--cooldown needs --duration, and must be shorter than it")
    pool = max(min(warmup, prompts), 1)  # warmup cycles its own prompts, never past the last
    n_warm = _TIMED_WARMUP_CAP if warmup_s else warmup
    return Plan(concurrency, prompts, requests, n_warm, pool, warmup % prompts, duration_s,
                warmup_s=warmup_s, cooldown_s=cooldown_s)  # fmt: skip


def split(plan: Plan, workers: int) -> list[Plan]:
    """Divide a plan into `workers` shares: concurrency as evenly as possible, requests dealt
    round-robin. Shares with no concurrency are dropped."""
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    base, extra = divmod(plan.concurrency, workers)
    active = [base + (1 if w < extra else 0) for w in range(workers)]
    active = [c for c in active if c > 0]
    return [
        replace(plan, concurrency=conc, share=(w, len(active))) for w, conc in enumerate(active)
    ]


ARRIVALS = ("constant", "poisson", "gamma")


def _check_schedule(rate_rps: float, arrival: str, burstiness: float) -> None:
    if rate_rps <= 0:
        raise ConfigError(f"--rate must be positive, got {rate_rps:g}")
    if arrival not in ARRIVALS:
        raise ConfigError(f"--arrival {arrival!r}: choose one of {', '.join(ARRIVALS)}")
    if burstiness <= 0:
        raise ConfigError(f"--burstiness must be positive, got {burstiness:g}")


def _offsets(rate_rps: float, arrival: str, burstiness: float, seed: int) -> Iterator[int]:
    mean_gap_s = 1.0 / rate_rps
    rng = random.Random(f"arrivals:{seed}")
    t = 0.0
    while True:
        yield int(t * 1e9)
        if arrival == "constant":
            gap = mean_gap_s
        elif arrival == "poisson":
            gap = rng.expovariate(rate_rps)
        else:
            gap = rng.gammavariate(burstiness, mean_gap_s / burstiness)
        t += gap


def arrival_offsets_ns(
    count: int, rate_rps: float, arrival: str, burstiness: float, seed: int
) -> list[int]:
    """Send times (ns from the phase start) of `count` requests at `rate_rps` on average.

    constant: evenly spaced; poisson: exponential gaps; gamma: gaps from a gamma distribution
    with shape `burstiness` and mean 1/rate (shape 1 is Poisson, below 1 burstier, above 1
    smoother). Seeded: the same arguments give the same schedule, however the run is split.
    """
    _check_schedule(rate_rps, arrival, burstiness)
    return list(itertools.islice(_offsets(rate_rps, arrival, burstiness, seed), count))


def open_loop_plan(
    prompts: int,
    requests: int | None,
    warmup: int,
    rate_rps: float,
    arrival: str = "poisson",
    burstiness: float = 1.0,
    seed: int = 0,
    max_concurrency: int = 1024,
    duration_s: float | None = None,
) -> Plan:
    """Requests released on a schedule regardless of how earlier ones fare (open loop), so a
    slow server cannot slow the offered load down (no coordinated omission). Warmup requests
    are closed-loop, one per slot up to `warmup`; the measured ones carry their send offsets,
    drawn as they are sent."""
    _check_schedule(rate_rps, arrival, burstiness)
    base = closed_loop_plan(prompts, requests, warmup, max_concurrency, duration_s)
    return replace(base, schedule=Schedule(rate_rps, arrival, burstiness, seed))


def trace_plan(
    prompts: int,
    warmup: int,
    offsets_ns: tuple[int, ...],
    labels: tuple[tuple[int | None, int | None, int | None], ...],
    cap: int,
    duration_s: float | None = None,
) -> Plan:
    """A replayed trace: warmup on its own prompts [0, warmup) (closed loop), then request i of
    the trace at its recorded time, on prompt warmup + i (open loop, whatever the server does)."""
    if not offsets_ns:
        raise ConfigError("the trace has no requests")
    span_s = (offsets_ns[-1] - offsets_ns[0]) / 1e9
    rate = (len(offsets_ns) - 1) / span_s if span_s > 0 else float(len(offsets_ns))
    base = closed_loop_plan(prompts, len(offsets_ns), warmup, cap, duration_s)
    schedule = Schedule(rate, "trace", 1.0, 0, offsets_ns)
    return replace(base, schedule=schedule, warmup_prompts=max(warmup, 1),
                   first_measured_prompt=warmup, labels=labels,
                   measured_apart=True)  # fmt: skip
