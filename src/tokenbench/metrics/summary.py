"""Run-level summary: throughput over the measured window, latency distributions, errors by kind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from tokenbench.metrics.latency import (
    chunk_token_counts,
    e2e_ms,
    itl_ms,
    schedule_lag_ms,
    tpot_ms,
    ttft_ms,
)
from tokenbench.metrics.stats import Distribution, distribution
from tokenbench.records import RequestRecord

NO_ENERGY_REASON = "no energy meter was read for this run"


class RunMetrics(BaseModel):
    """Everything `bench summary` shows, computed from the raw records of one sweep point.

    A figure that could not be measured is None, and `unmeasured` says why.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_total: int  # every record, warmup included
    warmup_requests: int
    requests_measured: int  # non-warmup: the population of every figure below
    requests_ok: int
    requests_failed: int
    error_rate: float | None
    errors_by_kind: dict[str, int]
    duration_s: float | None  # first send → last response end, measured requests
    request_throughput_rps: float | None  # successful requests / duration
    output_throughput_tok_per_s: float | None
    total_throughput_tok_per_s: float | None
    input_tokens_total: int
    cached_input_tokens_total: int | None  # served from a prefix cache, per the server's usage
    output_tokens_total: int
    output_tokens_approximate: bool  # some counts came from chunks, not server usage
    ttft_ms: Distribution | None
    tpot_ms: Distribution | None
    itl_ms: Distribution | None
    itl_approximate: bool  # tokens per chunk were inferred for some requests
    e2e_ms: Distribution | None
    schedule_lag_ms: Distribution | None
    server_ms_per_output_token: Distribution | None  # engine's own timings, a cross-check
    energy_j: float | None  # over the measured window, from the energy counter
    joules_per_token: float | None  # energy / output tokens of successful requests
    joules_per_request: float | None  # energy / successful requests
    unmeasured: dict[str, str]


def _collect(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def summarize(
    records: Sequence[RequestRecord],
    energy_j: float | None = None,
    energy_reason: str | None = None,
) -> RunMetrics:
    """Summarise one run. Warmup records are excluded; failed ones count in errors only.
    `energy_j` covers the measured window; without it, `energy_reason` says why."""
    measured = [r for r in records if not r.warmup]
    ok = [r for r in measured if r.ok]
    failed = [r for r in measured if not r.ok]
    unmeasured: dict[str, str] = {}

    starts = [r.send_ns for r in measured if r.send_ns is not None]
    ends = [r.end_ns for r in measured if r.end_ns is not None]
    duration_s: float | None = None
    if starts and ends and max(ends) > min(starts):
        duration_s = (max(ends) - min(starts)) / 1e9
    else:
        unmeasured["duration_s"] = "no measured request was sent and finished"

    in_tokens = sum(r.input_tokens or 0 for r in ok)
    cached = [r.cached_input_tokens for r in ok if r.cached_input_tokens is not None]
    if not cached:
        unmeasured["cached_input_tokens_total"] = "the server reported no cached-token counts"
    out_tokens = sum(r.output_tokens or 0 for r in ok)

    def per_second(amount: float) -> float | None:
        return amount / duration_s if duration_s else None

    itls: list[float] = []
    itl_approx = False
    for r in ok:
        itls.extend(itl_ms(r))
        if len(r.chunk_ns) > 1 and not chunk_token_counts(r)[1]:
            itl_approx = True

    server_tpot = [
        r.server_timings["predicted_ms"] / r.server_timings["predicted_n"]
        for r in ok
        if r.server_timings and r.server_timings.get("predicted_n")
    ]

    dists = {
        "ttft_ms": distribution(_collect([ttft_ms(r) for r in ok])),
        "tpot_ms": distribution(_collect([tpot_ms(r) for r in ok])),
        "itl_ms": distribution(itls),
        "e2e_ms": distribution(_collect([e2e_ms(r) for r in ok])),
        "schedule_lag_ms": distribution(_collect([schedule_lag_ms(r) for r in measured])),
        "server_ms_per_output_token": distribution(server_tpot),
    }
    reasons = {
        "ttft_ms": "no successful request produced output",
        "tpot_ms": "no successful request produced two or more output tokens",
        "itl_ms": "no successful request produced two or more output chunks",
        "e2e_ms": "no request completed successfully",
        "schedule_lag_ms": "no request was sent",
        "server_ms_per_output_token": "the engine reported no per-request timings",
    }
    for name, dist in dists.items():
        if dist is None:
            unmeasured[name] = reasons[name]

    joules_per_token: float | None = None
    joules_per_request: float | None = None
    if energy_j is None:
        for name in ("energy_j", "joules_per_token", "joules_per_request"):
            unmeasured[name] = energy_reason or NO_ENERGY_REASON
    elif ok:
        joules_per_request = energy_j / len(ok)
        if out_tokens:
            joules_per_token = energy_j / out_tokens
        else:
            unmeasured["joules_per_token"] = "no output tokens to divide the energy by"
    else:
        unmeasured["joules_per_token"] = "no request succeeded"
        unmeasured["joules_per_request"] = "no request succeeded"

    return RunMetrics(
        requests_total=len(records),
        warmup_requests=len(records) - len(measured),
        requests_measured=len(measured),
        requests_ok=len(ok),
        requests_failed=len(failed),
        error_rate=len(failed) / len(measured) if measured else None,
        errors_by_kind=dict(Counter(str(r.error_kind) for r in failed)),
        duration_s=duration_s,
        request_throughput_rps=per_second(len(ok)),
        output_throughput_tok_per_s=per_second(out_tokens),
        total_throughput_tok_per_s=per_second(in_tokens + out_tokens),
        input_tokens_total=in_tokens,
        cached_input_tokens_total=sum(cached) if cached else None,
        output_tokens_total=out_tokens,
        output_tokens_approximate=any(not r.tokens_from_usage for r in ok),
        itl_approximate=itl_approx,
        energy_j=energy_j,
        joules_per_token=joules_per_token,
        joules_per_request=joules_per_request,
        unmeasured=unmeasured,
        **dists,
    )
