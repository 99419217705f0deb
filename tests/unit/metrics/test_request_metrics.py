"""Each per-request metric is declared once, in REQUEST_METRICS: every distribution the run
reports comes from a row, and every --slo name is a row's."""

from __future__ import annotations

import typing

from tokenbench.metrics.stats import Distribution
from tokenbench.metrics.summary import REQUEST_METRICS, SLO_METRICS, RunMetrics


def test_every_distribution_field_is_a_row_of_the_table() -> None:
    hints = typing.get_type_hints(RunMetrics)
    fields = {
        name
        for name, hint in hints.items()
        if typing.get_origin(hint) is not dict and Distribution in typing.get_args(hint)
    }
    names = [m.name for m in REQUEST_METRICS]
    assert len(names) == len(set(names))
    assert fields <= set(names)
    assert set(names) - fields == {"ttfat_ms", "ttft_cache_hit_ms", "ttft_cache_miss_ms"}


def test_slo_names_come_from_the_table() -> None:
    assert set(SLO_METRICS) == {"ttft_ms", "tpot_ms", "e2e_ms"}
    assert all(m.unit in ("ms", "tok/s") for m in REQUEST_METRICS)
    assert {m.name for m in REQUEST_METRICS if m.better == "higher"} == {"prefill_tok_per_s"}
