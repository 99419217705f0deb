"""Verdict calibration: how often `bench compare` calls two identical servers different (the
false-positive rate, goal ≤ 5%), and how often it finds a real 10% difference (power, goal ≥ 80%
with 5 runs a side at a 3% run-to-run spread).

Two parts:
- simulated: per-run figures of servers whose speed drifts between runs (lognormal spreads of
  1%, 3%, 5%; true differences 0, 5%, 10%), judged exactly as compare judges them; beside it,
  the old method (every request of every run pooled and bootstrapped) on the same data;
- real: scripted SSE servers started fresh for every run with a drifted speed, measured by
  `run_sweep`, judged by `compare` on the envelopes (A/A, then B 10% and 25% slower).

Usage: python benchmarks/verdict_calibration.py [--simulations 2000] [--experiments 10]
       [--skip-real]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import start_scripted_server, stop  # noqa: E402
from tests.integration.test_sweep_energy import QuietProgress  # noqa: E402

from tokenbench.compare.comparison import PAIR_METRICS, compare  # noqa: E402
from tokenbench.corpus.selection import load_corpus  # noqa: E402
from tokenbench.envelope import keys  # noqa: E402
from tokenbench.loadgen.sweep import RunSettings, run_sweep  # noqa: E402
from tokenbench.metrics.bootstrap import bootstrap_relative_difference  # noqa: E402
from tokenbench.metrics.inference import holm, run_level_difference  # noqa: E402
from tokenbench.suites import load_suite  # noqa: E402

REQUESTS = 128  # per simulated run
TOKENS = 32
CONCURRENCY = 4


def simulate_run(rng: np.random.Generator, scale: float, spread: float) -> dict[str, object]:
    """One closed-loop run: a run-level speed factor (the spread), and per-request noise around
    it, small enough that a run's p50 moves by well under the spread (its p99 does not)."""
    run = scale * math.exp(rng.normal(0.0, spread))
    ttft = 50.0 * run * rng.lognormal(0.0, 0.10, REQUESTS)
    tpot = 10.0 * run * rng.lognormal(0.0, 0.05, REQUESTS)
    e2e = ttft + tpot * (TOKENS - 1)
    return {
        "throughput": TOKENS * REQUESTS / (e2e.sum() / CONCURRENCY / 1000.0),
        "ttft": float(np.percentile(ttft, 50)),
        "ttft_p99": float(np.percentile(ttft, 99)),
        "tpot": float(np.percentile(tpot, 50)),
        "e2e": float(np.percentile(e2e, 50)),
        "_ttft_requests": ttft,
    }


def simulated(sims: int, runs: int, spread: float, diff: float, rng: np.random.Generator,
              old_every: int) -> tuple[dict[str, float], float, float | None]:  # fmt: skip
    """Per-metric rate of "significant", the family-wise rate after Holm, and the old
    method's rate on TTFT p50 (every `old_every`-th simulation; it is slow)."""
    hits = dict.fromkeys(PAIR_METRICS, 0)
    family_hits = 0
    old_hits = old_n = 0
    for i in range(sims):
        a = [simulate_run(rng, 1.0, spread) for _ in range(runs)]
        b = [simulate_run(rng, 1.0 + diff, spread) for _ in range(runs)]
        tests = []
        for name in PAIR_METRICS:
            d = run_level_difference([float(r[name]) for r in a],  # type: ignore[arg-type]
                                     [float(r[name]) for r in b])  # type: ignore[arg-type]  # fmt: skip
            hits[name] += d.significant
            tests.append(d)
        family_hits += any(d.significant for d in holm(tests))
        if i % old_every == 0:
            pooled_a = np.concatenate([r["_ttft_requests"] for r in a])  # type: ignore[misc]
            pooled_b = np.concatenate([r["_ttft_requests"] for r in b])  # type: ignore[misc]
            old = bootstrap_relative_difference(pooled_a, pooled_b, q=50, resamples=500)
            old_hits += old.significant
            old_n += 1
    rates = {name: n / sims for name, n in hits.items()}
    return rates, family_hits / sims, (old_hits / old_n if old_n else None)


def observed_spread(spread: float, rng: np.random.Generator) -> dict[str, float]:
    """The coefficient of variation of each per-run figure: the spread the test really faces
    (the run-level spread plus the run's own sampling noise)."""
    runs = [simulate_run(rng, 1.0, spread) for _ in range(2000)]
    return {m: float(np.std([r[m] for r in runs]) / np.mean([r[m] for r in runs]))  # type: ignore[misc]
            for m in PAIR_METRICS}  # fmt: skip


def simulation_table(sims: int) -> None:
    rng = np.random.default_rng(2026)
    print(f"## Simulated ({sims} comparisons per row; {REQUESTS} requests per run)\n")
    for spread in (0.01, 0.03, 0.05):
        cv = observed_spread(spread, rng)
        print(f"- run-level spread {spread:.0%}: per-run figures vary by "
              + ", ".join(f"{m} {v:.1%}" for m, v in cv.items()))  # fmt: skip
    print()
    print("| spread | true diff | runs a side | " + " | ".join(PAIR_METRICS)
          + " | any (Holm) | old method, TTFT p50 |")  # fmt: skip
    print("|---|---|---|" + "---|" * (len(PAIR_METRICS) + 2))
    for spread in (0.01, 0.03, 0.05):
        for diff in (0.0, 0.05, 0.10):
            for runs in (2, 3, 5):
                rates, family, old = simulated(sims, runs, spread, diff, rng, old_every=20)
                cells = " | ".join(f"{rates[m]:.1%}" for m in PAIR_METRICS)
                old_cell = f"{old:.0%}" if old is not None else "—"
                print(f"| {spread:.0%} | {diff:.0%} | {runs} | {cells} | {family:.1%} | "
                      f"{old_cell} |")  # fmt: skip
    print("\nRows with true diff 0% are false-positive rates (goal ≤ 5%); the others are power.")


async def one_run(out: Path, model: str, speed: float, seed: int) -> None:
    proc, server = start_scripted_server(out, "--engine", "vllm", "--speed", f"{speed:.6f}",
                                         "--jitter", "0.1", "--seed", str(seed))  # fmt: skip
    try:
        settings = RunSettings(
            suite=load_suite("llm.inference.chatbot-short"),
            output=out / "corpus",
            base_url=server.base_url,
            model=f"{model};ttft_ms=20;itl_ms=4;tokens=24",
            sweep=(CONCURRENCY,),
            requests=32,
            seed=seed,
        )
        await run_sweep(settings, QuietProgress())
    finally:
        stop(proc)


def real_experiment(root: Path, slower: float, runs: int, rng: np.random.Generator) -> set[str]:
    """A and B measured in turns (A B A B …), each run on a fresh server whose speed drifts
    ±3%; returns the metrics compare called different."""
    for i in range(runs):
        for model, scale in (("A", 1.0), ("B", slower)):
            speed = scale * math.exp(rng.normal(0.0, 0.03))
            sub = root / f"{model}{i}"
            sub.mkdir(parents=True)
            asyncio.run(one_run(sub, model, speed, int(rng.integers(1 << 30))))
    corpus = load_corpus([str(root)], keys.trusted_keys())
    (pair,) = compare(corpus).pairs
    return {d.metric.name for d in pair.metrics if d.difference.significant}


def real_table(experiments: int, runs: int) -> None:
    rng = np.random.default_rng(7)
    print(f"\n## Real: scripted servers, fresh per run, ±3% drift, {runs} runs a side\n")
    print("| B slower by | experiments | any metric called different | per metric |")
    print("|---|---|---|---|")
    for slower, n in ((1.0, experiments), (1.10, max(3, experiments // 2)),
                      (1.25, max(3, experiments // 2))):  # fmt: skip
        found: dict[str, int] = dict.fromkeys(PAIR_METRICS, 0)
        any_hit = 0
        for _ in range(n):
            with tempfile.TemporaryDirectory() as tmp:
                hit = real_experiment(Path(tmp), slower, runs, rng)
            any_hit += bool(hit)
            for name in hit:
                found[name] += 1
        per = ", ".join(f"{m} {found[m]}/{n}" for m in PAIR_METRICS)
        print(f"| {slower - 1:.0%} | {n} | {any_hit}/{n} | {per} |")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--simulations", type=int, default=2000)
    p.add_argument("--experiments", type=int, default=10, help="real A/A experiments")
    p.add_argument("--runs", type=int, default=5, help="real runs a side")
    p.add_argument("--skip-real", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as cfg:
        os.environ.setdefault("TOKENBENCH_CONFIG_DIR", cfg)
        simulation_table(args.simulations)
        if not args.skip_real:
            real_table(args.experiments, args.runs)


if __name__ == "__main__":
    main()
