"""Writing envelopes and their raw-record sidecars; run ids."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from pathlib import Path
from typing import BinaryIO

from tokenbench.envelope.schema import Envelope
from tokenbench.records import RequestRecord

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    """A ULID: 48-bit millisecond timestamp + 80 random bits, Crockford base32 (sortable)."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


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


def write_envelope(envelope: Envelope, path: Path) -> None:
    """Write atomically: a reader never sees a half-written envelope."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(envelope.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
