"""The verdicts of `compare` on real runs: scripted servers started fresh for every run, each
with a speed drifted by up to ±4% (as a real engine drifts between runs), measured in turns.
Identical servers give no verdict on any metric; a server 25% slower is found."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from tests.conftest import start_scripted_server, stop
from tests.integration.test_sweep_energy import QuietProgress
from tokenbench.compare.comparison import compare
from tokenbench.corpus.selection import load_corpus
from tokenbench.envelope import keys
from tokenbench.loadgen.sweep import RunSettings, run_sweep
from tokenbench.suites import load_suite

RUNS = 3
DRIFT = 0.04


def _measure(root: Path, slower: float, seed: int) -> Path:
    """A and B in turns (A B A B A B), a fresh server per run."""
    rng = random.Random(seed)
    for i in range(RUNS):
        for model, scale in (("A", 1.0), ("B", slower)):
            speed = scale * (1 + rng.uniform(-DRIFT, DRIFT))
            sub = root / f"{model}{i}"
            sub.mkdir(parents=True)
            proc, server = start_scripted_server(sub, "--engine", "vllm", "--speed", f"{speed}",
                                                 "--jitter", "0.05", "--seed", str(i))  # fmt: skip
            try:
                settings = RunSettings(
                    suite=load_suite("llm.inference.chatbot-short"),
                    output=root / "corpus",
                    base_url=server.base_url,
                    model=f"{model};ttft_ms=20;itl_ms=4;tokens=24",
                    sweep=(4,),
                    requests=24,
                )
                asyncio.run(run_sweep(settings, QuietProgress()))
            finally:
                stop(proc)
    return root / "corpus"


@pytest.mark.slow
def test_identical_servers_get_no_verdict(tmp_path: Path) -> None:
    corpus = load_corpus([str(_measure(tmp_path, 1.0, seed=1))], keys.trusted_keys())
    result = compare(corpus)
    (pair,) = result.pairs
    assert (pair.runs_a, pair.runs_b) == (RUNS, RUNS)
    assert result.family == 5
    called = [d.verdict for d in pair.metrics if d.difference.significant]
    assert called == []
    assert all(d.verdict.startswith("no verdict") for d in pair.metrics)


@pytest.mark.slow
def test_a_server_25_percent_slower_is_found(tmp_path: Path) -> None:
    corpus = load_corpus([str(_measure(tmp_path, 1.25, seed=2))], keys.trusted_keys())
    (pair,) = compare(corpus).pairs
    found = {d.metric.name: d for d in pair.metrics if d.difference.significant}
    assert {"ttft", "tpot", "e2e", "throughput"} <= set(found), [d.verdict for d in pair.metrics]
    assert " slower by " in found["e2e"].verdict
    assert " lower by " in found["throughput"].verdict
    assert 0.15 < found["e2e"].difference.relative < 0.35
