from __future__ import annotations

import pytest

from tokenbench.compare.comparison import parse_at, verdict
from tokenbench.compare.metrics_registry import get_metric
from tokenbench.errors import ConfigError
from tokenbench.metrics.bootstrap import RelativeDifference


def _d(rel: float, lo: float | None, hi: float | None) -> RelativeDifference:
    return RelativeDifference(
        100.0,
        100.0 * (1 + rel),
        rel,
        lo,
        hi,
        50,
        50,
        "bootstrap" if lo is not None else "single observation",
    )


def test_verdicts_name_b_against_the_baseline() -> None:
    ttft, tput = get_metric("ttft"), get_metric("throughput")
    assert verdict(ttft, _d(-0.12, -0.16, -0.08), "A", "B") == "B faster by 12.0% (CI 8.0–16.0%)"
    assert verdict(ttft, _d(0.25, 0.2, 0.3), "A", "B") == "B slower by 25.0% (CI 20.0–30.0%)"
    assert verdict(tput, _d(0.25, 0.2, 0.3), "A", "B") == "B higher by 25.0% (CI 20.0–30.0%)"
    assert verdict(get_metric("jtok"), _d(0.1, 0.05, 0.2), "A", "B").startswith("B higher")
    assert verdict(ttft, _d(0.01, -0.02, 0.04), "A", "B").startswith("within noise (+1.0%")
    assert "single observation" in verdict(tput, _d(0.3, None, None), "A", "B")


def test_parse_at() -> None:
    assert parse_at(["concurrency=16", "suite=x"]) == {"concurrency": "16", "suite": "x"}
    for bad in ("concurrency", "conc=1", "concurrency=x", "suite="):
        with pytest.raises(ConfigError):
            parse_at([bad])
