"""The Sampler protocol, one reading, and the telemetry sidecar's rows (JSONL, one per reading)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import orjson

Mark = Literal["start", "end"]  # the reading taken when the measured phase started / ended


@dataclass(frozen=True, slots=True)
class Reading:
    """What one sample found: figures by name, histogram buckets by role, or why it failed."""

    values: dict[str, float] = field(default_factory=dict)
    buckets: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (le, cumulative)
    error: str | None = None
    note: str | None = None  # what a reading that succeeded left out, said once (GPU fields)


class Sampler(Protocol):
    """One telemetry source. `read` never raises: a failure is a Reading with its error."""

    source: str  # "prometheus", "nvml", "amd", "process"
    interval_s: float

    async def read(self) -> Reading: ...


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the telemetry sidecar. `t_ns` is on the point's clock, like the records'."""

    source: str
    t_ns: int
    values: dict[str, float] = field(default_factory=dict)
    buckets: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    error: str | None = None
    mark: Mark | None = None
    note: str | None = None

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {"source": self.source, "t_ns": self.t_ns, "values": self.values}
        if self.buckets:
            doc["buckets"] = {k: [[_le(le), n] for le, n in v] for k, v in self.buckets.items()}
        if self.error is not None:
            doc["error"] = self.error
        if self.mark is not None:
            doc["mark"] = self.mark
        if self.note is not None:
            doc["note"] = self.note
        return orjson.dumps(doc)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Row:
        buckets = {k: [(float(le), float(n)) for le, n in v]
                   for k, v in (doc.get("buckets") or {}).items()}  # fmt: skip
        values = {k: float(v) for k, v in (doc.get("values") or {}).items()}
        return cls(str(doc["source"]), int(doc["t_ns"]), values, buckets, doc.get("error"),
                   doc.get("mark"), doc.get("note"))  # fmt: skip


def _le(bound: float) -> float | str:
    """A bucket bound for JSON: the last bucket's +Inf as Prometheus writes it (JSON has no
    infinity; orjson would write null, which reads back as no number at all)."""
    return "+Inf" if math.isinf(bound) else bound


def read_rows(path: Path) -> list[Row]:
    """The sidecar's rows; a truncated last line (a killed writer) is skipped."""
    return list(iter_rows(path.read_bytes()))


def iter_rows(data: bytes) -> Iterator[Row]:
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield Row.from_dict(orjson.loads(line))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            if i == len(lines) - 1:
                return
            raise ValueError(f"telemetry sidecar line {i + 1} is not a telemetry row") from None
