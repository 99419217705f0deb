"""Writing envelopes and their raw-record sidecars; run ids."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tokenbench.digests import file_sha256
from tokenbench.envelope import dsse
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.schema import (
    PREDICATE_TYPES,
    EvalPredicate,
    RunPredicate,
    Statement,
    Subject,
)
from tokenbench.records import RequestRecord

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    """A ULID: 48-bit millisecond timestamp + 80 random bits, Crockford base32 (sortable)."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


class RecordSink:
    """Appends records to the JSONL sidecar as they complete, so a killed run keeps its data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = path.open("ab")
        self.count = 0

    def __call__(self, record: RequestRecord) -> None:
        self._file.write(record.to_json() + b"\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        self._file.close()


def write_json(path: Path, obj: Any) -> None:
    """A sidecar JSON file (sorted keys, so equal content gives equal bytes and digest)."""
    path.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def subject(path: Path) -> Subject:
    return Subject(name=path.name, digest={"sha256": file_sha256(path)})


def statement_payload(predicate: RunPredicate | EvalPredicate, sidecars: list[Path]) -> bytes:
    """The in-toto Statement over the sidecars, as RFC 8785 canonical JSON."""
    statement = Statement(
        subject=[subject(p) for p in sidecars],
        predicateType=PREDICATE_TYPES[predicate.kind],
        predicate=predicate,
    )
    return canonical(statement.model_dump(mode="json", by_alias=True))


def seal(payload: bytes, key: Ed25519PrivateKey | None) -> dict[str, object]:
    """DSSE envelope around the payload: signed with `key`, or with no signature (--no-sign)."""
    if key is None:
        return dsse.unsigned(dsse.IN_TOTO_PAYLOAD_TYPE, payload)
    return dsse.sign(dsse.IN_TOTO_PAYLOAD_TYPE, payload, key)


def write_envelope(envelope: dict[str, object], path: Path) -> None:
    """Write atomically: a reader never sees a half-written envelope."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(orjson.dumps(envelope, option=orjson.OPT_INDENT_2) + b"\n")
    os.replace(tmp, path)
