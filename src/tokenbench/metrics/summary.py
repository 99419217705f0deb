"""Run-level summary: throughput over the measured window, latency distributions, errors by kind."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenbench.engines.profile import TIMING_OUTPUT_MS, TIMING_OUTPUT_TOKENS
from tokenbench.metrics.latency import (
    chunk_token_counts,
    e2e_from_schedule_ms,
    e2e_ms,
    itl_ms,
    prefill_tok_per_s,
    schedule_lag_ms,
    tokens_between,
    tpot_ms,
    ttfat_ms,
    ttft_from_schedule_ms,
    ttft_ms,
)
from tokenbench.metrics.sessions import (
    SessionAccumulator,
    SessionFigures,
    TurnFigures,
    cache_hit,
    ttft_cache_hit_ms,
    ttft_cache_miss_ms,
)
from tokenbench.metrics.stats import Distribution, distribution
from tokenbench.records import ErrorKind, RequestRecord

NO_ENERGY_REASON = "no energy meter was read for this run"

# What the figures mean, by version: an envelope states the definitions it was computed with, and
# `bench verify` recomputes it with the same ones, so envelopes written before a change verify.
#  1: the first definitions.
#  2: a one-token answer meets a TPOT limit (vLLM's goodput); an EOS token counted in usage but
#     streamed without text is not a multi-token chunk; with --cooldown, output throughput and
#     J/tok count the tokens that arrived in the fixed window the energy counter spans.
DEFINITIONS = 2
# Figures added with definitions 2: an older envelope neither states them nor their reasons.
_SINCE_2 = (
    "offered_rate_rps", "steady_duration_s", "steady_output_throughput_tok_per_s",
    "window_output_tokens", "reasoning_tokens_total",
)  # fmt: skip


class RunMetrics(BaseModel):
    """Everything `bench summary` shows, computed from the raw records of one sweep point.

    A figure that could not be measured is None, and `unmeasured` says why.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    definitions: int = 1  # which definitions the figures follow (see DEFINITIONS)
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
    # Open loop: (measured requests − 1) / (last − first scheduled send): the rate the seeded
    # schedule actually offered, which a short Poisson draw can miss the nominal --rate by far.
    offered_rate_rps: float | None = None
    steady_duration_s: float | None = None  # first send → last *successful* end
    steady_output_throughput_tok_per_s: float | None = None  # output tokens / steady duration
    # --cooldown: output tokens that arrived in the fixed window (fractional where tokens per
    # chunk were inferred); output throughput and J/tok use it
    window_output_tokens: float | None = None
    # Reasoning models: the reasoning tokens the server's usage reports
    # (completion_tokens_details); TTFAT is in `distributions`
    reasoning_tokens_total: int | None = None
    # Per-request distributions added since the fields above were fixed, keyed by metric name
    # (REQUEST_METRICS): a new metric is a new key, never a schema change. A measured metric
    # has a key; an unmeasured one is in `unmeasured` with its reason.
    distributions: dict[str, Distribution] = Field(default_factory=dict)
    # The prefix cache: cached input tokens / input tokens, over the successful requests whose
    # cached count the server reported (null when none did), and the requests it served
    # mostly from cache.
    prefix_cache_hit_rate: float | None = None
    cache_hit_requests: int | None = None
    # Session workloads (multi-turn, agentic, a replayed trace): per turn position, and whole
    # conversations; empty / null for independent requests.
    by_turn: dict[str, TurnFigures] = Field(default_factory=dict)
    sessions: SessionFigures | None = None
    # Tokenizer-fair speed: the generated text (answer, reasoning, tool-call arguments) of the
    # successful requests in UTF-8 bytes and whitespace-separated words, per second of the
    # output throughput's window; null when the records predate the counts.
    output_bytes_total: int | None = None
    output_words_total: int | None = None
    output_bytes_per_s: float | None = None
    output_words_per_s: float | None = None
    tokens_per_word: float | None = None  # output tokens / output words: the tokenizer's ratio

    def distribution(self, name: str) -> Distribution | None:
        """A per-request metric's distribution by name, wherever the run stores it."""
        if name in type(self).model_fields:
            value = getattr(self, name)
            return value if isinstance(value, Distribution) else None
        return self.distributions.get(name)


def _error_key(r: RequestRecord) -> str:
    """HTTP failures by status (http_429, http_503, …): overload and breakage read differently."""
    if r.error_kind == ErrorKind.HTTP and r.http_status:
        return f"http_{r.http_status}"
    return str(r.error_kind)


class _Accumulator:
    """One pass over the records, keeping only numbers: a long run's records stream from disk
    and are never all in memory at once."""

    def __init__(
        self, slo: dict[str, float] | None, definitions: int, window_ns: tuple[int, int] | None
    ) -> None:
        self.total = 0
        self.measured = 0
        self.ok = 0
        self.errors: Counter[str] = Counter()
        self.first_send: int | None = None
        self.last_send: int | None = None
        self.sent = 0
        self.first_sched: int | None = None
        self.last_sched: int | None = None
        self.last_end: int | None = None
        self.last_ok_end: int | None = None
        self.in_tokens = 0
        self.out_tokens = 0
        self.text = _TextTotals()
        self.cached: int | None = None
        self.reasoning: int | None = None
        self.approx_tokens = False
        self.itl_approx = False
        self.values: dict[str, array[float]] = {name: array("d") for name in _DISTRIBUTIONS}
        self.slo = slo
        self.slo_met = 0
        self.multi_token = 0
        self.cooldown = 0
        self.usage_below = 0
        self.definitions = definitions
        self.window_ns = window_ns
        self.window_tokens = 0.0
        self.cache_hits = 0
        self.cached_inputs = 0  # input tokens of the requests that report a cached count
        self.sessions = SessionAccumulator(
            None if slo is None else (lambda r: meets_slo(r, slo, definitions))
        )

    def add(self, r: RequestRecord) -> None:
        if r.canary:  # --canary: the reference server's, not the target's; in no figure
            return
        self.total += 1
        if r.cooldown and not r.warmup:
            self.cooldown += 1
        if self.window_ns is not None and not r.warmup and r.ok:
            # the fixed window counts every arrival in it, cooldown requests' included
            in_window = tokens_between(r, *self.window_ns)
            self.window_tokens += in_window
            self.text.add_window(r, in_window)
        if not r.measured:
            return
        self.measured += 1
        self._add_times(r)
        self.sessions.add(r)
        if not r.ok:
            self.errors[_error_key(r)] += 1
            return
        self.ok += 1
        if r.end_ns is not None:
            self.last_ok_end = _later(self.last_ok_end, r.end_ns)
        self.in_tokens += r.input_tokens or 0
        self.out_tokens += r.output_tokens or 0
        self.text.add(r)
        if r.cached_input_tokens is not None:
            self.cached = (self.cached or 0) + r.cached_input_tokens
            self.cache_hits += bool(cache_hit(r))
            self.cached_inputs += r.input_tokens or 0
        if r.reasoning_tokens is not None:
            self.reasoning = (self.reasoning or 0) + r.reasoning_tokens
        self.approx_tokens |= not r.tokens_from_usage
        self._add_chunking(r)
        for name, fn in _PER_REQUEST:
            v = fn(r)
            if v is not None:
                self.values[name].append(v)
        self.values["itl_ms"].extend(itl_ms(r))
        if len(r.chunk_ns) > 1 and not chunk_token_counts(r)[1]:
            self.itl_approx = True
        if self.slo is not None and meets_slo(r, self.slo, self.definitions):
            self.slo_met += 1
        t = r.server_timings  # normalised by the engine profile's timings parser
        if t and t.get(TIMING_OUTPUT_TOKENS):
            per_token = t[TIMING_OUTPUT_MS] / t[TIMING_OUTPUT_TOKENS]
            self.values["server_ms_per_output_token"].append(per_token)

    def _add_times(self, r: RequestRecord) -> None:
        if r.send_ns is not None:
            self.first_send = _earlier(self.first_send, r.send_ns)
            self.last_send = _later(self.last_send, r.send_ns)
            self.sent += 1
        self.first_sched = _earlier(self.first_sched, r.scheduled_ns)
        self.last_sched = _later(self.last_sched, r.scheduled_ns)
        if r.end_ns is not None:
            self.last_end = _later(self.last_end, r.end_ns)
        lag = schedule_lag_ms(r)
        if lag is not None:
            self.values["schedule_lag_ms"].append(lag)

    def _add_chunking(self, r: RequestRecord) -> None:
        """Usage against chunks: more tokens than chunks means a chunk carried several, except
        for an EOS token that usage counts and the stream ends without text (llama-server)."""
        if not r.tokens_from_usage or r.output_tokens is None:
            return
        chunks = len(r.chunk_ns)
        per_chunk = r.chunk_tokens or []
        if self.definitions >= 2 and _textless_eos(r):
            return
        if r.output_tokens > chunks or any(t > 1 for t in per_chunk):
            self.multi_token += 1
        elif r.output_tokens < chunks:
            self.usage_below += 1


def _earlier(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


def _later(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)


def _textless_eos(r: RequestRecord) -> bool:
    """One token more in usage than text chunks, no per-chunk counts, and the stream stopped
    (not cut at max_tokens): the extra token is the end-of-sequence token, sent without text."""
    return (
        r.chunk_tokens is None
        and r.output_tokens == len(r.chunk_ns) + 1
        and r.finish_reason == "stop"
    )


class _TextTotals:
    """Bytes and words of the successful measured requests' text, and with a fixed window
    (--cooldown) the share of them that arrived in it."""

    def __init__(self) -> None:
        self.bytes = 0
        self.words = 0
        self.uncounted = 0  # successful measured requests recorded without the counts
        self.window_bytes = 0.0
        self.window_words = 0.0

    def add(self, r: RequestRecord) -> None:
        if r.output_bytes is None or r.output_words is None:
            self.uncounted += 1
            return
        self.bytes += r.output_bytes
        self.words += r.output_words

    def add_window(self, r: RequestRecord, tokens_in_window: float) -> None:
        """Chunks carry no byte counts: a request's text is spread over its tokens, so the
        window holds the share of its bytes that its tokens there hold."""
        total = sum(chunk_token_counts(r)[0])
        if r.output_bytes is None or r.output_words is None or not total:
            return
        share = tokens_in_window / total
        self.window_bytes += r.output_bytes * share
        self.window_words += r.output_words * share


@dataclass(frozen=True, slots=True)
class RequestMetric:
    """A distribution over the measured requests, declared once: the accumulator, the reasons
    for a null figure and the run's fields all follow this table."""

    name: str  # the JSON key (a RunMetrics field for the first nine, else in `distributions`)
    unmeasured: str  # why the figure is null when no request defined it
    # the request's value; None: gathered apart (ITL per chunk, the lag of every sent request,
    # the engine's own timings)
    per_request: Callable[[RequestRecord], float | None] | None = None
    unit: str = "ms"
    better: Literal["lower", "higher"] = "lower"
    # what a `--slo NAME=LIMIT` on this metric checks per request (None: not an SLO metric);
    # latencies are counted from the scheduled send, so queueing counts against the limit
    slo: Callable[[RequestRecord], float | None] | None = None


REQUEST_METRICS = (
    RequestMetric("ttft_ms", "no successful request produced output", ttft_ms,
                  slo=ttft_from_schedule_ms),
    RequestMetric("tpot_ms", "no successful request produced two or more output tokens", tpot_ms,
                  slo=tpot_ms),
    RequestMetric("itl_ms", "no successful request produced two or more output chunks"),
    RequestMetric("e2e_ms", "no request completed successfully", e2e_ms,
                  slo=e2e_from_schedule_ms),
    RequestMetric("schedule_lag_ms", "no request was sent"),
    RequestMetric("server_ms_per_output_token", "the engine reported no per-request timings"),
    RequestMetric("ttft_from_schedule_ms", "no successful request produced output",
                  ttft_from_schedule_ms),
    RequestMetric("e2e_from_schedule_ms", "no request completed successfully",
                  e2e_from_schedule_ms),
    RequestMetric("prefill_tok_per_s",
                  "no successful request reported its input tokens and a first token",
                  prefill_tok_per_s, unit="tok/s", better="higher"),
    RequestMetric("ttfat_ms",
                  "no successful request produced answer content (only reasoning, or nothing)",
                  ttfat_ms),
    RequestMetric("ttft_cache_hit_ms",
                  "no successful request was served mostly from the prefix cache (or the server "
                  "reports no cached tokens)", ttft_cache_hit_ms),
    RequestMetric("ttft_cache_miss_ms",
                  "every successful request was served mostly from the prefix cache (or the "
                  "server reports no cached tokens)", ttft_cache_miss_ms),
)  # fmt: skip
_DISTRIBUTIONS = tuple(m.name for m in REQUEST_METRICS)
_UNMEASURED = {m.name: m.unmeasured for m in REQUEST_METRICS}
_PER_REQUEST = tuple((m.name, m.per_request) for m in REQUEST_METRICS if m.per_request)


# --slo names → the per-request value each limit checks, from the table
SLO_METRICS = {m.name: m.slo for m in REQUEST_METRICS if m.slo is not None}


def meets_slo(r: RequestRecord, slo: dict[str, float], definitions: int = DEFINITIONS) -> bool:
    """A successful request whose every limited figure is within its limit. A one-token answer
    has no TPOT and meets a TPOT limit (as vLLM's goodput counts it); definitions 1 failed it."""
    if not r.ok:
        return False
    for name, limit in slo.items():
        value = SLO_METRICS[name](r)
        one_token = r.output_tokens is not None and r.output_tokens < 2
        if value is None and name == "tpot_ms" and one_token and definitions >= 2:
            continue
        if value is None or value > limit:
            return False
    return True


def summarize(
    records: Iterable[RequestRecord],
    energy_j: float | None = None,
    energy_reason: str | None = None,
    slo: dict[str, float] | None = None,
    *,
    definitions: int = DEFINITIONS,
    open_loop: bool = False,
    window_ns: tuple[int, int] | None = None,
) -> RunMetrics:
    """Summarise one run in one pass (records may stream from the JSONL sidecar). Warmup
    records are excluded; failed ones count in errors only. `energy_j` covers the measured
    window; without it, `energy_reason` says why. `definitions` picks the figures' definitions
    (an older envelope's, to verify it); `open_loop` adds the offered rate; `window_ns`
    (--cooldown: the fixed window the energy counter spans, on the records' clock) is where
    output throughput and J/tok count token arrivals."""
    acc = _Accumulator(slo, definitions, window_ns if definitions >= 2 else None)
    for record in records:
        acc.add(record)
    unmeasured: dict[str, str] = {}
    duration_s = _duration(acc, unmeasured)
    in_tokens, out_tokens = acc.in_tokens, acc.out_tokens

    def per_second(amount: float) -> float | None:
        return amount / duration_s if duration_s else None

    dists = {name: distribution(acc.values[name]) for name in _DISTRIBUTIONS}
    unmeasured.update({name: _UNMEASURED[name] for name, d in dists.items() if d is None})
    fields = {name: d for name, d in dists.items() if name in RunMetrics.model_fields}
    in_map = {name: d for name, d in dists.items() if name not in fields and d is not None}
    window = _window_figures(acc, unmeasured, open_loop)
    output_throughput = window.pop("output_throughput", per_second(out_tokens))
    in_window = window["window_output_tokens"]
    tokens_for_energy = in_window if in_window is not None else out_tokens
    energy = _energy_figures(energy_j, energy_reason, acc.ok, tokens_for_energy, unmeasured)
    if slo is None:
        unmeasured["slo_attainment"] = "no --slo given"
        unmeasured["goodput_rps"] = "no --slo given"
    if definitions < 2:
        unmeasured = {k: v for k, v in unmeasured.items() if k not in _SINCE_2}
    return RunMetrics(
        definitions=definitions,
        send_rate_rps=_rate(acc.sent, acc.first_send, acc.last_send),
        slo_attainment=acc.slo_met / acc.measured if slo is not None and acc.measured else None,
        goodput_rps=per_second(acc.slo_met) if slo is not None else None,
        duration_s=duration_s,
        request_throughput_rps=per_second(acc.ok),
        output_throughput_tok_per_s=output_throughput,
        input_throughput_tok_per_s=per_second(in_tokens),
        total_throughput_tok_per_s=per_second(in_tokens + out_tokens),
        energy_j=energy_j,
        unmeasured=unmeasured,
        **_counts(acc),
        **energy,
        **window,
        **fields,
        distributions=in_map,
        **_cache_and_sessions(acc, duration_s, unmeasured),
        **_text_figures(acc, duration_s, unmeasured),
    )


_NO_TEXT_COUNTS = ("successful requests were recorded without the generated text's byte and "
                   "word counts (a sidecar older than them)")  # fmt: skip


def _text_figures(
    acc: _Accumulator, duration_s: float | None, unmeasured: dict[str, str]
) -> dict[str, Any]:
    """Bytes/s and words/s over the output throughput's window, and tokens per word."""
    names = ("output_bytes_total", "output_words_total", "output_bytes_per_s",
             "output_words_per_s", "tokens_per_word")  # fmt: skip
    out: dict[str, Any] = dict.fromkeys(names)
    text = acc.text
    if text.uncounted:
        unmeasured.update(dict.fromkeys(names, _NO_TEXT_COUNTS))
        return out
    out["output_bytes_total"], out["output_words_total"] = text.bytes, text.words
    seconds, amounts = duration_s, (float(text.bytes), float(text.words))
    if acc.window_ns is not None:  # --cooldown: the window output throughput is counted over
        seconds = (acc.window_ns[1] - acc.window_ns[0]) / 1e9
        amounts = (text.window_bytes, text.window_words)
    if seconds and seconds > 0:
        out["output_bytes_per_s"] = amounts[0] / seconds
        out["output_words_per_s"] = amounts[1] / seconds
    else:
        why = unmeasured.get("duration_s", "the throughput window is empty")
        unmeasured["output_bytes_per_s"] = unmeasured["output_words_per_s"] = why
    if text.words:
        out["tokens_per_word"] = acc.out_tokens / text.words
    else:
        unmeasured["tokens_per_word"] = "the successful requests generated no words"
    return out


def _cache_and_sessions(
    acc: _Accumulator, duration_s: float | None, unmeasured: dict[str, str]
) -> dict[str, Any]:
    """The prefix cache's share of the input, and the per-turn and per-session figures."""
    out: dict[str, Any] = {"prefix_cache_hit_rate": None, "cache_hit_requests": None}
    if acc.cached is None:
        why = "the server reported no cached-token counts"
        unmeasured["prefix_cache_hit_rate"] = unmeasured["cache_hit_requests"] = why
    elif not acc.cached_inputs:
        unmeasured["prefix_cache_hit_rate"] = "no successful request reported its input tokens"
        out["cache_hit_requests"] = acc.cache_hits
    else:
        out["prefix_cache_hit_rate"] = acc.cached / acc.cached_inputs
        out["cache_hit_requests"] = acc.cache_hits
    out["by_turn"] = acc.sessions.by_turn()
    out["sessions"] = acc.sessions.sessions(duration_s)
    if out["sessions"] is None:
        unmeasured["sessions"] = "the requests belong to no session (not a session workload)"
    return out


def _counts(acc: _Accumulator) -> dict[str, Any]:
    """What the run counted: requests by outcome and phase, tokens, and how exact they are."""
    failed = acc.measured - acc.ok
    return {
        "requests_total": acc.total,
        "warmup_requests": acc.total - acc.measured - acc.cooldown,
        "cooldown_requests": acc.cooldown,
        "requests_measured": acc.measured,
        "requests_ok": acc.ok,
        "requests_failed": failed,
        "error_rate": failed / acc.measured if acc.measured else None,
        "errors_by_kind": dict(sorted(acc.errors.items())),
        "input_tokens_total": acc.in_tokens,
        "cached_input_tokens_total": acc.cached,
        "reasoning_tokens_total": acc.reasoning,
        "output_tokens_total": acc.out_tokens,
        "output_tokens_approximate": acc.approx_tokens,
        "requests_multi_token_chunks": acc.multi_token,
        "requests_usage_below_chunks": acc.usage_below,
        "itl_approximate": acc.itl_approx,
    }


def _duration(acc: _Accumulator, unmeasured: dict[str, str]) -> float | None:
    """First measured send → last response end; and the reasons for the token totals that
    the server did not report."""
    if acc.cached is None:
        unmeasured["cached_input_tokens_total"] = "the server reported no cached-token counts"
    if acc.reasoning is None:
        unmeasured["reasoning_tokens_total"] = "the server's usage reported no reasoning tokens"
    if acc.first_send is not None and acc.last_end is not None and acc.last_end > acc.first_send:
        return (acc.last_end - acc.first_send) / 1e9
    unmeasured["duration_s"] = "no measured request was sent and finished"
    return None


def _rate(count: int, first: int | None, last: int | None) -> float | None:
    """(count − 1) events over first → last: the mean rate between them."""
    if first is None or last is None or last <= first:
        return None
    return (count - 1) / ((last - first) / 1e9)


def _window_figures(
    acc: _Accumulator, unmeasured: dict[str, str], open_loop: bool
) -> dict[str, float | None]:
    """The offered rate, the steady window (first send → last successful end) and, with a
    fixed window, the output throughput over it (key `output_throughput`, popped by the caller)."""
    out: dict[str, float | None] = {}
    out["offered_rate_rps"] = (
        _rate(acc.measured, acc.first_sched, acc.last_sched) if open_loop else None
    )
    if out["offered_rate_rps"] is None:
        unmeasured["offered_rate_rps"] = (
            "fewer than two measured requests were scheduled"
            if open_loop
            else "closed loop: requests follow each other, not a schedule"
        )
    steady: float | None = None
    first, last_ok = acc.first_send, acc.last_ok_end
    if first is not None and last_ok is not None and last_ok > first:
        steady = (last_ok - first) / 1e9
    out["steady_duration_s"] = steady
    out["steady_output_throughput_tok_per_s"] = acc.out_tokens / steady if steady else None
    if steady is None:
        for name in ("steady_duration_s", "steady_output_throughput_tok_per_s"):
            unmeasured[name] = "no measured request succeeded after its send"
    out["window_output_tokens"] = None
    if acc.window_ns is None:
        unmeasured["window_output_tokens"] = "no --cooldown: throughput spans the measured requests"
        return out
    start, end = acc.window_ns
    out["window_output_tokens"] = acc.window_tokens
    out["output_throughput"] = acc.window_tokens / ((end - start) / 1e9) if end > start else None
    return out


def _energy_figures(
    energy_j: float | None,
    energy_reason: str | None,
    ok: int,
    tokens: float,
    unmeasured: dict[str, str],
) -> dict[str, float | None]:
    """J/tok and J/request; `tokens` are those of the window the energy counter spans."""
    out: dict[str, float | None] = {"joules_per_token": None, "joules_per_request": None}
    if energy_j is None:
        for name in ("energy_j", "joules_per_token", "joules_per_request"):
            unmeasured[name] = energy_reason or NO_ENERGY_REASON
    elif ok:
        out["joules_per_request"] = energy_j / ok
        if tokens:
            out["joules_per_token"] = energy_j / tokens
        else:
            unmeasured["joules_per_token"] = "no output tokens to divide the energy by"
    else:
        unmeasured["joules_per_token"] = "no request succeeded"
        unmeasured["joules_per_request"] = "no request succeeded"
    return out


def summary_inputs(predicate: Any) -> dict[str, Any]:
    """What `summarize` needs besides the records, as a run envelope states it (the run
    predicate, or its JSON form): `bench verify` recomputes with the definitions it states."""
    doc = predicate if isinstance(predicate, dict) else predicate.model_dump(mode="json")
    energy, load = doc["energy"], doc["parameters"]["load"]
    start, end = energy.get("window_start_ns"), energy.get("window_end_ns")
    return {
        "energy_j": energy.get("energy_j"),
        "energy_reason": energy.get("reason"),
        "slo": doc["parameters"].get("slo"),
        # a draft (no metrics yet) is summarised with today's definitions
        "definitions": doc["metrics"]["definitions"] if "metrics" in doc else DEFINITIONS,
        "open_loop": load.get("rate_rps") is not None,
        "window_ns": (start, end) if start is not None and end is not None else None,
    }
