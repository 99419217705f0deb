"""Run-level summary: throughput over the measured window, latency distributions, errors by kind."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from tokenbench.metrics.latency import (
    chunk_token_counts,
    e2e_from_schedule_ms,
    e2e_ms,
    itl_ms,
    prefill_tok_per_s,
    schedule_lag_ms,
    tpot_ms,
    ttft_from_schedule_ms,
    ttft_ms,
)
from tokenbench.metrics.stats import Distribution, distribution
from tokenbench.records import ErrorKind, RequestRecord

NO_ENERGY_REASON = "no energy meter was read for this run"


class RunMetrics(BaseModel):
    """Everything `bench summary` shows, computed from the raw records of one sweep point.

    A figure that could not be measured is None, and `unmeasured` says why.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_total: int  # every record, warmup included
    warmup_requests: int
    cooldown_requests: int  # started in the --cooldown tail
    requests_measured: int  # neither warmup nor cooldown: the population of every figure below
    requests_ok: int
    requests_failed: int
    error_rate: float | None
    errors_by_kind: dict[str, int]
    duration_s: float | None  # first send → last response end, measured requests
    request_throughput_rps: float | None  # successful requests / duration
    output_throughput_tok_per_s: float | None
    input_throughput_tok_per_s: float | None
    total_throughput_tok_per_s: float | None
    input_tokens_total: int
    cached_input_tokens_total: int | None  # served from a prefix cache, per the server's usage
    output_tokens_total: int
    output_tokens_approximate: bool  # some counts came from chunks, not server usage
    requests_multi_token_chunks: int  # a chunk carried >1 token (speculative decoding, batching)
    requests_usage_below_chunks: int  # usage counted fewer tokens than output chunks arrived
    ttft_ms: Distribution | None
    tpot_ms: Distribution | None
    itl_ms: Distribution | None
    itl_approximate: bool  # tokens per chunk were inferred for some requests
    e2e_ms: Distribution | None
    schedule_lag_ms: Distribution | None
    ttft_from_schedule_ms: Distribution | None  # open loop: latency counted from the schedule
    e2e_from_schedule_ms: Distribution | None
    prefill_tok_per_s: Distribution | None  # input tokens / TTFT, per request
    send_rate_rps: float | None  # measured requests sent per second (first to last send)
    slo_attainment: float | None  # measured requests meeting every --slo limit (failures miss)
    goodput_rps: float | None  # requests meeting every --slo limit, per second
    server_ms_per_output_token: Distribution | None  # engine's own timings, a cross-check
    energy_j: float | None  # over the measured window, from the energy counter
    joules_per_token: float | None  # energy / output tokens of successful requests
    joules_per_request: float | None  # energy / successful requests
    unmeasured: dict[str, str]


def _error_key(r: RequestRecord) -> str:
    """HTTP failures by status (http_429, http_503, …): overload and breakage read differently."""
    if r.error_kind == ErrorKind.HTTP and r.http_status:
        return f"http_{r.http_status}"
    return str(r.error_kind)


class _Accumulator:
    """One pass over the records, keeping only numbers: a long run's records stream from disk
    and are never all in memory at once."""

    def __init__(self, slo: dict[str, float] | None) -> None:
        self.total = 0
        self.measured = 0
        self.ok = 0
        self.errors: Counter[str] = Counter()
        self.first_send: int | None = None
        self.last_send: int | None = None
        self.sent = 0
        self.last_end: int | None = None
        self.in_tokens = 0
        self.out_tokens = 0
        self.cached: int | None = None
        self.approx_tokens = False
        self.itl_approx = False
        self.values: dict[str, array[float]] = {name: array("d") for name in _DISTRIBUTIONS}
        self.slo = slo
        self.slo_met = 0
        self.multi_token = 0
        self.cooldown = 0
        self.usage_below = 0

    def add(self, r: RequestRecord) -> None:
        self.total += 1
        if r.cooldown and not r.warmup:
            self.cooldown += 1
        if not r.measured:
            return
        self.measured += 1
        if r.send_ns is not None:
            self.first_send = (
                r.send_ns if self.first_send is None else min(self.first_send, r.send_ns)
            )
            self.last_send = r.send_ns if self.last_send is None else max(self.last_send, r.send_ns)
            self.sent += 1
        if r.end_ns is not None:
            self.last_end = r.end_ns if self.last_end is None else max(self.last_end, r.end_ns)
        lag = schedule_lag_ms(r)
        if lag is not None:
            self.values["schedule_lag_ms"].append(lag)
        if not r.ok:
            self.errors[_error_key(r)] += 1
            return
        self.ok += 1
        self.in_tokens += r.input_tokens or 0
        self.out_tokens += r.output_tokens or 0
        if r.cached_input_tokens is not None:
            self.cached = (self.cached or 0) + r.cached_input_tokens
        self.approx_tokens |= not r.tokens_from_usage
        if r.tokens_from_usage and r.output_tokens is not None:
            chunks = len(r.chunk_ns)
            per_chunk = r.chunk_tokens or []
            if r.output_tokens > chunks or any(t > 1 for t in per_chunk):
                self.multi_token += 1
            elif r.output_tokens < chunks:
                self.usage_below += 1
        for name, fn in (
            ("ttft_ms", ttft_ms),
            ("tpot_ms", tpot_ms),
            ("e2e_ms", e2e_ms),
            ("ttft_from_schedule_ms", ttft_from_schedule_ms),
            ("e2e_from_schedule_ms", e2e_from_schedule_ms),
            ("prefill_tok_per_s", prefill_tok_per_s),
        ):
            v = fn(r)
            if v is not None:
                self.values[name].append(v)
        self.values["itl_ms"].extend(itl_ms(r))
        if len(r.chunk_ns) > 1 and not chunk_token_counts(r)[1]:
            self.itl_approx = True
        if self.slo is not None and meets_slo(r, self.slo):
            self.slo_met += 1
        t = r.server_timings
        if t and t.get("predicted_n"):
            self.values["server_ms_per_output_token"].append(t["predicted_ms"] / t["predicted_n"])


_DISTRIBUTIONS = (
    "ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "schedule_lag_ms", "server_ms_per_output_token",
    "ttft_from_schedule_ms", "e2e_from_schedule_ms", "prefill_tok_per_s",
)  # fmt: skip


SLO_METRICS = {
    # name → per-request value; counted from the scheduled send, so queueing counts against it
    "ttft_ms": ttft_from_schedule_ms,
    "e2e_ms": e2e_from_schedule_ms,
    "tpot_ms": tpot_ms,
}


def meets_slo(r: RequestRecord, slo: dict[str, float]) -> bool:
    """A successful request whose every limited figure exists and is within its limit."""
    if not r.ok:
        return False
    for name, limit in slo.items():
        value = SLO_METRICS[name](r)
        if value is None or value > limit:
            return False
    return True


def summarize(
    records: Iterable[RequestRecord],
    energy_j: float | None = None,
    energy_reason: str | None = None,
    slo: dict[str, float] | None = None,
) -> RunMetrics:
    """Summarise one run in one pass (records may stream from the JSONL sidecar). Warmup
    records are excluded; failed ones count in errors only. `energy_j` covers the measured
    window; without it, `energy_reason` says why."""
    acc = _Accumulator(slo)
    for record in records:
        acc.add(record)
    unmeasured: dict[str, str] = {}
    duration_s: float | None = None
    if acc.first_send is not None and acc.last_end is not None and acc.last_end > acc.first_send:
        duration_s = (acc.last_end - acc.first_send) / 1e9
    else:
        unmeasured["duration_s"] = "no measured request was sent and finished"
    if acc.cached is None:
        unmeasured["cached_input_tokens_total"] = "the server reported no cached-token counts"
    in_tokens, out_tokens = acc.in_tokens, acc.out_tokens
    failed = acc.measured - acc.ok

    def per_second(amount: float) -> float | None:
        return amount / duration_s if duration_s else None

    dists = {name: distribution(acc.values[name]) for name in _DISTRIBUTIONS}
    reasons = {
        "ttft_ms": "no successful request produced output",
        "tpot_ms": "no successful request produced two or more output tokens",
        "itl_ms": "no successful request produced two or more output chunks",
        "e2e_ms": "no request completed successfully",
        "schedule_lag_ms": "no request was sent",
        "server_ms_per_output_token": "the engine reported no per-request timings",
        "ttft_from_schedule_ms": "no successful request produced output",
        "e2e_from_schedule_ms": "no request completed successfully",
        "prefill_tok_per_s": "no successful request reported its input tokens and a first token",
    }
    for name, dist in dists.items():
        if dist is None:
            unmeasured[name] = reasons[name]

    joules_per_token: float | None = None
    joules_per_request: float | None = None
    if energy_j is None:
        for name in ("energy_j", "joules_per_token", "joules_per_request"):
            unmeasured[name] = energy_reason or NO_ENERGY_REASON
    elif acc.ok:
        joules_per_request = energy_j / acc.ok
        if out_tokens:
            joules_per_token = energy_j / out_tokens
        else:
            unmeasured["joules_per_token"] = "no output tokens to divide the energy by"
    else:
        unmeasured["joules_per_token"] = "no request succeeded"
        unmeasured["joules_per_request"] = "no request succeeded"

    send_rate: float | None = None
    if acc.first_send is not None and acc.last_send is not None and acc.last_send > acc.first_send:
        send_rate = (acc.sent - 1) / ((acc.last_send - acc.first_send) / 1e9)
    if slo is None:
        unmeasured["slo_attainment"] = "no --slo given"
        unmeasured["goodput_rps"] = "no --slo given"
    return RunMetrics(
        send_rate_rps=send_rate,
        slo_attainment=acc.slo_met / acc.measured if slo is not None and acc.measured else None,
        goodput_rps=per_second(acc.slo_met) if slo is not None else None,
        requests_total=acc.total,
        warmup_requests=acc.total - acc.measured - acc.cooldown,
        cooldown_requests=acc.cooldown,
        requests_measured=acc.measured,
        requests_ok=acc.ok,
        requests_failed=failed,
        error_rate=failed / acc.measured if acc.measured else None,
        errors_by_kind=dict(sorted(acc.errors.items())),
        duration_s=duration_s,
        request_throughput_rps=per_second(acc.ok),
        output_throughput_tok_per_s=per_second(out_tokens),
        input_throughput_tok_per_s=per_second(in_tokens),
        total_throughput_tok_per_s=per_second(in_tokens + out_tokens),
        input_tokens_total=in_tokens,
        cached_input_tokens_total=acc.cached,
        output_tokens_total=out_tokens,
        output_tokens_approximate=acc.approx_tokens,
        requests_multi_token_chunks=acc.multi_token,
        requests_usage_below_chunks=acc.usage_below,
        itl_approximate=acc.itl_approx,
        energy_j=energy_j,
        joules_per_token=joules_per_token,
        joules_per_request=joules_per_request,
        unmeasured=unmeasured,
        **dists,
    )
