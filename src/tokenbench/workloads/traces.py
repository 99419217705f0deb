"""Trace files for replay: tokenbench's JSONL trace format, and importers for Mooncake (FAST'25)
and BurstGPT logs, each read into one time-ordered list of requests made of hashed prefix blocks.

The tokenbench trace format is JSONL. An optional first line `{"tokenbench_trace": 1,
"block_tokens": 64}` sets the tokens per block (default 64); every other line is one request:

    {"t_ms": 0, "session": "s1", "turn": 0, "blocks": [1, 2], "new_tokens": 40,
     "output_tokens": 200, "tool_ms": 350}

- `t_ms` (required): send time in ms, a number ≥ 0, non-decreasing from line to line.
- `session` (optional string) and `turn` (int, required with a session): a session's turns
  appear 0, 1, 2, … in file order.
- `blocks` (default []): ids of `block_tokens`-token prefix blocks; equal ids mean equal text,
  so requests sharing leading ids share a cacheable prefix.
- `new_tokens` (default 0): input tokens after the blocks, unique to this request.
- `output_tokens` (required, ≥ 1); `tool_ms` (optional, ≥ 0): tool latency before this turn.

Input (blocks × block_tokens + new_tokens) must be at least one token; other fields are refused.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tokenbench.errors import ConfigError

TRACE_FORMATS = ("auto", "tokenbench", "mooncake", "burstgpt")
DEFAULT_BLOCK_TOKENS = 64
MOONCAKE_BLOCK_TOKENS = 512
MAX_FILE_BYTES = 1024 * 1024 * 1024
TOKENBENCH_FIELDS = (
    "t_ms",
    "session",
    "turn",
    "blocks",
    "new_tokens",
    "output_tokens",
    "tool_ms",
)
MOONCAKE_FIELDS = ("timestamp", "input_length", "output_length", "hash_ids")
BURSTGPT_COLUMNS = (
    "Timestamp",
    "Model",
    "Request tokens",
    "Response tokens",
    "Total tokens",
    "Log Type",
)


@dataclass(frozen=True, slots=True)
class TraceRequest:
    t_ms: float  # send time from the trace's start
    session: str | None
    turn: int | None  # 0-based within the session
    blocks: tuple[int, ...]  # hashed prefix blocks, each `block_tokens` tokens
    new_tokens: int  # input tokens after the blocks, unique to this request
    output_tokens: int
    tool_ms: float | None  # tool latency before this turn (agentic traces)
    line: int  # source line, for messages


@dataclass(frozen=True, slots=True)
class Trace:
    format: str  # "tokenbench", "mooncake", "burstgpt"
    block_tokens: int
    requests: tuple[TraceRequest, ...]  # in time order, the first at t_ms 0
    notes: tuple[str, ...]

    @property
    def input_tokens(self) -> list[int]:
        return [len(r.blocks) * self.block_tokens + r.new_tokens for r in self.requests]


def read_trace(
    path: Path, fmt: str = "auto", *, block_tokens: int | None = None, limit: int | None = None
) -> Trace:
    """The trace's first `limit` requests, shifted so the first is sent at t_ms 0."""
    if fmt not in TRACE_FORMATS:
        raise ConfigError(f"--trace-format {fmt!r}: unknown; use one of {', '.join(TRACE_FORMATS)}")
    if block_tokens is not None and (isinstance(block_tokens, bool) or block_tokens < 1):
        raise ConfigError(f"block_tokens {block_tokens!r} must be a whole number ≥ 1")
    if limit is not None and limit < 1:
        raise ConfigError(f"--trace {path}: the limit must be at least 1")
    if path.is_dir():
        raise ConfigError(f"--trace {path} is a directory; name a trace file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"--trace {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ConfigError(f"--trace {path} is larger than {MAX_FILE_BYTES // 2**20} MiB; cut it")
    if fmt == "auto":
        fmt = _detect(path)
    readers = {"tokenbench": _tokenbench, "mooncake": _mooncake, "burstgpt": _burstgpt}
    trace = readers[fmt](path, block_tokens, limit)
    if not trace.requests:
        raise ConfigError(f"--trace {path} has no requests; give a trace with at least one")
    start = trace.requests[0].t_ms
    if start == 0:
        return trace
    shifted = tuple(dataclasses.replace(r, t_ms=r.t_ms - start) for r in trace.requests)
    return dataclasses.replace(trace, requests=shifted)


def write_trace(trace: Trace, path: Path) -> None:
    """Write `trace` in the tokenbench format (what `read_trace(path, "tokenbench")` reads)."""
    lines = [orjson.dumps({"tokenbench_trace": 1, "block_tokens": trace.block_tokens})]
    for r in trace.requests:
        obj: dict[str, Any] = {"t_ms": r.t_ms}
        if r.session is not None:
            obj["session"], obj["turn"] = r.session, r.turn
        obj["blocks"], obj["new_tokens"] = list(r.blocks), r.new_tokens
        obj["output_tokens"] = r.output_tokens
        if r.tool_ms is not None:
            obj["tool_ms"] = r.tool_ms
        lines.append(orjson.dumps(obj))
    path.write_bytes(b"\n".join(lines) + b"\n")


def _detect(path: Path) -> str:
    first = b""
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                first = line.strip().removeprefix(b"\xef\xbb\xbf")
                break
    try:
        obj = orjson.loads(first)
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict):
        if "hash_ids" in obj:
            return "mooncake"
        if "t_ms" in obj or "tokenbench_trace" in obj:
            return "tokenbench"
    header = [c.strip() for c in first.decode("utf-8", "replace").split(",")]
    if "Request tokens" in header:
        return "burstgpt"
    raise ConfigError(
        f"--trace {path}: cannot tell the trace format from its first line "
        f"(tokenbench, mooncake, burstgpt); name it with --trace-format"
    )


class _Clock:
    """Refuses a time before the previous line's: replay needs the trace in send order."""

    __slots__ = ("field", "last", "last_line", "path")

    def __init__(self, path: Path, field: str) -> None:
        self.path, self.field = path, field
        self.last: float | None = None
        self.last_line = 0

    def check(self, t: float, line: int) -> None:
        if self.last is not None and t < self.last:
            raise ConfigError(
                f"{self.path} line {line}: {self.field} {_show(t)} is before line "
                f"{self.last_line}'s {_show(self.last)}; sort the trace by time"
            )
        self.last, self.last_line = t, line


def _show(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.strip()
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line:
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ConfigError(f"{path} line {number}: not JSON ({exc}); fix the line") from None
            if not isinstance(obj, dict):
                raise ConfigError(f"{path} line {number}: expected a JSON object, one per line")
            yield number, obj


def _int(obj: dict[str, Any], field: str, where: str, minimum: int) -> int:
    value = obj[field]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(
            f"{where}: {field} must be a whole number ≥ {minimum}, not {_brief(value)}"
        )
    return value


def _number(obj: dict[str, Any], field: str, where: str) -> float:
    value = obj[field]
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: {field} must be a number ≥ 0, not {_brief(value)}")
    return float(value)


def _ids(obj: dict[str, Any], field: str, where: str) -> tuple[int, ...]:
    value = obj[field]
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise ConfigError(f"{where}: {field} must be a list of whole numbers ≥ 0")
    return tuple(value)


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _tokenbench(path: Path, block_tokens: int | None, limit: int | None) -> Trace:
    notes: list[str] = []
    header: int | None = None
    requests: list[TraceRequest] = []
    clock = _Clock(path, "t_ms")
    turns: dict[str, int] = {}
    for number, obj in _json_lines(path):
        where = f"{path} line {number}"
        if not requests and header is None and "tokenbench_trace" in obj:
            header = _header(obj, where)
            if block_tokens is not None and block_tokens != header:
                notes.append(f"block_tokens {block_tokens} given; the file says {header}")
            continue
        if limit is not None and len(requests) >= limit:
            break
        size = block_tokens or header or DEFAULT_BLOCK_TOKENS
        request = _tokenbench_request(obj, number, where, size, turns)
        clock.check(request.t_ms, number)
        requests.append(request)
    size = block_tokens or header or DEFAULT_BLOCK_TOKENS
    return Trace("tokenbench", size, tuple(requests), tuple(notes))


def _header(obj: dict[str, Any], where: str) -> int:
    unknown = sorted(set(obj) - {"tokenbench_trace", "block_tokens"})
    if unknown:
        raise ConfigError(f"{where}: unknown header field {unknown[0]!r}; drop it")
    if obj["tokenbench_trace"] != 1:
        raise ConfigError(f"{where}: tokenbench_trace version {_brief(obj['tokenbench_trace'])} "
                          "is not 1; upgrade tokenbench or rewrite the trace")  # fmt: skip
    return _int(obj, "block_tokens", where, 1) if "block_tokens" in obj else DEFAULT_BLOCK_TOKENS


def _tokenbench_request(
    obj: dict[str, Any], line: int, where: str, block_tokens: int, turns: dict[str, int]
) -> TraceRequest:
    unknown = [k for k in obj if k not in TOKENBENCH_FIELDS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {unknown[0]!r}; the fields are {', '.join(TOKENBENCH_FIELDS)}"
        )
    for field in ("t_ms", "output_tokens"):
        if field not in obj:
            raise ConfigError(f"{where}: the required field {field!r} is missing")
    session, turn = _session_turn(obj, where, turns)
    blocks = _ids(obj, "blocks", where) if "blocks" in obj else ()
    new_tokens = _int(obj, "new_tokens", where, 0) if "new_tokens" in obj else 0
    if len(blocks) * block_tokens + new_tokens < 1:
        raise ConfigError(f"{where}: the input is empty; give blocks or new_tokens ≥ 1")
    tool_ms = _number(obj, "tool_ms", where) if obj.get("tool_ms") is not None else None
    return TraceRequest(
        t_ms=_number(obj, "t_ms", where),
        session=session,
        turn=turn,
        blocks=blocks,
        new_tokens=new_tokens,
        output_tokens=_int(obj, "output_tokens", where, 1),
        tool_ms=tool_ms,
        line=line,
    )


def _session_turn(
    obj: dict[str, Any], where: str, turns: dict[str, int]
) -> tuple[str | None, int | None]:
    session = obj.get("session")
    if session is None:
        if obj.get("turn") is not None:
            raise ConfigError(f"{where}: turn without a session; add the session it belongs to")
        return None, None
    if not isinstance(session, str) or not session:
        raise ConfigError(f"{where}: session must be a non-empty string, not {_brief(session)}")
    if "turn" not in obj:
        raise ConfigError(f"{where}: session {session!r} needs a turn (0, 1, 2, … in order)")
    turn = _int(obj, "turn", where, 0)
    expected = turns.get(session, 0)
    if turn > expected:
        raise ConfigError(
            f"{where}: missing session turns: session {session!r} turn {turn} comes before "
            f"its turn {turn - 1}; give every turn from 0, in order"
        )
    if turn < expected:
        raise ConfigError(f"{where}: session {session!r} turn {turn} appears twice; keep one")
    turns[session] = turn + 1
    return session, turn


def _mooncake(path: Path, block_tokens: int | None, limit: int | None) -> Trace:
    size = block_tokens or MOONCAKE_BLOCK_TOKENS
    requests: list[TraceRequest] = []
    clock = _Clock(path, "timestamp")
    rounded = 0
    for number, obj in _json_lines(path):
        if limit is not None and len(requests) >= limit:
            break
        where = f"{path} line {number}"
        for field in MOONCAKE_FIELDS:
            if field not in obj:
                raise ConfigError(f"{where}: the Mooncake field {field!r} is missing")
        unknown = [k for k in obj if k not in MOONCAKE_FIELDS]
        if unknown:
            raise ConfigError(f"{where}: unknown Mooncake field {unknown[0]!r}; the fields are "
                              f"{', '.join(MOONCAKE_FIELDS)}; drop it")  # fmt: skip
        t_ms = _number(obj, "timestamp", where)
        clock.check(t_ms, number)
        input_length = _int(obj, "input_length", where, 1)
        blocks = _ids(obj, "hash_ids", where)
        rounded += len(blocks) * size > input_length
        request = TraceRequest(
            t_ms=t_ms,
            session=None,
            turn=None,
            blocks=blocks,
            new_tokens=max(0, input_length - len(blocks) * size),
            output_tokens=_int(obj, "output_length", where, 1),
            tool_ms=None,
            line=number,
        )
        requests.append(request)
    notes = []
    if rounded:
        notes.append(
            f"{rounded} of {len(requests)} requests' hash_ids cover more than input_length: "
            f"Mooncake's last block is partial, and is rounded up here to {size} tokens"
        )
    return Trace("mooncake", size, tuple(requests), tuple(notes))


def _burstgpt(path: Path, block_tokens: int | None, limit: int | None) -> Trace:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            return _burstgpt_rows(path, reader, block_tokens, limit)
        except csv.Error as exc:
            where = f"{path} line {reader.line_num}"
            raise ConfigError(f"{where}: not valid CSV ({exc}); fix the row") from None
        except UnicodeDecodeError:
            raise ConfigError(f"--trace {path}: not UTF-8 text; re-encode it") from None


def _burstgpt_rows(path: Path, reader: Any, block_tokens: int | None, limit: int | None) -> Trace:
    header = [c.strip() for c in next(reader, [])]
    for column in BURSTGPT_COLUMNS:
        if column not in header:
            raise ConfigError(
                f"{path} line 1: the BurstGPT column {column!r} is missing from the header; "
                f"it needs {', '.join(BURSTGPT_COLUMNS)}"
            )
    unknown = [c for c in header if c not in BURSTGPT_COLUMNS]
    if unknown:
        raise ConfigError(f"{path} line 1: unknown BurstGPT column {unknown[0]!r}; the columns "
                          f"are {', '.join(BURSTGPT_COLUMNS)}; drop it")  # fmt: skip
    at = {c: header.index(c) for c in BURSTGPT_COLUMNS}
    clock = _Clock(path, "Timestamp")
    requests: list[TraceRequest] = []
    failed = empty = 0
    for row in reader:
        if limit is not None and len(requests) >= limit:
            break
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path} line {number}"
        if len(row) != len(header):
            raise ConfigError(f"{where}: {len(row)} fields, the header has {len(header)}")
        cells = {c: row[i].strip() for c, i in at.items()}
        seconds = _csv_number(cells, "Timestamp", where)
        clock.check(seconds, number)
        output_tokens = _csv_int(cells, "Response tokens", where)
        input_tokens = _csv_int(cells, "Request tokens", where)
        if output_tokens == 0:
            failed += 1
            continue
        if input_tokens == 0:
            empty += 1
            continue
        requests.append(
            TraceRequest(seconds * 1000, None, None, (), input_tokens, output_tokens, None, number)
        )
    notes = []
    if failed:
        notes.append(f"skipped {failed} row(s) with 0 response tokens (failed in the log)")
    if empty:
        notes.append(f"skipped {empty} row(s) with 0 request tokens")
    return Trace("burstgpt", block_tokens or DEFAULT_BLOCK_TOKENS, tuple(requests), tuple(notes))


def _csv_number(cells: dict[str, str], column: str, where: str) -> float:
    try:
        value = float(cells[column])
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: {column} must be a number ≥ 0, not {_brief(cells[column])}")
    return value


def _csv_int(cells: dict[str, str], column: str, where: str) -> int:
    text = cells[column]
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise ConfigError(f"{where}: {column} must be a whole number ≥ 0, not {_brief(text)}")
    return int(text)
