"""The truth from the reference server's log: each finished stream's receive time and chunk
write times (the client's monotonic clock on one machine), summarised as `Figures`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenbench.conformance.figures import Figures, ItlKind, Stat
from tokenbench.metrics.stats import percentile

_NS_PER_MS = 1e6


@dataclass(frozen=True)
class Stream:
    """One stream the server finished: its id, when its request arrived, when each chunk left."""

    id: str
    recv_ns: int
    chunk_ns: tuple[int, ...]


def read_log(prefix: Path) -> list[Stream]:
    """Every stream the server finished normally (outcome "ok", at least one chunk), in the
    order their last chunks were written; the log is `<prefix>.<pid>`, one per server process."""
    streams: list[Stream] = []
    for path in sorted(prefix.parent.glob(prefix.name + ".*")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            if entry.get("outcome") == "ok" and entry.get("chunk_ns"):
                chunks = tuple(int(t) for t in entry["chunk_ns"])
                streams.append(Stream(str(entry["id"]), int(entry["recv_ns"]), chunks))
    streams.sort(key=lambda s: s.chunk_ns[-1])
    return streams


def _stat(values: Sequence[float]) -> Stat:
    if not values:
        return Stat(None)
    return Stat(sum(values) / len(values), percentile(values, 50), percentile(values, 99))


def truth(streams: Sequence[Stream], itl_kind: ItlKind, tokens_per_chunk: int = 1) -> Figures:
    """TTFT = first chunk written − request received; ITL as `itl_kind` defines it (each gap
    between chunk writes, or each stream's (last − first) / (tokens − 1)); output throughput =
    tokens / (first request received → last chunk written). `tokens_per_chunk` is the scenario's
    (one token per chunk unless it says otherwise)."""
    ttft = [(s.chunk_ns[0] - s.recv_ns) / _NS_PER_MS for s in streams]
    itl: list[float] = []
    for s in streams:
        if len(s.chunk_ns) < 2:
            continue
        if itl_kind == "gap":
            itl.extend((b - a) / _NS_PER_MS / tokens_per_chunk
                       for a, b in zip(s.chunk_ns, s.chunk_ns[1:], strict=False))  # fmt: skip
        else:
            tokens = len(s.chunk_ns) * tokens_per_chunk
            itl.append((s.chunk_ns[-1] - s.chunk_ns[0]) / _NS_PER_MS / (tokens - 1))
    throughput = None
    if streams:
        span_ns = max(s.chunk_ns[-1] for s in streams) - min(s.recv_ns for s in streams)
        tokens_total = sum(len(s.chunk_ns) for s in streams) * tokens_per_chunk
        throughput = tokens_total / (span_ns / 1e9) if span_ns > 0 else None
    return Figures(len(streams), _stat(ttft), _stat(itl), itl_kind, throughput)
