"""vLLM: detected by /version plus vLLM's own evidence (`owned_by: vllm`, `vllm:` series)."""

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

VERSION = Probe("/version")
MODELS = Probe("/models", api=True)
METRICS = Probe("/metrics")


def _owned_by_vllm(body: bytes | None) -> bool:
    models = json_object(body)
    data = models.get("data") if models else None
    return isinstance(data, list) and any(
        isinstance(m, dict) and m.get("owned_by") == "vllm" for m in data
    )


def recognise(answers: Answers) -> Detection | None:
    """/version is answered by many servers; vLLM is named only when its model list says
    `owned_by: "vllm"` or its /metrics exports `vllm:` series."""
    version = json_object(answers.get(VERSION))
    if version is None or "version" not in version:
        return None
    metrics = answers.get(METRICS)
    if not (_owned_by_vllm(answers.get(MODELS)) or (metrics is not None and b"vllm:" in metrics)):
        return None
    return Detection(version_text(version["version"]))


PROFILE = EngineProfile(
    name="vllm",
    probes=(VERSION, MODELS, METRICS),
    recognise=recognise,
    honours_ignore_eos=True,
    tokenizers=(
        Tokenizer("/tokenize", lambda text, model: {"prompt": text, "model": model}, token_count),
    ),
    metrics_path="/metrics",
    # vllm/v1/metrics/loggers.py (PrometheusStatLogger). Counters are declared without `_total`;
    # prometheus_client adds it to the exposed sample, which is the name given here.
    metrics=frozen(
        {
            # kv_cache_usage_perc replaced gpu_cache_usage_perc (still read from older vLLM)
            MetricRole.KV_CACHE_USAGE: ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
            MetricRole.REQUESTS_RUNNING: ("vllm:num_requests_running",),
            MetricRole.REQUESTS_WAITING: ("vllm:num_requests_waiting",),
            MetricRole.TTFT_HISTOGRAM: ("vllm:time_to_first_token_seconds",),
            MetricRole.E2E_HISTOGRAM: ("vllm:e2e_request_latency_seconds",),
            MetricRole.PROMPT_TOKENS_TOTAL: ("vllm:prompt_tokens_total",),
            MetricRole.GENERATION_TOKENS_TOTAL: ("vllm:generation_tokens_total",),
            MetricRole.PREEMPTIONS_TOTAL: ("vllm:num_preemptions_total",),
            MetricRole.PREFIX_CACHE_HITS: ("vllm:prefix_cache_hits_total",),
            MetricRole.PREFIX_CACHE_QUERIES: ("vllm:prefix_cache_queries_total",),
            MetricRole.SPEC_ACCEPTED: ("vllm:spec_decode_num_accepted_tokens_total",),
            MetricRole.SPEC_DRAFTED: ("vllm:spec_decode_num_draft_tokens_total",),
        }
    ),
)
