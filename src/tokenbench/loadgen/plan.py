"""A run's plan: the ordered requests of one sweep point, splittable across workers.

The plan is made once by the coordinator, so a run split over processes or machines sends the
same requests as a single-process run; each share carries its slice of the concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenbench.errors import ConfigError


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    index: int  # position in the run; records keep it, so shares merge back in order
    prompt_index: int
    warmup: bool


@dataclass(frozen=True, slots=True)
class Plan:
    concurrency: int  # closed loop: requests in flight at once
    requests: tuple[PlannedRequest, ...]
    duration_s: float | None = None  # stop starting new measured requests after this long

    @property
    def warmup(self) -> tuple[PlannedRequest, ...]:
        return tuple(r for r in self.requests if r.warmup)

    @property
    def measured(self) -> tuple[PlannedRequest, ...]:
        return tuple(r for r in self.requests if not r.warmup)


def closed_loop_plan(
    prompts: int, requests: int, warmup: int, concurrency: int, duration_s: float | None = None
) -> Plan:
    """Warmup requests first, then measured ones; request i uses prompt i mod `prompts`, so with
    one prompt per request no two requests share a prompt."""
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    if requests < 1:
        raise ConfigError(f"--requests must be at least 1, got {requests}")
    if prompts < 1:
        raise ConfigError("the workload has no prompts")
    items = [PlannedRequest(i, i % prompts, i < warmup) for i in range(warmup + requests)]
    return Plan(concurrency, tuple(items), duration_s)


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
        shares.append(Plan(conc, mine, plan.duration_s))
    return shares
