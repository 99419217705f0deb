"""GuideLLM's JSON report (`--output kind=json,path=X.json`; 0.8.1). Field names from
vllm-project/guidellm src/guidellm/benchmark/schemas/metrics.py (`GenerativeMetrics`) and
src/guidellm/schemas/statistics.py (`DistributionSummary`): each benchmark's
metrics.{time_to_first_token_ms, inter_token_latency_ms, output_tokens_per_second}.successful
with mean, median and percentiles.p99. Its ITL is each request's mean gap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenbench.conformance.figures import Figures, ResultUnreadable, Stat
from tokenbench.conformance.parsers import ResultParser, load_json, number

TOOL = "guidellm"


def _stat(metrics: Any, name: str) -> Stat:
    base = f"{name}.successful"
    return Stat(
        number(metrics, f"{base}.mean", TOOL),
        number(metrics, f"{base}.median", TOOL, required=False),
        number(metrics, f"{base}.percentiles.p99", TOOL, required=False),
    )


def parse(path: Path) -> Figures:
    data = load_json(path, TOOL)
    benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(benchmarks, list) or not benchmarks:
        raise ResultUnreadable(f"{TOOL}'s result file {path} holds no benchmarks")
    if len(benchmarks) > 1:
        raise ResultUnreadable(
            f"{TOOL}'s result file {path} holds {len(benchmarks)} benchmarks; run one "
            "(--rate-type concurrent with one --rate, or synchronous)"
        )
    metrics = benchmarks[0].get("metrics") if isinstance(benchmarks[0], dict) else None
    completed = number(metrics, "request_totals.successful", TOOL, required=False)
    return Figures(
        requests=int(completed) if completed is not None else None,
        ttft_ms=_stat(metrics, "time_to_first_token_ms"),
        itl_ms=_stat(metrics, "inter_token_latency_ms"),
        itl_kind="request",
        output_tok_per_s=number(metrics, "output_tokens_per_second.successful.mean", TOOL),
    )


PARSER = ResultParser(
    TOOL, "*.json", parse, "vllm-project/guidellm src/guidellm/benchmark/schemas/metrics.py"
)
