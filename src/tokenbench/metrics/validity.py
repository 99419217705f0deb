"""Run validity: whether a run's figures can be trusted as a measurement of the server.

A run is invalid, with every reason listed, when too many requests failed (a server that refuses
load must not look fast), when it was shorter or smaller than asked, or when the client itself
was the bottleneck (its event loop lagged), so latencies would blame the server for the client.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenbench.metrics.summary import RunMetrics

DEFAULT_MAX_ERROR_RATE = 0.05
DEFAULT_MAX_LOOP_LAG_MS = 25.0  # p99 of the client's event-loop lag


@dataclass(frozen=True, slots=True)
class ValidityRules:
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE
    min_duration_s: float | None = None
    min_requests: int | None = None
    max_loop_lag_ms: float = DEFAULT_MAX_LOOP_LAG_MS


def validity_reasons(
    metrics: RunMetrics,
    rules: ValidityRules,
    loop_lag_p99_ms: float | None,
    requested_rate_rps: float | None = None,
) -> list[str]:
    reasons = []
    if (
        requested_rate_rps
        and metrics.send_rate_rps is not None
        and metrics.send_rate_rps < 0.9 * requested_rate_rps
    ):
        reasons.append(
            f"the client sent {metrics.send_rate_rps:.2f} req/s of the {requested_rate_rps:g} "
            "requested (under 90%): it was saturated, or the concurrency cap was reached"
        )
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
