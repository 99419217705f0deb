"""Per-request records (raw monotonic timestamps, token counts, the error) and per-item eval
records (a request plus its output and score).

Times are integer nanoseconds on the monotonic clock, relative to the run's anchor
(`RunClock.mono_anchor_ns`), so a record can be re-analysed without trusting derived figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


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
    # A reasoning model streams its chain of thought first: first_token_ns is then the first
    # reasoning token, and this the first answer token (content or a tool call).
    first_content_ns: int | None = None
    reasoning_tokens: int | None = None  # usage.completion_tokens_details, when the server says
    # Session workloads (multi-turn, agentic, a replayed trace): which conversation and which of
    # its turns this request is; None for independent requests.
    session: int | None = None
    turn: int | None = None
    session_turns: int | None = None  # the turns its session was to have (complete when all end)
    # --canary: a request to the local reference server, sent beside the measured ones to time
    # the client under their load; kept in the raw data, never in any metric
    canary: bool = False
    # The generated text's UTF-8 bytes and whitespace-separated words (answer, reasoning and
    # tool-call arguments): speed in units no tokenizer decides. None before they were counted.
    output_bytes: int | None = None
    output_words: int | None = None

    @property
    def measured(self) -> bool:
        return not (self.warmup or self.cooldown or self.canary)

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    def to_json(self) -> bytes:
        row = asdict(self)
        if not self.canary:  # written only when set: a sidecar without canaries reads as before
            del row["canary"]
        return orjson.dumps(row)

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


def _read_jsonl(lines: bytes, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    """Parse a JSONL sidecar. A truncated trailing line (a killed writer) is ignored."""
    out: list[T] = []
    rows = lines.splitlines()
    for i, line in enumerate(rows):
        if not line.strip():
            continue
        try:
            out.append(parse(orjson.loads(line)))
        except (orjson.JSONDecodeError, TypeError, ValueError, KeyError):
            if i == len(rows) - 1:
                break
            raise
    return out


def read_records(lines: bytes) -> list[RequestRecord]:
    """Parse a raw-records sidecar."""
    return _read_jsonl(lines, RequestRecord.from_dict)


@dataclass(slots=True)
class ItemRecord:
    """One scored answer of a quality eval: the request as measured, the raw output, and what
    the scorer made of it. Everything a verifier needs to score it again is here."""

    task: str
    item_id: str
    sample: int  # 0..n-1 with --samples n (pass@k); 0 otherwise
    subject: str | None  # e.g. the MMLU subject
    expected: Any  # the reference answer (for custom json-schema: the schema)
    meta: dict[str, Any] | None  # what the scorer needs besides `expected` (IFEval kwargs, …)
    output: str | None  # the answer's text (content only); None when the request failed
    parsed: dict[str, str | None]  # per score variant: the extracted answer (None: unparsed)
    correct: dict[str, bool]  # per score variant
    detail: dict[str, Any] | None  # scorer detail (per-instruction results, sandbox outcome)
    request: RequestRecord
    reasoning: str | None = None  # the streamed chain of thought, kept apart: never scored

    def to_json(self) -> bytes:
        row = asdict(self)
        return orjson.dumps(row)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemRecord:
        data = dict(data)
        data["request"] = RequestRecord.from_dict(data["request"])
        return cls(**data)


def read_items(lines: bytes) -> list[ItemRecord]:
    """Parse an eval items sidecar."""
    return _read_jsonl(lines, ItemRecord.from_dict)
