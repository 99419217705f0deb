"""Datasets for load: `--dataset FILE` (JSONL, JSON, CSV or Parquet) read offline into prompts,
with `--column prompt=instruction` naming which column holds what.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from tokenbench.errors import ConfigError
from tokenbench.workloads.prompt import Prompt, messages_prompt, prompt_id

ROLES = ("prompt", "messages", "system", "max_tokens")
# Looked up in this order when --column does not name the column.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "prompt": ("prompt", "text", "instruction", "question", "input"),
    "messages": ("messages", "conversations"),
    "system": ("system",),
    "max_tokens": ("max_tokens",),
}
FORMATS = (".jsonl", ".json", ".csv", ".parquet")
# ShareGPT's speaker names next to the chat API's roles.
_SPEAKERS = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "assistant": "assistant",
    "system": "system",
}

MAX_FILE_BYTES = 512 * 1024 * 1024  # a prompts or dataset file, at most


def parse_columns(text: str) -> dict[str, str]:
    """`prompt=instruction,max_tokens=n` → {"prompt": "instruction", "max_tokens": "n"}."""
    columns: dict[str, str] = {}
    for part in text.split(","):
        key, eq, name = (s.strip() for s in part.partition("="))
        if not eq or not key or not name:
            raise ConfigError(f"--column {text!r}: {part.strip()!r} is not ROLE=COLUMN")
        if key not in ROLES:
            raise ConfigError(
                f"--column {text!r}: unknown role {key!r}; the roles are {', '.join(ROLES)}"
            )
        if key in columns:
            raise ConfigError(f"--column {text!r}: {key} is mapped twice; keep one")
        columns[key] = name
    if "prompt" in columns and "messages" in columns:
        raise ConfigError(f"--column {text!r}: map prompt or messages, not both")
    return columns


def load_dataset(
    path: Path, columns: Mapping[str, str] | None = None, *, limit: int | None = None
) -> list[Prompt]:
    """Every row of the file as a prompt, in file order (at most `limit`)."""
    if limit is not None and limit < 1:
        raise ConfigError(f"--dataset {path}: the limit must be at least 1")
    rows = _rows(path)
    prompts: list[Prompt] = []
    roles: dict[str, str] | None = None
    for where, row in rows:
        if roles is None:
            roles = _resolve(dict(columns or {}), row, path)
        prompts.append(_row_prompt(row, roles, where))
        if limit is not None and len(prompts) >= limit:
            break
    if not prompts:
        raise ConfigError(f"--dataset {path} has no rows; give a file with at least one")
    return prompts


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(
            f"--dataset {path}: unknown format {suffix or '(no suffix)'!r}; "
            f"name a {', '.join(FORMATS)} file"
        )
    if path.is_dir():
        raise ConfigError(f"--dataset {path} is a directory; name a {', '.join(FORMATS)} file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"--dataset {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES and suffix != ".parquet":
        raise ConfigError(f"--dataset {path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    readers = {".jsonl": jsonl_rows, ".json": _json, ".csv": _csv, ".parquet": _parquet}
    return readers[suffix](path)


def jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each non-blank line of a JSONL file as an object, with where it is (file:line) for
    messages; a line that is not a JSON object is a one-line ConfigError naming it."""
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ConfigError(f"{where}: not JSON ({exc}); fix or remove the line") from None
            yield where, _object(obj, where)


def _json(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"--dataset {path}: not JSON ({exc})") from None
    if not isinstance(data, list):
        raise ConfigError(f"--dataset {path}: expected a JSON array of objects (rows)")
    for number, obj in enumerate(data, start=1):
        where = f"{path} row {number}"
        yield where, _object(obj, where)


def _object(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ConfigError(f"{where}: expected a JSON object (one row), got {type(obj).__name__}")
    return obj


def _csv(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row:
                    raise ConfigError(f"{where}: more fields than the header has columns")
                yield where, row
        except csv.Error as exc:
            # DictReader's own line_num is only updated after a row parses
            where = f"{path}:{reader.reader.line_num}"
            raise ConfigError(f"{where}: not valid CSV ({exc}); fix the row") from None
        except UnicodeDecodeError:
            raise ConfigError(f"--dataset {path}: not UTF-8 text; re-encode it") from None


def _parquet(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq  # optional: only Parquet input needs it
    except ImportError:
        raise ConfigError("reading Parquet needs pyarrow: pip install 'tokenbench[data]'") from None
    import pyarrow as pa

    try:
        table = pq.ParquetFile(path)
        number = 0
        for batch in table.iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                number += 1
                yield f"{path} row {number}", row
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError(f"--dataset {path}: not a readable Parquet file ({exc})") from None


def _resolve(columns: dict[str, str], first: Mapping[str, Any], path: Path) -> dict[str, str]:
    """The prompt (or messages) column: the one mapped, else the first default the first row
    has, a plain prompt column before a conversation column."""
    if "prompt" in columns or "messages" in columns:
        return columns
    for role in ("prompt", "messages"):
        found = next((n for n in DEFAULT_COLUMNS[role] if n in first), None)
        if found is not None:
            return {**columns, role: found}
    looked = ", ".join(DEFAULT_COLUMNS["prompt"] + DEFAULT_COLUMNS["messages"])
    have = ", ".join(repr(str(k)) for k in first) or "none"
    raise ConfigError(
        f"--dataset {path}: no prompt column (looked for {looked}; it has {have}); "
        "name one with --column prompt=COLUMN"
    )


def _row_prompt(row: Mapping[str, Any], roles: Mapping[str, str], where: str) -> Prompt:
    def cell(role: str) -> Any:
        name = roles.get(role)
        if name is None:  # an optional role not mapped: its default column, where a row has it
            return row.get(DEFAULT_COLUMNS[role][0])
        if name not in row:
            raise ConfigError(f"{where}: column {name!r} ({role}) is missing; check --column")
        return row[name]

    max_tokens = _max_tokens(cell("max_tokens"), where)
    system = cell("system")
    if system is not None and not isinstance(system, str):
        raise ConfigError(f"{where}: the system column is not text; fix the row")
    if "messages" in roles:
        messages = _chat(cell("messages"), roles["messages"], where)
    else:
        text = cell("prompt")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(
                f"{where}: the prompt column {roles['prompt']!r} is empty or not text; "
                "fix the row or map another column"
            )
        if not system:
            return Prompt(text, prompt_id(text), None, None, max_tokens)
        messages = [{"role": "user", "content": text}]
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return messages_prompt(messages, max_tokens)


def _max_tokens(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    digits = value.strip() if isinstance(value, str) else ""
    if digits.isascii() and digits.isdigit() and len(digits) <= 18:
        value = int(digits)
    elif isinstance(value, float) and value.is_integer():  # Parquet ints with nulls are floats
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ConfigError(f"{where}: max_tokens {shown} is not a whole number ≥ 1")
    return value


def _chat(value: Any, column: str, where: str) -> list[dict[str, Any]]:
    """ShareGPT or chat-API turns as chat messages, cut before the trailing assistant turn(s)
    so the model answers the last user turn."""
    if isinstance(value, str):  # CSV cells hold the list as JSON text
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ConfigError(f"{where}: column {column!r} is not a JSON list of turns") from None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: column {column!r} must be a non-empty list of turns")
    messages = []
    for i, turn in enumerate(value, start=1):
        if not isinstance(turn, Mapping):
            raise ConfigError(f"{where}: turn {i} of {column!r} is not an object")
        speaker = turn.get("role", turn.get("from"))
        content = turn.get("content", turn.get("value"))
        role = _SPEAKERS.get(speaker) if isinstance(speaker, str) else None
        if role is None:
            known = ", ".join(sorted(_SPEAKERS))
            raise ConfigError(f"{where}: turn {i} has speaker {speaker!r}; known: {known}")
        if not isinstance(content, str):
            raise ConfigError(f"{where}: turn {i} of {column!r} has no text content")
        messages.append({"role": role, "content": content})
    while messages and messages[-1]["role"] == "assistant":
        messages.pop()
    if not messages or messages[-1]["role"] != "user" or not messages[-1]["content"].strip():
        raise ConfigError(f"{where}: the conversation has no user turn to answer; drop the row")
    return messages
