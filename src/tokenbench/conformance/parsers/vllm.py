"""`vllm bench serve --save-result` JSON. Field names from vllm/benchmarks/serve.py
(`benchmark()`'s result dict and `process_one_metric`): mean_/median_/p99_ttft_ms,
mean_/median_/p99_itl_ms (each gap between chunks), output_throughput, completed."""

from __future__ import annotations

from pathlib import Path

from tokenbench.conformance.figures import Figures, Stat
from tokenbench.conformance.parsers import ResultParser, load_json, number

TOOL = "vllm"


def _stat(data: object, name: str) -> Stat:
    return Stat(
        number(data, f"mean_{name}_ms", TOOL),
        number(data, f"median_{name}_ms", TOOL, required=False),
        number(data, f"p99_{name}_ms", TOOL, required=False),  # --metric-percentiles (99)
    )


def parse(path: Path) -> Figures:
    data = load_json(path, TOOL)
    completed = number(data, "completed", TOOL, required=False)
    return Figures(
        requests=int(completed) if completed is not None else None,
        ttft_ms=_stat(data, "ttft"),
        itl_ms=_stat(data, "itl"),
        itl_kind="gap",
        output_tok_per_s=number(data, "output_throughput", TOOL),
    )


PARSER = ResultParser(TOOL, "*.json", parse, "vllm-project/vllm vllm/benchmarks/serve.py")
