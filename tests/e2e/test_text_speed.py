"""Tokenizer-fair speed end to end against the scripted server, whose every token is the 4-byte
word " tok" (and " think" while reasoning): each request records its text's bytes and words,
`bench summary` and `bench compare` report bytes/s and words/s, and `--unit words` compares in
words."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, records
from tokenbench.envelope import keys
from tokenbench.verification import verify_file

TOKENS = 24
SCENARIOS = {"fast": f"ttft_ms=5;itl_ms=1;tokens={TOKENS}",
             "thinker": f"ttft_ms=5;itl_ms=2;tokens={TOKENS};reasoning=8"}  # fmt: skip


@pytest.fixture
def corpus(scripted_server: ScriptedServer, tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for name, scenario in SCENARIOS.items():
        proc = bench("run", "llm.inference.chatbot-short", "--base-url",
                     scripted_server.base_url, "--model", scenario, "--concurrency", "2",
                     "--requests", "6", "--output", str(root / name))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    return root


def test_records_count_the_text_and_the_envelope_verifies(corpus: Path) -> None:
    for name, think in (("fast", 0), ("thinker", 8)):
        (path,) = envelope_paths(corpus / name)
        opened = verify_file(path, keys.trusted_keys())  # bytes/s and words/s recomputed
        for r in records(opened):
            assert r.output_tokens == TOKENS
            assert r.output_words == TOKENS  # one word a token
            assert r.output_bytes == len(" think") * think + len(" tok") * (TOKENS - think)
        m = opened.predicate.metrics
        assert m.tokens_per_word == pytest.approx(1.0)
        assert m.output_words_per_s == pytest.approx(m.output_throughput_tok_per_s)


def test_summary_and_compare_report_bytes_and_words_per_second(corpus: Path) -> None:
    proc = bench("summary", str(corpus), "--report", "json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["model_id"]: r for r in json.loads(proc.stdout)["runs"]}
    fast = rows[SCENARIOS["fast"]]
    assert fast["output_bytes_per_s"] == pytest.approx(4 * fast["output_throughput_tok_per_s"])
    assert fast["output_words_per_s"] == pytest.approx(fast["output_throughput_tok_per_s"])
    assert fast["tokens_per_word"] == pytest.approx(1.0)
    table = bench("summary", str(corpus))
    assert "Bytes/s" in table.stdout
    assert "Words/s" in table.stdout

    proc = bench("compare", str(corpus), "--report", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["unit"] == "tokens"
    for run in doc["runs"]:
        assert run["metrics"]["throughput_bytes_per_s"] > run["metrics"]["throughput_tok_per_s"]
        assert run["metrics"]["throughput_words_per_s"] == pytest.approx(
            run["metrics"]["throughput_tok_per_s"]
        )
        assert run["tokens_per_word"] == pytest.approx(1.0)
    assert doc["pairs"][0]["metrics"][0]["metric"] == "throughput"

    by_words = json.loads(bench("compare", str(corpus), "--unit", "words", "--report",
                                "json").stdout)  # fmt: skip
    assert by_words["unit"] == "words"
    assert by_words["pareto_metrics"] == ["words", "ttft"]
    assert by_words["pairs"][0]["metrics"][0]["metric"] == "words"
    as_csv = bench("compare", str(corpus), "--unit", "bytes", "--report", "csv").stdout
    header = next(csv.reader(io.StringIO(as_csv)))
    assert {"throughput_bytes_per_s", "throughput_words_per_s"} <= set(header)


def test_an_unknown_unit_is_an_argument_error(corpus: Path) -> None:
    proc = bench("compare", str(corpus), "--unit", "chars")
    assert proc.returncode == 2
    assert "--unit" in proc.stderr
