"""Metrics: pure functions from raw request records to summaries. Computed once, here."""

from tokenbench.metrics.latency import e2e_ms, itl_ms, schedule_lag_ms, tpot_ms, ttft_ms
from tokenbench.metrics.stats import Distribution, distribution, percentile
from tokenbench.metrics.summary import RunMetrics, summarize

__all__ = [
    "Distribution",
    "RunMetrics",
    "distribution",
    "e2e_ms",
    "itl_ms",
    "percentile",
    "schedule_lag_ms",
    "summarize",
    "tpot_ms",
    "ttft_ms",
]
