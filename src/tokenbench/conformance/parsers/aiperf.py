"""AIPerf's aggregate export, profile_export_aiperf.json in its --artifact-dir. Field names
from ai-dynamo/aiperf aiperf/exporters/json_exporter.py and aiperf/common/models/export_models.py
(`JsonMetricResult`: unit, avg, p50, p99 …), one object per metric tag: time_to_first_token,
inter_token_latency ((latency − TTFT) / (tokens − 1), per request), output_token_throughput."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenbench.conformance.figures import Figures, ResultUnreadable, Stat
from tokenbench.conformance.parsers import ResultParser, load_json, number

TOOL = "aiperf"
_SCALE = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3, "sec": 1e3}  # to ms


def _stat(data: Any, tag: str) -> Stat:
    unit = data.get(tag, {}).get("unit", "ms") if isinstance(data.get(tag), dict) else "ms"
    if unit not in _SCALE:
        raise ResultUnreadable(f"{TOOL}'s result file: {tag} in unknown unit {unit!r}")
    scale = _SCALE[unit]
    values = [number(data, f"{tag}.{key}", TOOL, required=key == "avg") for key in
              ("avg", "p50", "p99")]  # fmt: skip
    mean, p50, p99 = (v * scale if v is not None else None for v in values)
    return Stat(mean, p50, p99)


def parse(path: Path) -> Figures:
    data = load_json(path, TOOL)
    if not isinstance(data, dict):
        raise ResultUnreadable(f"{TOOL}'s result file {path} is not a JSON object")
    count = number(data, "request_count.avg", TOOL, required=False)
    return Figures(
        requests=int(count) if count is not None else None,
        ttft_ms=_stat(data, "time_to_first_token"),
        itl_ms=_stat(data, "inter_token_latency"),
        itl_kind="request",
        output_tok_per_s=number(data, "output_token_throughput.avg", TOOL),
    )


PARSER = ResultParser(
    TOOL, "profile_export_aiperf.json", parse, "ai-dynamo/aiperf aiperf/exporters/json_exporter.py"
)
