"""A latency difference smaller than the client's measured error budget (the larger side's, at
p99) is never called significant; the verdict says why."""

from __future__ import annotations

import numpy as np

from tests.unit.compare.test_comparison import _metric, _run
from tokenbench.compare.comparison import compare, error_budget_ms, verdict
from tokenbench.compare.metrics_registry import get_metric
from tokenbench.corpus.loader import Corpus, LoadedRun
from tokenbench.envelope.schema import ErrorBudget
from tokenbench.metrics.inference import RunLevelDifference


def _budget(ttft_p99: float, itl_p99: float, source: str = "selftest") -> ErrorBudget:
    return ErrorBudget.model_validate(
        dict(source=source, concurrency=4, requests=64, scenario="s", ttft_error_ms_p50=0.1,
             ttft_error_ms_p99=ttft_p99, itl_error_ms_p50=0.1, itl_error_ms_p99=itl_p99)
    )  # fmt: skip


def _with(run: LoadedRun, **budgets: ErrorBudget) -> LoadedRun:
    return LoadedRun(run.path, run.predicate.model_copy(update=budgets), "k")


def _d(a: float, b: float, p: float, budget: float | None) -> RunLevelDifference:
    return RunLevelDifference(a, b, b / a - 1, 0.01, 0.05, p, 3, 3, p_adjusted=p,
                              error_budget_ms=budget)  # fmt: skip


def test_a_significant_test_within_the_budget_is_no_verdict() -> None:
    d = _d(50.0, 51.5, 0.001, 2.0)
    assert d.p_significant
    assert not d.significant
    text = verdict(get_metric("ttft"), d, "A", "B")
    assert text.startswith("no verdict: within the client's measured error budget")
    assert "1.50 ms < 2.00 ms at p99" in text
    beyond = _d(50.0, 53.0, 0.001, 2.0)  # 3 ms: larger than the budget, the test decides
    assert beyond.significant
    assert verdict(get_metric("ttft"), beyond, "A", "B").startswith("B slower by")
    assert _d(50.0, 51.5, 0.001, None).significant  # no budget measured: as before


def test_the_budget_is_the_larger_side_and_the_matching_part() -> None:
    a = _with(_run("a", 1.0), error_budget=_budget(0.5, 3.0))
    b = _with(_run("b", 1.0), canary=_budget(4.0, 0.2, "canary"))
    assert error_budget_ms("ttft", [a, b]) == 4.0  # TTFT metrics: TTFT error
    assert error_budget_ms("ttft_p99", [a, b]) == 4.0
    assert error_budget_ms("tpot", [a, b]) == 3.0  # TPOT/ITL: ITL error
    assert error_budget_ms("e2e", [a, b]) == 4.0  # E2E: the larger of the two parts
    itl_heavy = _with(_run("d", 1.0), error_budget=_budget(0.5, 6.0))
    assert error_budget_ms("e2e", [a, itl_heavy]) == 6.0
    assert error_budget_ms("throughput", [a, b]) is None
    assert error_budget_ms("ttft", [_run("c", 1.0)]) is None  # an old envelope: none


def test_compare_applies_the_budget_to_a_real_small_difference() -> None:
    rng = np.random.default_rng(5)
    # B's TTFT p50 is 2% (1 ms of 50) slower, clearly beyond run-to-run noise
    runs = [_run("a", float(np.exp(rng.normal(0, 0.001)))) for _ in range(3)]
    runs += [_run("b", 1.02 * float(np.exp(rng.normal(0, 0.001)))) for _ in range(3)]
    (pair,) = compare(Corpus(runs=runs)).pairs
    assert _metric(pair, "ttft").difference.significant
    budgeted = [_with(r, error_budget=_budget(1.5, 0.1)) for r in runs]
    (pair,) = compare(Corpus(runs=budgeted)).pairs
    ttft = _metric(pair, "ttft")
    assert not ttft.difference.significant
    assert "within the client's measured error budget" in ttft.verdict
    assert _metric(pair, "throughput").difference.significant  # not a latency: unaffected
