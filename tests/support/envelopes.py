"""Reading envelopes in tests the way `bench verify` does, with the test's local key trusted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tokenbench.envelope import keys
from tokenbench.envelope.schema import PROMPTS_SUFFIX, RAW_SUFFIX
from tokenbench.envelope.verify import Opened, open_envelope
from tokenbench.records import RequestRecord, read_records


def envelope_paths(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.glob("*.json") if not p.name.endswith((".config.json", PROMPTS_SUFFIX))
    )


def open_run(path: Path) -> Opened:
    return open_envelope(path, keys.trusted_keys(), require_signature=False)


def sidecar(opened: Opened, suffix: str) -> Path:
    name = next(s.name for s in opened.statement.subject if s.name.endswith(suffix))
    return opened.path.parent / name


def records(opened: Opened) -> list[RequestRecord]:
    return read_records(sidecar(opened, RAW_SUFFIX).read_bytes())


def prompt_ids(opened: Opened) -> list[str]:
    manifest: dict[str, Any] = orjson.loads(sidecar(opened, PROMPTS_SUFFIX).read_bytes())
    return [p["prompt_id"] for p in manifest["prompts"]]
