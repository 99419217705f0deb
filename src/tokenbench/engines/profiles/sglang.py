"""SGLang: detected by /get_server_info, which returns its server arguments and version."""

from __future__ import annotations

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

SERVER_INFO = Probe("/get_server_info")


def recognise(answers: Answers) -> Detection | None:
    """/get_server_info is SGLang's own route; its body holds the server arguments
    (`model_path`, `tp_size`) beside `version`."""
    info = json_object(answers.get(SERVER_INFO))
    if info is None or "version" not in info:
        return None
    if "model_path" not in info and "tp_size" not in info:
        return None
    return Detection(version_text(info["version"]))


PROFILE = EngineProfile(
    name="sglang",
    probes=(SERVER_INFO,),
    recognise=recognise,
    honours_ignore_eos=True,
    # SGLang's /tokenize takes vLLM's body and answers `tokens` and `count`
    tokenizers=(
        Tokenizer("/tokenize", lambda text, model: {"prompt": text, "model": model}, token_count),
    ),
    metrics_path="/metrics",  # with `--enable-metrics`
    # python/sglang/srt/metrics/collector.py (SchedulerMetricsCollector,
    # TokenizerMetricsCollector). token_usage is the KV pool's used share (0-1). Prefix-cache
    # hits are cached prompt tokens, queried ones all prompt tokens (counted per finished
    # request). Preemptions are retractions: the counter num_retracted_requests_total (its
    # older gauge num_retracted_reqs is the last batch's). Speculative decoding is reported as
    # gauges only: spec_accept_rate (accepted / drafted in the last logged batch), not counters.
    metrics=frozen(
        {
            MetricRole.KV_CACHE_USAGE: ("sglang:token_usage",),
            MetricRole.REQUESTS_RUNNING: ("sglang:num_running_reqs",),
            MetricRole.REQUESTS_WAITING: ("sglang:num_queue_reqs",),
            MetricRole.TTFT_HISTOGRAM: ("sglang:time_to_first_token_seconds",),
            MetricRole.E2E_HISTOGRAM: ("sglang:e2e_request_latency_seconds",),
            MetricRole.PROMPT_TOKENS_TOTAL: ("sglang:prompt_tokens_total",),
            MetricRole.GENERATION_TOKENS_TOTAL: ("sglang:generation_tokens_total",),
            MetricRole.PREFIX_CACHE_HITS: ("sglang:cached_tokens_total",),
            MetricRole.PREFIX_CACHE_QUERIES: ("sglang:prompt_tokens_total",),
            MetricRole.PREEMPTIONS_TOTAL: ("sglang:num_retracted_requests_total",),
            MetricRole.SPEC_ACCEPT_RATE: ("sglang:spec_accept_rate",),
        }
    ),
)
