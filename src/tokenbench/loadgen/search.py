"""Finding the highest request rate whose p99 latencies meet an SLO: double until a probe fails,
then bisect (geometrically) until the bracket is tight. Every probe is a full recorded run.

A probe must show the server in a steady state, or a queue that is still growing passes: each
probe runs for at least `MIN_PROBE_S`, at least `E2E_MULTIPLE` × the previous probe's E2E p50
(by Little's law the in-flight count settles within a few request lifetimes, and then holds
for ten more), and long enough to send `MIN_PROBE_REQUESTS`. A probe whose requests had to
wait for the open loop's in-flight cap did not offer its rate, and fails with that reason."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tokenbench.envelope.schema import RunPredicate

MIN_PROBE_S = 5.0
E2E_MULTIPLE = 10.0
MIN_PROBE_REQUESTS = 32
MAX_PROBE_S = 120.0  # a queue at an overloaded probe inflates its E2E: bound the next one

_P99_OF = {  # SLO name → the run distribution whose p99 must meet it
    "ttft_ms": "ttft_from_schedule_ms",
    "e2e_ms": "e2e_from_schedule_ms",
    "tpot_ms": "tpot_ms",
}


def meets_slo_p99(predicate: RunPredicate, slo: dict[str, float]) -> tuple[bool, str]:
    """Whether a run's p99s are within every limit (and the run is valid), and why not."""
    if not predicate.validity.valid:
        return False, "invalid: " + "; ".join(predicate.validity.reasons)
    for name, limit in slo.items():
        dist = getattr(predicate.metrics, _P99_OF[name])
        if dist is None:
            return False, f"no {name} measured"
        if dist.p99 > limit:
            return False, f"{name} p99 {dist.p99:.1f} > {limit:g}"
    return True, "meets the SLO"


@dataclass
class RateSearch:
    slo: dict[str, float]
    start_rps: float = 1.0
    tolerance: float = 0.1  # stop when the bracket's upper end is within 10% of its lower
    max_probes: int = 12
    passed_rps: float | None = None  # highest rate that met the SLO
    # what that probe's schedule offered: the rate the server was shown to sustain (a seeded
    # Poisson draw offers more or less than the nominal rate)
    passed_offered_rps: float | None = None
    failed_rps: float | None = None  # lowest rate that did not
    probes: list[tuple[float, bool, str]] = field(default_factory=list)
    failed_why: str | None = None  # why the lowest failing rate failed
    last_e2e_p50_s: float | None = None  # the last probe's median request lifetime

    def probe_duration_s(
        self, rate: float, min_requests: int | None = None, floor_s: float | None = None
    ) -> float:
        """How long a probe at `rate` runs: past the floor, ten request lifetimes of the last
        probe, and long enough to send the minimum number of requests."""
        lifetimes = min(E2E_MULTIPLE * (self.last_e2e_p50_s or 0.0), MAX_PROBE_S)
        requests = max(min_requests or 0, MIN_PROBE_REQUESTS) / rate
        return round(max(floor_s or MIN_PROBE_S, MIN_PROBE_S, lifetimes, requests), 3)

    def next_rate(self) -> float | None:
        if len(self.probes) >= self.max_probes:
            return None
        if not self.probes:
            return self.start_rps
        if self.failed_rps is None:
            assert self.passed_rps is not None
            return self.passed_rps * 2
        if self.passed_rps is None:
            lower = self.failed_rps / 2
            return lower if lower >= self.start_rps / 64 else None
        if self.failed_rps / self.passed_rps - 1 <= self.tolerance:
            return None
        return round(math.sqrt(self.passed_rps * self.failed_rps), 3)

    def record(self, rate: float, predicate: RunPredicate) -> None:
        ok, why = meets_slo_p99(predicate, self.slo)
        self.probes.append((rate, ok, why))
        e2e = predicate.metrics.e2e_ms
        if e2e is not None:
            self.last_e2e_p50_s = e2e.p50 / 1000
        if ok and rate >= (self.passed_rps or 0.0):
            self.passed_rps = rate
            self.passed_offered_rps = predicate.metrics.offered_rate_rps
        elif not ok and (self.failed_rps is None or rate <= self.failed_rps):
            self.failed_rps, self.failed_why = rate, why

    def answer(self) -> str:
        if self.passed_rps is None:
            return (
                f"no rate met the SLO; the lowest tried, {self.failed_rps:g} req/s, did not "
                f"({self.failed_why})"
            )
        upper = f"{self.failed_rps:g}" if self.failed_rps is not None else "not found"
        failed = (
            f"; {self.failed_rps:g} req/s failed: {self.failed_why}"
            if self.failed_rps is not None
            else f"; no failing rate within {self.max_probes} probes"
        )
        # The nominal rate names the probe; what its seeded schedule offered is what the
        # server was shown to sustain, and can differ by tens of percent on a short draw.
        offered = (
            f"; that probe's schedule offered {self.passed_offered_rps:.4g} req/s"
            if self.passed_offered_rps is not None
            else ""
        )
        return (
            f"highest rate meeting the SLO: {self.passed_rps:g} req/s "
            f"(bracket [{self.passed_rps:g}, {upper}) req/s, {len(self.probes)} probes)"
            f"{offered}{failed}"
        )
