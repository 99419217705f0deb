"""The per-request record: raw monotonic timestamps, token counts and the error, if any.

Times are integer nanoseconds on the monotonic clock, relative to the run's anchor
(`RunClock.mono_anchor_ns`), so a record can be re-analysed without trusting derived figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson


class ErrorKind(StrEnum):
    """Why a request failed. A failed request is a measurement, never dropped."""

    CONNECT = "connect"  # could not open a connection
    HTTP = "http"  # non-2xx status
    DISCONNECT = "disconnect"  # connection closed before the response ended
    TIMEOUT = "timeout"  # request or idle timeout fired
    STREAM_ERROR = "stream_error"  # an error event inside a 200 stream
    INVALID_RESPONSE = "invalid_response"  # a body the client could not parse
    CANCELLED = "cancelled"  # the run was stopped while the request was in flight


@dataclass(slots=True)
class RequestRecord:
    """One request as measured. `None` means "did not happen" (e.g. no first token)."""

    index: int  # position in the run's plan
    worker: int  # worker process that sent it (0 in a single-process run)
    slot: int  # concurrency slot (virtual user) within the worker
    warmup: bool  # kept in the raw data, excluded from metrics
    prompt_id: str  # sha256 prefix of the prompt; the text itself is not stored
    scheduled_ns: int  # when the plan said to send
    send_ns: int | None = None  # when the request's bytes were handed to the socket
    first_token_ns: int | None = None  # first chunk carrying generated output
    chunk_ns: list[int] = field(default_factory=list)  # arrival of each output-bearing chunk
    chunk_tokens: list[int] | None = None  # tokens per chunk, when the server reports them
    end_ns: int | None = None  # response finished (or failed)
    input_tokens: int | None = None
    cached_input_tokens: int | None = None  # served from the engine's prefix cache (usage)
    output_tokens: int | None = None
    tokens_from_usage: bool = False  # False: output_tokens counted from chunks (approximate)
    http_status: int | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None
    response_id: str | None = None
    finish_reason: str | None = None
    server_timings: dict[str, float] | None = None  # engine-reported timings, if any
    attempts: int = 1  # >1 when --retry resent it after 429/503 (times run from the first send)
    cooldown: bool = False  # started in the --cooldown tail: kept in the raw data, not measured

    @property
    def measured(self) -> bool:
        return not (self.warmup or self.cooldown)

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        data = dict(data)
        if data.get("error_kind") is not None:
            data["error_kind"] = ErrorKind(data["error_kind"])
        return cls(**data)


def iter_records(path: Path) -> Iterator[RequestRecord]:
    """Stream a raw JSONL sidecar record by record; a truncated last line (a killed writer) is
    skipped, a bad line elsewhere raises ValueError."""
    with path.open("rb") as f:
        pending: bytes | None = None
        for line in f:
            if pending is not None:
                yield RequestRecord.from_dict(orjson.loads(pending))
            pending = line if line.strip() else None
        if pending is not None:
            try:
                yield RequestRecord.from_dict(orjson.loads(pending))
            except (orjson.JSONDecodeError, TypeError, ValueError):
                return


def read_records(lines: bytes) -> list[RequestRecord]:
    """Parse a raw JSONL sidecar. A truncated trailing line (a killed writer) is ignored."""
    out: list[RequestRecord] = []
    rows = lines.splitlines()
    for i, line in enumerate(rows):
        if not line.strip():
            continue
        try:
            out.append(RequestRecord.from_dict(orjson.loads(line)))
        except (orjson.JSONDecodeError, TypeError, ValueError):
            if i == len(rows) - 1:
                break
            raise
    return out
