"""The reference server's GET /metrics: its live state as llama-server's or vLLM's Prometheus
text, or an endpoint broken on purpose (--metrics absent, malformed, huge, slow)."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from tokenbench.engines.profile import MetricRole
from tokenbench.engines.profiles.vllm import PROFILE as VLLM

METRICS_MODES = ("auto", "live", "absent", "malformed", "huge", "slow")
SLOW_S = 2.0  # --metrics slow answers this late: past any scrape timeout (half the interval)
HUGE_BYTES = 5 * 1024 * 1024  # --metrics huge: past the scraper's 4 MiB cap
MODEL_NAME = "scripted-model"

# vLLM's histogram buckets are fixed per histogram; these stand in with 25 bounds (26 buckets
# with +Inf), about the size of vLLM's own, so a scrape costs what a real vLLM scrape costs.
SECONDS_LE = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
              7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 2560.0, 5120.0)  # fmt: skip
TOKENS_LE = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
             10000.0, 20000.0, 50000.0, 100000.0, 200000.0, 500000.0, 1e6, 2e6, 5e6, 1e7, 2e7,
             5e7, 1e8)  # fmt: skip
# vllm/v1/metrics/loggers.py's histograms beyond the two the profile reads: exported, never read
_OTHER_SECONDS = ("inter_token_latency_seconds", "request_time_per_output_token_seconds",
                  "request_queue_time_seconds", "request_inference_time_seconds",
                  "request_prefill_time_seconds", "request_decode_time_seconds")  # fmt: skip
_OTHER_TOKENS = ("iteration_tokens_total", "request_max_num_generation_tokens",
                 "request_params_n", "request_params_max_tokens")  # fmt: skip


@dataclass(slots=True)
class Histogram:
    """Cumulative bucket counts over fixed bounds, as prometheus_client keeps them."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)  # per bound, not cumulative
    total: float = 0.0
    n: int = 0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * len(self.bounds)
        self.total += value
        self.n += 1
        for i, le in enumerate(self.bounds):
            if value <= le:
                self.counts[i] += 1
                return

    def cumulative(self) -> list[int]:
        out, running = [], 0
        for c in self.counts or [0] * len(self.bounds):
            running += c
            out.append(running)
        return out


def _histograms() -> dict[str, Histogram]:
    return {"ttft_s": Histogram(SECONDS_LE), "e2e_s": Histogram(SECONDS_LE),
            "prompt_tokens": Histogram(TOKENS_LE),
            "generation_tokens": Histogram(TOKENS_LE)}  # fmt: skip


@dataclass
class Live:
    """One process's live state, as its /metrics reports it."""

    processing: int = 0
    deferred: int = 0
    prompt_tokens: int = 0
    predicted_tokens: int = 0
    histograms: dict[str, Histogram] = field(default_factory=_histograms)
    started_s: float = field(default_factory=time.time)  # the `_created` series' value


def metrics_text(live: Live) -> str:
    """Prometheus text exposition in llama.cpp's `llamacpp:` names (tools/server)."""
    series = (
        ("prompt_tokens_total", "counter", "Number of prompt tokens processed.",
         live.prompt_tokens),
        ("prompt_tokens_cached_total", "counter", "Number of prompt tokens served from cache.",
         0),
        ("tokens_predicted_total", "counter", "Number of generation tokens processed.",
         live.predicted_tokens),
        ("requests_processing", "gauge", "Number of requests processing.", live.processing),
        ("requests_deferred", "gauge", "Number of requests deferred.", live.deferred),
    )  # fmt: skip
    return "".join(
        f"# HELP llamacpp:{name} {text}\n# TYPE llamacpp:{name} {kind}\nllamacpp:{name} {value}\n"
        for name, kind, text, value in series
    )


_LABELS = f'engine="0",model_name="{MODEL_NAME}"'


def _vllm_name(role: MetricRole) -> str:
    return VLLM.metric(role)[0]


def _scalar(name: str, kind: str, value: float, created_s: float) -> str:
    """A gauge, or a counter (its family named without `_total`, plus its `_created` series)."""
    family = name.removesuffix("_total") if kind == "counter" else name
    text = (f"# HELP {family} vLLM {kind} {family}.\n# TYPE {family} {kind}\n"
            f"{name}{{{_LABELS}}} {float(value)}\n")  # fmt: skip
    if kind == "counter":
        text += _created(family, created_s)
    return text


def _created(family: str, created_s: float) -> str:
    return (f"# HELP {family}_created vLLM {family}.\n# TYPE {family}_created gauge\n"
            f"{family}_created{{{_LABELS}}} {created_s}\n")  # fmt: skip


def _histogram(name: str, h: Histogram, created_s: float) -> str:
    lines = [f"# HELP {name} vLLM histogram {name}.", f"# TYPE {name} histogram"]
    for le, n in zip(h.bounds, h.cumulative(), strict=True):
        lines.append(f'{name}_bucket{{engine="0",le="{le}",model_name="{MODEL_NAME}"}} {float(n)}')
    lines.append(f'{name}_bucket{{engine="0",le="+Inf",model_name="{MODEL_NAME}"}} {float(h.n)}')
    lines.append(f"{name}_count{{{_LABELS}}} {float(h.n)}")
    lines.append(f"{name}_sum{{{_LABELS}}} {h.total}")
    return "\n".join(lines) + "\n" + _created(name, created_s)


def vllm_metrics_text(live: Live) -> str:
    """vLLM's /metrics (vllm/v1/metrics/loggers.py): the profile's series from the live state
    (KV-cache usage, prefix-cache and preemption counters 0: there are none; no speculative
    series, as vLLM without a draft model), 14 histograms of 26 buckets, each counter's and
    histogram's `_created` series: about 44 KB."""
    t = live.started_s
    h = live.histograms
    role = _vllm_name
    parts = [
        _scalar(role(MetricRole.REQUESTS_RUNNING), "gauge", live.processing, t),
        _scalar(role(MetricRole.REQUESTS_WAITING), "gauge", live.deferred, t),
        _scalar(role(MetricRole.KV_CACHE_USAGE), "gauge", 0.0, t),
        _scalar(role(MetricRole.PROMPT_TOKENS_TOTAL), "counter", live.prompt_tokens, t),
        _scalar(role(MetricRole.GENERATION_TOKENS_TOTAL), "counter", live.predicted_tokens, t),
        *(_scalar(role(r), "counter", 0, t) for r in (
            MetricRole.PREEMPTIONS_TOTAL, MetricRole.PREFIX_CACHE_HITS,
            MetricRole.PREFIX_CACHE_QUERIES)),
        _histogram(role(MetricRole.TTFT_HISTOGRAM), h["ttft_s"], t),
        _histogram(role(MetricRole.E2E_HISTOGRAM), h["e2e_s"], t),
        _histogram("vllm:request_prompt_tokens", h["prompt_tokens"], t),
        _histogram("vllm:request_generation_tokens", h["generation_tokens"], t),
        *(_histogram(f"vllm:{n}", Histogram(SECONDS_LE), t) for n in _OTHER_SECONDS),
        *(_histogram(f"vllm:{n}", Histogram(TOKENS_LE), t) for n in _OTHER_TOKENS),
    ]  # fmt: skip
    return "".join(parts)


def engine_text(engine: str, live: Live) -> str | None:
    """The engine's live /metrics text; None for an engine without one (answered 404)."""
    if engine == "llama.cpp":
        return metrics_text(live)
    if engine == "vllm":
        return vllm_metrics_text(live)
    return None


def malformed_text(engine: str, live: Live) -> str:
    """The live text with one sample of a series the profile reads made unparseable (a
    filter that keeps only the profile's families still meets it)."""
    text = engine_text(engine, live) or ""
    name = "llamacpp:requests_processing" if engine == "llama.cpp" else _vllm_name(
        MetricRole.REQUESTS_RUNNING)  # fmt: skip
    return text + f"{name} not-a-number\n"


@functools.cache
def huge_text() -> str:
    """More than the scraper's cap, in series no profile names."""
    line = 'padding_series{i="%d"} 0\n'
    out, size, i = [], 0, 0
    while size <= HUGE_BYTES:
        piece = line % i
        out.append(piece)
        size += len(piece)
        i += 1
    return "".join(out)


def resolve_mode(mode: str, engine: str) -> str:
    """--metrics auto: llama.cpp's live text (as `llama-server --metrics`), 404 otherwise. A
    vLLM server answers `live` only when asked (--metrics live), so the runs of existing tests
    against `--engine vllm` keep the envelopes they were written against."""
    if mode != "auto":
        return mode
    return "live" if engine == "llama.cpp" else "absent"
