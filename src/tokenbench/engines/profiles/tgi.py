"""Hugging Face TGI (text-generation-inference): detected by /info, its router's own description."""

from __future__ import annotations

from tokenbench.engines.profile import (
    Answers,
    Detection,
    EngineProfile,
    MetricRole,
    Probe,
    frozen,
    json_object,
    version_text,
)

INFO = Probe("/info")
_LIMITS = ("max_input_tokens", "max_total_tokens", "max_concurrent_requests", "max_input_length")


def recognise(answers: Answers) -> Detection | None:
    """/info with `model_id` and the router's own fields (`router`, or its `max_*` limits)."""
    info = json_object(answers.get(INFO))
    if info is None or "model_id" not in info:
        return None
    if "router" not in info and not any(k in info for k in _LIMITS):
        return None
    return Detection(version_text(info.get("version")))


PROFILE = EngineProfile(
    name="tgi",
    probes=(INFO,),
    recognise=recognise,
    metrics_path="/metrics",
    # docs/source/reference/metrics.md (router/src). Histograms of per-request token counts
    # stand in for the token counters: their `_sum` series is the running total. TGI exports no
    # TTFT histogram, KV-cache gauge, preemption or prefix-cache counters.
    metrics=frozen(
        {
            MetricRole.REQUESTS_RUNNING: ("tgi_batch_current_size",),
            MetricRole.REQUESTS_WAITING: ("tgi_queue_size",),
            MetricRole.E2E_HISTOGRAM: ("tgi_request_duration",),
            MetricRole.PROMPT_TOKENS_TOTAL: ("tgi_request_input_length_sum",),
            MetricRole.GENERATION_TOKENS_TOTAL: ("tgi_request_generated_tokens_sum",),
        }
    ),
)
