"""`bench cost`, `bench models`, `bench infra` and `bench recommend` as a user drives them."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.cli import bench
from tests.support.datasets import SHARED_DATASETS, requires_shared
from tests.support.envelopes import write_run_envelope
from tokenbench.pricing.api import api_rate
from tokenbench.records import RequestRecord


def hand_made_run(folder: Path, model_id: str = "m", gpus: list[str] | None = None) -> Path:
    """Two requests, 1,500 tokens in and 500 out each, over exactly one second: 1,000 output
    tok/s and 4,000 tok/s in all."""
    records = [RequestRecord(i, 0, i, False, "p", 0, send_ns=0, first_token_ns=100_000_000,
                             chunk_ns=[100_000_000, 1_000_000_000], end_ns=1_000_000_000,
                             input_tokens=1500, output_tokens=500, tokens_from_usage=True,
                             http_status=200, finish_reason="length")
               for i in range(2)]  # fmt: skip
    return write_run_envelope(folder, records, model_id, gpus)


def test_api_prices(tmp_path: Path) -> None:
    proc = bench("cost", "--provider", "openai", "--model", "gpt-4o-mini", "--report", "json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)[0]
    expected = api_rate("openai", "gpt-4o-mini")
    assert Decimal(row["input_usd_per_mtok"]) == expected.input_usd_per_mtok
    blended = Decimal(row["blended_usd_per_mtok"])
    assert blended == expected.blended(Decimal("0.75"))
    assert row["data_date"]
    assert row["source"].startswith("genai-prices")
    table = bench("cost", "--api", "openai:gpt-4o-mini", "--input-token-share", "0.5")
    assert "Blended" in table.stdout
    assert "bundled data" in table.stdout


def test_bad_cost_input_is_one_line(tmp_path: Path) -> None:
    for args, message in [
        (["--provider", "openaii", "--model", "x"], "did you mean 'openai'"),
        (["--provider", "openai", "--model", "gpt-4o-mnii"], "did you mean 'gpt-4o-mini'"),
        (["--provider", "openai"], "go together"),
        (["--api", "openai"], "PROVIDER:MODEL"),
        (["--api", "openai:gpt-4o-mini", "--input-token-share", "2"], "outside 0..1"),
        ([str(tmp_path)], "--gpu-hourly-usd"),
        (["--gpu-hourly-usd", "abc", str(tmp_path)], "not a number"),
    ]:
        proc = bench("cost", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr.strip().splitlines()[-1], (args, proc.stderr)  # one line


def test_self_hosted_cost_beside_the_api_with_break_even(tmp_path: Path) -> None:
    hand_made_run(tmp_path / "corpus")
    proc = bench("cost", str(tmp_path / "corpus"), "--gpu-hourly-usd", "3.6", "--utilization",
                 "1", "--api", "openai:gpt-4o-mini", "--fixed-monthly-usd", "100",
                 "--report", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)["runs"][0]
    # $3.60/hour ÷ (1,000 tok/s × 3,600 s) × 1M = $1 per 1M output tokens; 4,000 tok/s in all
    assert Decimal(run["self_host_usd_per_mtok_output"]) == 1
    assert Decimal(run["self_host_usd_per_mtok_total"]) == Decimal("0.25")
    assert Decimal(run["run_input_share"]) == Decimal("0.75")
    api: dict[str, Any] = run["apis"][0]
    rate = api_rate("openai", "gpt-4o-mini")
    at_mix = rate.blended(Decimal("0.75"))
    assert Decimal(api["usd_per_mtok_at_run_mix"]) == at_mix
    margin = at_mix - Decimal("0.25")
    if margin > 0:
        assert Decimal(api["break_even_mtok_per_month"]) == Decimal(100) / margin
    else:
        assert api["break_even_mtok_per_month"] is None
    # at 160 columns every header fits on one line (at the piped 100 the table wraps headers)
    table = bench("cost", str(tmp_path / "corpus"), "--gpu-hourly-usd", "3.6", "--api",
                  "openai:gpt-4o-mini", env={**os.environ, "COLUMNS": "160"})  # fmt: skip
    assert "break-even" in table.stdout
    assert "Self $/M out" in table.stdout

    compared = bench("compare", str(tmp_path / "corpus"), "--gpu-hourly-usd", "3.6",
                     "--utilization", "1", "--pareto", "throughput,usd_mtok",
                     "--report", "json")  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    metrics = json.loads(compared.stdout)["runs"][0]["metrics"]
    assert metrics["self_host_usd_per_mtok_output"] == 1.0


def test_each_run_is_priced_by_the_gpus_its_envelope_records(tmp_path: Path) -> None:
    h100, a100 = "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"
    hand_made_run(tmp_path / "h", "on-h100", [h100, h100])
    hand_made_run(tmp_path / "a", "on-a100", [a100])
    hand_made_run(tmp_path / "c", "cpu-only", [])
    proc = bench("cost", str(tmp_path), "--gpu-hourly-usd", "h100=2.49", "--gpu-hourly-usd",
                 "A100=1.29", "--utilization", "1", "--report", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    runs = {r["model_id"]: r for r in json.loads(proc.stdout)["runs"]}
    assert Decimal(runs["on-h100"]["hourly_usd"]) == 2 * Decimal("2.49")
    assert Decimal(runs["on-a100"]["hourly_usd"]) == Decimal("1.29")
    # 1,000 output tok/s at full utilization: $/h ÷ 3.6M tokens × 1M
    per_mtok = Decimal(runs["on-a100"]["self_host_usd_per_mtok_output"])
    exact = Decimal("1.29") / Decimal("3.6")
    assert per_mtok.quantize(Decimal("1e-20")) == exact.quantize(Decimal("1e-20"))
    assert runs["cpu-only"]["hourly_usd"] is None  # no bare price: a CPU machine has no price
    assert runs["cpu-only"]["self_host_usd_per_mtok_output"] is None
    assert "CPU-only" in runs["cpu-only"]["hourly_usd_reason"]
    table = bench("cost", str(tmp_path), "--gpu-hourly-usd", "A100=1.29")
    assert table.returncode == 0, table.stderr
    assert "not priced" in table.stdout
    old = bench("cost", str(tmp_path), "--gpu-hourly-usd", "2", "--gpus", "2")
    assert old.returncode == 2
    assert "envelope records" in old.stderr


def test_infra_json_matches_the_formula() -> None:
    proc = bench("infra", "llama-3.1-8b-instruct", "--quant", "fp16", "--context", "8192",
                 "--concurrency", "16", "--report", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kv_bytes_per_token"] == 2 * 32 * 8 * 128 * 2
    assert doc["kv_total_bytes"] == 16 * 8192 * doc["kv_bytes_per_token"]
    assert {g["gpu"] for g in doc["gpus"] if g["gpus_needed"] == 1} >= {"NVIDIA H100 80GB"}
    table = bench("infra", "Qwen/Qwen2.5-7B-Instruct", "--quant", "int4")
    assert "KV / token" in table.stdout
    unknown = bench("infra", "llama-3.1-8b-instrukt")
    assert unknown.returncode == 2
    assert "did you mean 'llama-3.1-8b-instruct'" in unknown.stderr


@requires_shared
def test_measured_results_beside_published_and_in_recommendations(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"*": [["", "A"]]}))  # always answers A
    server = scripted_server_factory("--answers", str(answers))
    out = tmp_path / "corpus"
    proc = bench("eval", "mmlu", "--limit", "1", "--data", str(SHARED_DATASETS), "--base-url",
                 server.base_url, "--model", "mistral-7b-instruct", "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr

    models = bench("models", "--corpus", str(out), "--report", "json")
    assert models.returncode == 0, models.stderr
    mistral = next(m for m in json.loads(models.stdout) if m["id"] == "mistral-7b-instruct")
    assert mistral["published"]["mmlu"]["value"] == 60.1
    measured = mistral["measured"]["mmlu"]["accuracy"]
    assert measured["total"] == 57  # one item per subject
    table = bench("models", "--corpus", str(out))
    assert "measured here (bench eval)" in table.stdout

    rec = bench("recommend", "--context", "4000", "--budget", "low", "--task", "general",
                "--corpus", str(out), "--report", "json")  # fmt: skip
    assert rec.returncode == 0, rec.stderr
    doc = json.loads(rec.stdout)
    picks = {p["model"]: p for p in doc["shortlist"] + doc["alternatives"]}
    pick = picks["mistral-7b-instruct"]
    assert pick["evidence_tier"] == "measured"
    assert pick["score"] == measured["accuracy"] * 100
    kinds = {e["kind"] for e in pick["evidence"]}
    assert kinds == {"catalog", "measured", "published"}
    assert any("instead of the published 60.1%" in r for r in pick["reasons"])
    text = bench("recommend", "--context", "4000", "--budget", "low", "--corpus", str(out))
    assert "[measured]" in text.stdout
    assert "[published]" in text.stdout
    assert "ranking [0-shot generative, measured (mmlu" in text.stdout  # each ranking's setting
    assert pick["setting"].startswith("0-shot generative, measured")
    assert {"setting": pick["setting"], "models": ["mistral-7b-instruct"]} in doc["rankings"]
