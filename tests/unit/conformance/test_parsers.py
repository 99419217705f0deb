"""Result-file parsers on hand-written files shaped as each tool writes them, the truth from
hand-made streams, and the command-line helpers of `bench conformance`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokenbench.conformance.figures import ResultUnreadable, Stat, score
from tokenbench.conformance.parsers import PARSERS
from tokenbench.conformance.runner import ConformanceSettings, fill, pick_parser
from tokenbench.conformance.truth import Stream, read_log, truth
from tokenbench.errors import ConfigError

# vllm-project/vllm vllm/benchmarks/serve.py: benchmark()'s result dict, process_one_metric()
VLLM = {
    "duration": 2.5, "completed": 32, "failed": 0, "total_input_tokens": 256,
    "total_output_tokens": 1024, "request_throughput": 12.8, "output_throughput": 409.6,
    "total_token_throughput": 512.0, "mean_ttft_ms": 51.5, "median_ttft_ms": 51.2,
    "std_ttft_ms": 0.4, "p99_ttft_ms": 53.0, "mean_tpot_ms": 10.1, "median_tpot_ms": 10.1,
    "std_tpot_ms": 0.01, "p99_tpot_ms": 10.2, "mean_itl_ms": 10.05, "median_itl_ms": 10.0,
    "std_itl_ms": 0.2, "p99_itl_ms": 11.0, "mean_e2el_ms": 365.0,
}  # fmt: skip


def _summary(mean: float, median: float, p99: float) -> dict[str, object]:
    # guidellm src/guidellm/schemas/statistics.py: DistributionSummary, Percentiles
    dist = {"mean": mean, "median": median, "mode": median, "variance": 0.0, "std_dev": 0.0,
            "min": mean, "max": p99, "count": 32, "total_sum": 32 * mean,
            "percentiles": {"p001": mean, "p01": mean, "p05": mean, "p10": mean, "p25": mean,
                            "p50": median, "p75": mean, "p90": mean, "p95": mean, "p99": p99,
                            "p999": p99}}  # fmt: skip
    return {"successful": dist, "incomplete": None, "errored": None, "total": dist}


# guidellm src/guidellm/benchmark/schemas/{report,metrics}.py: GenerativeBenchmarksReport →
# benchmarks[].metrics (GenerativeMetrics)
GUIDELLM = {
    "metadata": {"version": 2, "guidellm_version": "0.8.1"},
    "benchmarks": [{"metrics": {
        "request_totals": {"successful": 32, "incomplete": 0, "errored": 0, "total": 32},
        "time_to_first_token_ms": _summary(51.56, 51.39, 54.18),
        "inter_token_latency_ms": _summary(10.006, 10.005, 10.106),
        "output_tokens_per_second": _summary(345.48, 340.0, 400.0),
    }}],
}  # fmt: skip

# ai-dynamo/aiperf aiperf/exporters/json_exporter.py: JsonExportData, one JsonMetricResult
# (aiperf/common/models/export_models.py) per metric tag, in display units
AIPERF = {
    "time_to_first_token": {"unit": "ms", "avg": 52.0, "p50": 51.0, "p99": 60.0, "min": 50.0},
    "inter_token_latency": {"unit": "ms", "avg": 10.2, "p50": 10.1, "p99": 10.9},
    "output_token_throughput": {"unit": "tokens/sec", "avg": 380.0},
    "request_count": {"unit": "requests", "avg": 32},
    "was_cancelled": False,
}


def _write(tmp_path: Path, obj: object, name: str = "result.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def test_vllm_bench_serve_result(tmp_path: Path) -> None:
    figures = PARSERS.get("vllm").parse(_write(tmp_path, VLLM))
    assert figures.requests == 32
    assert figures.ttft_ms == Stat(51.5, 51.2, 53.0)
    assert figures.itl_ms == Stat(10.05, 10.0, 11.0)
    assert figures.itl_kind == "gap"
    assert figures.output_tok_per_s == 409.6


def test_vllm_without_percentiles_reports_the_mean_only(tmp_path: Path) -> None:
    data = {k: v for k, v in VLLM.items() if not k.startswith(("p99", "median"))}
    figures = PARSERS.get("vllm").parse(_write(tmp_path, data))
    assert figures.ttft_ms == Stat(51.5, None, None)


def test_guidellm_report(tmp_path: Path) -> None:
    figures = PARSERS.get("guidellm").parse(_write(tmp_path, GUIDELLM))
    assert figures.requests == 32
    assert figures.ttft_ms == Stat(51.56, 51.39, 54.18)
    assert figures.itl_ms == Stat(10.006, 10.005, 10.106)
    assert figures.itl_kind == "request"
    assert figures.output_tok_per_s == 345.48


def test_guidellm_refuses_several_benchmarks(tmp_path: Path) -> None:
    data = {**GUIDELLM, "benchmarks": GUIDELLM["benchmarks"] * 2}  # type: ignore[operator]
    with pytest.raises(ResultUnreadable, match="holds 2 benchmarks"):
        PARSERS.get("guidellm").parse(_write(tmp_path, data))


def test_aiperf_export_with_units(tmp_path: Path) -> None:
    figures = PARSERS.get("aiperf").parse(_write(tmp_path, AIPERF))
    assert figures.requests == 32
    assert figures.ttft_ms == Stat(52.0, 51.0, 60.0)
    assert figures.itl_kind == "request"
    assert figures.output_tok_per_s == 380.0
    in_ns = {**AIPERF, "time_to_first_token": {"unit": "ns", "avg": 52e6}}
    assert PARSERS.get("aiperf").parse(_write(tmp_path, in_ns)).ttft_ms.mean == 52.0


@pytest.mark.parametrize("tool", ["vllm", "guidellm", "aiperf"])
def test_unreadable_files_are_one_line_errors(tmp_path: Path, tool: str) -> None:
    parser = PARSERS.get(tool)
    for content in ("not json {", json.dumps({"something": "else"}), json.dumps([1, 2])):
        path = tmp_path / "r.json"
        path.write_text(content)
        with pytest.raises(ResultUnreadable) as info:
            parser.parse(path)
        assert "\n" not in str(info.value)
        assert tool in str(info.value)


def test_a_field_that_is_not_a_number(tmp_path: Path) -> None:
    with pytest.raises(ResultUnreadable, match="'mean_ttft_ms' is not a number"):
        PARSERS.get("vllm").parse(_write(tmp_path, {**VLLM, "mean_ttft_ms": "fast"}))


def test_unknown_tool_and_guessing_it() -> None:
    with pytest.raises(ConfigError, match="did you mean 'guidellm'"):
        pick_parser("guidlelm", ["x"])
    assert pick_parser(None, ["/opt/venv/bin/guidellm", "run"]).tool == "guidellm"
    assert pick_parser(None, ["vllm", "bench", "serve"]).tool == "vllm"
    with pytest.raises(ConfigError, match="name it with --tool"):
        pick_parser(None, ["python3", "my_tool.py"])
    with pytest.raises(ConfigError, match="command after --"):
        ConformanceSettings(())


def test_placeholders_are_filled_and_other_braces_kept() -> None:
    argv = fill(["--backend", '{"target":"{url}","model":"{model}"}', "-c{concurrency}"],
                {"url": "http://h:1", "model": "ttft_ms=5", "concurrency": "4"})  # fmt: skip
    assert argv == ("--backend", '{"target":"http://h:1","model":"ttft_ms=5"}', "-c4")


def test_truth_from_streams_in_both_itl_definitions() -> None:
    ms = 1_000_000
    streams = [Stream("a", 0, (50 * ms, 60 * ms, 70 * ms)),
               Stream("b", 10 * ms, (62 * ms, 72 * ms, 92 * ms))]  # fmt: skip
    gap = truth(streams, "gap")
    assert gap.ttft_ms.mean == pytest.approx(51.0)
    assert gap.itl_ms.mean == pytest.approx(12.5)  # gaps 10, 10, 10, 20
    per_request = truth(streams, "request")
    assert per_request.itl_ms.mean == pytest.approx(12.5)  # 10 and 15
    assert per_request.itl_ms.p50 == pytest.approx(12.5)
    assert gap.output_tok_per_s == pytest.approx(6 / 0.092)


def test_read_log_keeps_finished_streams_in_finish_order(tmp_path: Path) -> None:
    lines = [{"id": "late", "recv_ns": 0, "chunk_ns": [5, 9], "outcome": "ok"},
             {"id": "early", "recv_ns": 1, "chunk_ns": [3, 4], "outcome": "ok"},
             {"id": "cut", "recv_ns": 1, "chunk_ns": [3], "outcome": "dropped"}]  # fmt: skip
    (tmp_path / "truth.123").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert [s.id for s in read_log(tmp_path / "truth")] == ["early", "late"]


def test_score_is_reported_minus_truth() -> None:
    ms = 1_000_000
    t = truth([Stream("a", 0, (50 * ms, 60 * ms))], "gap")
    reported = type(t)(1, Stat(55.0, 55.0, None), Stat(10.0), "gap", t.output_tok_per_s)
    s = score("tool", reported, t)
    assert s.ttft_err_ms == Stat(5.0, 5.0, None)
    assert s.throughput_err_pct == pytest.approx(0.0)
