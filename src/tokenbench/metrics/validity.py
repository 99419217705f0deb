"""Run validity: whether a run's figures can be trusted as a measurement of the server.

A run is invalid, with every reason listed, when too many requests failed (a server that refuses
load must not look fast), when it was shorter or smaller than asked, or when the client itself
was the bottleneck (its event loop lagged), so latencies would blame the server for the client.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenbench.errors import ConfigError
from tokenbench.metrics.summary import RunMetrics

DEFAULT_MAX_ERROR_RATE = 0.05
DEFAULT_MAX_LOOP_LAG_MS = 25.0  # p99 of the client's event-loop lag
MIN_SEND_SHARE = 0.9  # open loop: the client must send at least 90% of the offered rate
# Open loop: p99 of how late requests left against their schedule. Generous, so a busy client's
# jitter passes; a queue behind the concurrency cap or a stalled client does not.
DEFAULT_MAX_SCHEDULE_LAG_MS = 250.0
# Stragglers: the time from the last successful end to the last end, as a share of the window
DEFAULT_MAX_TAIL_SHARE = 0.2
# --canary: p99 of how late the client stamped the reference server's first chunk under the
# run's load (docs/performance.md, The canary: 2.4-4.5 ms at 16 streams on the shared 2-core
# machine, 5.9-71 ms beside two CPU hogs; the selftest's quiet p99 at 64 streams is 1.03 ms)
DEFAULT_MAX_CANARY_ERROR_MS = 5.0


@dataclass(frozen=True, slots=True)
class ValidityRules:
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE
    min_duration_s: float | None = None
    min_requests: int | None = None
    max_loop_lag_ms: float = DEFAULT_MAX_LOOP_LAG_MS
    max_schedule_lag_ms: float = DEFAULT_MAX_SCHEDULE_LAG_MS
    max_tail_share: float = DEFAULT_MAX_TAIL_SHARE
    max_canary_error_ms: float = DEFAULT_MAX_CANARY_ERROR_MS

    def __post_init__(self) -> None:
        """Limits that could never be met, or always would, are refused before a run starts
        (messages name the `bench run` flags that set them)."""
        if not 0 <= self.max_error_rate <= 1:
            raise ConfigError("--max-error-rate is a fraction between 0 and 1, e.g. 0.05")
        if not 0 < self.max_tail_share <= 1:
            raise ConfigError("--max-tail-share is a fraction of the window, above 0 and at most 1")
        if self.max_canary_error_ms <= 0:
            raise ConfigError("--max-canary-error-ms must be positive (milliseconds)")
        if self.max_schedule_lag_ms <= 0:
            raise ConfigError("--max-schedule-lag must be positive (milliseconds)")
        if self.min_duration_s is not None and self.min_duration_s <= 0:
            raise ConfigError("--min-duration must be positive (seconds)")
        if self.min_requests is not None and self.min_requests < 1:
            raise ConfigError("--min-requests must be at least 1")


def _schedule_reasons(
    metrics: RunMetrics, rules: ValidityRules, requested_rate_rps: float | None
) -> list[str]:
    """Open loop: the client is judged against the schedule it drew (its offered rate), not the
    nominal --rate, which a short seeded Poisson draw misses by chance."""
    if not requested_rate_rps or metrics.send_rate_rps is None:
        return []
    offered = metrics.offered_rate_rps
    if offered is None:  # an envelope from before the offered rate: judged as it was
        if metrics.send_rate_rps < MIN_SEND_SHARE * requested_rate_rps:
            return [
                f"the client sent {metrics.send_rate_rps:.2f} req/s of the "
                f"{requested_rate_rps:g} requested (under 90%): it was saturated, or the "
                "concurrency cap was reached"
            ]
        return []
    reasons = []
    if metrics.send_rate_rps < MIN_SEND_SHARE * offered:
        reasons.append(
            f"the client sent {metrics.send_rate_rps:.2f} req/s of the {offered:.2f} its "
            f"schedule offered (under {MIN_SEND_SHARE:.0%}): it was saturated, or the "
            "concurrency cap was reached"
        )
    lag = metrics.schedule_lag_ms
    if lag is not None and lag.p99 > rules.max_schedule_lag_ms:
        reasons.append(
            f"requests left up to {lag.p99:.0f} ms behind their schedule (p99; limit "
            f"{rules.max_schedule_lag_ms:g} ms): the client or the concurrency cap held them"
        )
    return reasons


def _straggler_reason(metrics: RunMetrics, rules: ValidityRules) -> list[str]:
    """A request that ends long after every successful one stretches the window: whole-window
    throughput then reads low, and the steady-window figure is the one to read."""
    whole, steady = metrics.duration_s, metrics.steady_duration_s
    if not whole or steady is None:
        return []
    tail = whole - steady
    if tail <= rules.max_tail_share * whole:
        return []
    steady_tput = metrics.steady_output_throughput_tok_per_s
    return [
        f"stragglers: the last request ended {tail:.1f} s after the last successful one "
        f"({tail / whole:.0%} of the {whole:.1f} s window, limit {rules.max_tail_share:.0%}); "
        f"throughput over the steady window is {steady_tput or 0.0:.1f} tok/s"
    ]


def validity_reasons(
    metrics: RunMetrics,
    rules: ValidityRules,
    loop_lag_p99_ms: float | None,
    requested_rate_rps: float | None = None,
) -> list[str]:
    reasons = _schedule_reasons(metrics, rules, requested_rate_rps)
    reasons += _straggler_reason(metrics, rules)
    if metrics.requests_measured == 0:
        reasons.append("no request was measured")
    elif metrics.requests_ok == 0:
        reasons.append("no request succeeded")
    if metrics.error_rate is not None and metrics.error_rate > rules.max_error_rate:
        reasons.append(
            f"error rate {metrics.error_rate:.1%} is above --max-error-rate "
            f"{rules.max_error_rate:.1%}"
        )
    if rules.min_duration_s is not None and (metrics.duration_s or 0.0) < rules.min_duration_s:
        reasons.append(
            f"measured for {metrics.duration_s or 0.0:.1f} s, under --min-duration "
            f"{rules.min_duration_s:g} s"
        )
    if rules.min_requests is not None and metrics.requests_measured < rules.min_requests:
        reasons.append(
            f"{metrics.requests_measured} requests measured, under --min-requests "
            f"{rules.min_requests}"
        )
    if loop_lag_p99_ms is not None and loop_lag_p99_ms > rules.max_loop_lag_ms:
        reasons.append(
            f"the client was saturated: event-loop lag p99 {loop_lag_p99_ms:.1f} ms "
            f"(limit {rules.max_loop_lag_ms:g} ms); latencies would include client delay — "
            "use fewer streams or more workers"
        )
    return reasons


def canary_reasons(ttft_error_ms_p99: float | None, rules: ValidityRules) -> list[str]:
    """--canary: the client stamped the reference server's first chunks later than the limit
    under the run's own load, so every latency it measured may be that much too high."""
    if ttft_error_ms_p99 is None or ttft_error_ms_p99 <= rules.max_canary_error_ms:
        return []
    return [
        f"the client's timing error under this load was {ttft_error_ms_p99:.1f} ms (canary "
        f"TTFT error p99; limit {rules.max_canary_error_ms:g} ms, --max-canary-error-ms): "
        "other work shared its cores, or it ran too many streams"
    ]
