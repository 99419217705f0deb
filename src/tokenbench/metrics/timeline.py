"""A point over time: output throughput and requests in flight per time bin from its raw
records, and the server's queue, its KV-cache use, power or the engine's CPU from its telemetry
sidecar, all on the clock of the first measured send (what the report's timeline draws)."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

from tokenbench.metrics.latency import chunk_token_counts
from tokenbench.records import RequestRecord
from tokenbench.telemetry.sampler import Row


@dataclass(frozen=True, slots=True)
class TimelineSeries:
    """One quantity over the point: value of each bin (or sample) at `t_s` from its start."""

    name: str
    unit: str
    t_s: list[float]
    values: list[float]


def timeline_origin_ns(records: Iterable[RequestRecord]) -> int | None:
    """The first measured send: time 0 of the point's timeline."""
    return min((r.send_ns for r in records if r.measured and r.send_ns is not None), default=None)


# telemetry value → (series name, unit, scale): the server's, then the hardware's
_GAUGES = (
    ("prometheus", "requests_waiting", "server queue", "requests", 1.0),
    ("prometheus", "kv_cache_usage", "KV-cache use", "%", 100.0),
    ("nvml", "power_w", "GPU power", "W", 1.0),
    ("amd", "power_w", "GPU power", "W", 1.0),
)


def telemetry_timeline(rows: Iterable[Row], origin_ns: int) -> list[TimelineSeries]:
    """The telemetry's gauges over the point, and the engine process's CPU use (cores, from the
    CPU seconds between consecutive readings); a source without readings gives no series."""
    by_source: dict[str, list[Row]] = {}
    for row in rows:
        if row.error is None:
            by_source.setdefault(row.source, []).append(row)
    out = []
    for source, key, name, unit, scale in _GAUGES:
        points = [((r.t_ns - origin_ns) / 1e9, r.values[key] * scale)
                  for r in by_source.get(source, []) if key in r.values]  # fmt: skip
        if points:
            out.append(TimelineSeries(name, unit, [t for t, _ in points], [v for _, v in points]))
    cpu = [r for r in by_source.get("process", []) if "cpu_s" in r.values]
    if len(cpu) >= 2:
        t_s, cores = [], []
        for a, b in itertools.pairwise(cpu):
            if b.t_ns > a.t_ns:
                t_s.append(((a.t_ns + b.t_ns) / 2 - origin_ns) / 1e9)
                cores.append((b.values["cpu_s"] - a.values["cpu_s"]) / ((b.t_ns - a.t_ns) / 1e9))
        out.append(TimelineSeries("engine CPU", "cores", t_s, cores))
    return out


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
