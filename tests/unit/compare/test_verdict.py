from __future__ import annotations

from tokenbench.compare.comparison import verdict
from tokenbench.compare.metrics_registry import get_metric
from tokenbench.metrics.inference import RunLevelDifference


def _d(rel: float, lo: float | None, hi: float | None, p: float | None) -> RunLevelDifference:
    return RunLevelDifference(100.0, 100.0 * (1 + rel), rel, lo, hi, p, 3, 3, p_adjusted=p,
                              family=5, why_no_test=None if p is not None else "1 run each",
                              too_few_runs=p is None)  # fmt: skip


def test_verdicts_name_b_against_the_baseline() -> None:
    ttft, tput = get_metric("ttft"), get_metric("throughput")
    assert verdict(ttft, _d(-0.12, -0.16, -0.08, 0.001), "A", "B") == (
        "B faster by 12.0% (CI -16.0% to -8.0%, p=0.001, Holm 0.001)"
    )
    assert verdict(ttft, _d(0.25, 0.2, 0.3, 0.001), "A", "B").startswith("B slower by 25.0%")
    assert verdict(tput, _d(0.25, 0.2, 0.3, 0.001), "A", "B").startswith("B higher by 25.0%")
    assert verdict(get_metric("jtok"), _d(0.1, 0.05, 0.2, 0.01), "A", "B").startswith("B higher")
    assert verdict(ttft, _d(0.01, -0.02, 0.04, 0.4), "A", "B").startswith(
        "no verdict: within run-to-run noise (+1.0%"
    )
    assert verdict(tput, _d(0.031, None, None, None), "A", "B") == (
        "1 run each: +3.1%, no verdict; use --repeat 3"
    )
