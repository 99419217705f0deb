"""A point over time, from its raw records: output throughput and requests in flight per time
bin, on the clock of the first measured send (what the report's timeline draws beside the
server's and the hardware's series)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass

from tokenbench.metrics.latency import chunk_token_counts
from tokenbench.records import RequestRecord


@dataclass(frozen=True, slots=True)
class TimelineSeries:
    """One quantity over the point: value of each bin (or sample) at `t_s` from its start."""

    name: str
    unit: str
    t_s: list[float]
    values: list[float]


def client_timeline(records: Iterable[RequestRecord], bin_s: float = 1.0) -> list[TimelineSeries]:
    """Output tokens per second of each `bin_s` bin (by chunk arrival, successful measured
    requests) and measured requests in flight at each bin's middle; [] with no measured send."""
    spans: list[tuple[int, int]] = []
    arrivals: list[tuple[int, float]] = []
    for r in records:
        if not r.measured or r.send_ns is None:
            continue
        spans.append((r.send_ns, r.end_ns if r.end_ns is not None else r.send_ns))
        if r.ok:
            tokens, _ = chunk_token_counts(r)
            arrivals += zip(r.chunk_ns, tokens, strict=True)
    if not spans:
        return []
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    width = int(bin_s * 1e9)
    bins = max(1, math.ceil((end - start) / width))
    tokens = [0.0] * bins
    for t, k in arrivals:
        tokens[min(bins - 1, max(0, (t - start) // width))] += k
    mids = [start + i * width + width // 2 for i in range(bins)]
    t_s = [(m - start) / 1e9 for m in mids]
    return [
        TimelineSeries("output throughput", "tok/s", t_s, [k / bin_s for k in tokens]),
        TimelineSeries("requests in flight", "requests", t_s, _in_flight(spans, mids)),
    ]


def _in_flight(spans: list[tuple[int, int]], at: list[int]) -> list[float]:
    """Requests sent at or before each instant and not yet ended."""
    sends = sorted(s for s, _ in spans)
    ends = sorted(e for _, e in spans)
    return [float(bisect.bisect_right(sends, t) - bisect.bisect_right(ends, t)) for t in at]
