"""A run's plan: the ordered requests of one sweep point, splittable across workers.

The plan is made once by the coordinator, so a run split over processes or machines sends the
same requests as a single-process run; each share carries its slice of the concurrency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tokenbench.errors import ConfigError


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    index: int  # position in the run; records keep it, so shares merge back in order
    prompt_index: int
    warmup: bool
    offset_ns: int | None = None  # open loop: send time from the measured phase's start


@dataclass(frozen=True, slots=True)
class Plan:
    concurrency: int  # closed loop: requests in flight at once; open loop: the cap
    requests: tuple[PlannedRequest, ...]
    duration_s: float | None = None  # stop starting new measured requests after this long
    rate_rps: float | None = None  # open loop: the offered request rate
    warmup_s: float | None = None  # keep warming up (cycling the warmup prompts) this long
    cooldown_s: float | None = None  # requests starting in the last S of duration: not measured

    @property
    def offered_rate_rps(self) -> float | None:
        """Open loop: the rate the drawn schedule offers, (n − 1) / (last − first offset). A
        seeded Poisson draw of a few dozen requests can be far from `rate_rps`."""
        offsets = [r.offset_ns for r in self.requests if r.offset_ns is not None]
        if len(offsets) < 2 or max(offsets) <= min(offsets):
            return None
        return (len(offsets) - 1) / ((max(offsets) - min(offsets)) / 1e9)

    @property
    def warmup(self) -> tuple[PlannedRequest, ...]:
        return tuple(r for r in self.requests if r.warmup)

    @property
    def measured(self) -> tuple[PlannedRequest, ...]:
        return tuple(r for r in self.requests if not r.warmup)


_TIMED_WARMUP_CAP = 100_000


def closed_loop_plan(
    prompts: int,
    requests: int,
    warmup: int,
    concurrency: int,
    duration_s: float | None = None,
    warmup_s: float | None = None,
    cooldown_s: float | None = None,
) -> Plan:
    """Warmup requests first, then measured ones; request i uses prompt i mod `prompts`, so with
    one prompt per request no two requests share a prompt. With `warmup_s` the warmup phase
    cycles through its own `warmup` prompts until the time is up (measured prompts stay unused
    by warmup); `cooldown_s` needs `duration_s`."""
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    if requests < 1:
        raise ConfigError(f"--requests must be at least 1, got {requests}")
    if prompts < 1:
        raise ConfigError("the workload has no prompts")
    if warmup_s is not None and warmup_s <= 0:
        raise ConfigError("--warmup-duration must be positive")
    if cooldown_s is not None and (duration_s is None or not 0 < cooldown_s < duration_s):
        raise ConfigError("--cooldown needs --duration, and must be shorter than it")
    pool = max(min(warmup, prompts), 1)  # warmup cycles its own prompts, never past the last
    n_warm = _TIMED_WARMUP_CAP if warmup_s else warmup
    items = [PlannedRequest(k, k % pool, True) for k in range(n_warm)]
    items += [PlannedRequest(n_warm + j, (warmup + j) % prompts, False) for j in range(requests)]
    return Plan(concurrency, tuple(items), duration_s, warmup_s=warmup_s, cooldown_s=cooldown_s)


def split(plan: Plan, workers: int) -> list[Plan]:
    """Divide a plan into `workers` shares: concurrency as evenly as possible, requests dealt
    round-robin. Shares with no concurrency are dropped."""
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    shares: list[Plan] = []
    base, extra = divmod(plan.concurrency, workers)
    active = [base + (1 if w < extra else 0) for w in range(workers)]
    active = [c for c in active if c > 0]
    for w, conc in enumerate(active):
        mine = tuple(r for i, r in enumerate(plan.requests) if i % len(active) == w)
        shares.append(
            Plan(conc, mine, plan.duration_s, plan.rate_rps, plan.warmup_s, plan.cooldown_s)
        )
    return shares


ARRIVALS = ("constant", "poisson", "gamma")


def arrival_offsets_ns(
    count: int, rate_rps: float, arrival: str, burstiness: float, seed: int
) -> list[int]:
    """Send times (ns from the phase start) of `count` requests at `rate_rps` on average.

    constant: evenly spaced; poisson: exponential gaps; gamma: gaps from a gamma distribution
    with shape `burstiness` and mean 1/rate (shape 1 is Poisson, below 1 burstier, above 1
    smoother). Seeded: the same arguments give the same schedule, however the run is split.
    """
    if rate_rps <= 0:
        raise ConfigError(f"--rate must be positive, got {rate_rps:g}")
    if arrival not in ARRIVALS:
        raise ConfigError(f"--arrival {arrival!r}: choose one of {', '.join(ARRIVALS)}")
    if burstiness <= 0:
        raise ConfigError(f"--burstiness must be positive, got {burstiness:g}")
    mean_gap_s = 1.0 / rate_rps
    rng = random.Random(f"arrivals:{seed}")
    t = 0.0
    out = []
    for _ in range(count):
        out.append(int(t * 1e9))
        if arrival == "constant":
            gap = mean_gap_s
        elif arrival == "poisson":
            gap = rng.expovariate(rate_rps)
        else:
            gap = rng.gammavariate(burstiness, mean_gap_s / burstiness)
        t += gap
    return out


def open_loop_plan(
    prompts: int,
    requests: int,
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
    are closed-loop, one per slot up to `warmup`; the measured ones carry their send offsets."""
    base = closed_loop_plan(prompts, requests, warmup, max_concurrency, duration_s)
    offsets = arrival_offsets_ns(requests, rate_rps, arrival, burstiness, seed)
    measured = iter(offsets)
    items = tuple(
        r if r.warmup else PlannedRequest(r.index, r.prompt_index, False, next(measured))
        for r in base.requests
    )
    return Plan(max_concurrency, items, duration_s, rate_rps=rate_rps)
