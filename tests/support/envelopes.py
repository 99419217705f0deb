"""Reading envelopes in tests the way `bench verify` does, with the test's local key trusted."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tokenbench.envelope import keys
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.hardware import fingerprint
from tokenbench.envelope.io import seal, statement_payload, write_envelope
from tokenbench.envelope.schema import PROMPTS_SUFFIX, RAW_SUFFIX, RunPredicate
from tokenbench.envelope.verify import Opened, open_envelope
from tokenbench.metrics.summary import summarize
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


def minimal_statement() -> dict[str, Any]:
    """A valid Statement with made-up content, for parser tests that need to get past the schema."""
    hw = fingerprint().model_dump(mode="json")
    assert socket.gethostname() not in json_text(hw)
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [],
        "predicateType": "urn:tokenbench:predicate:run:v2",
        "predicate": {
            "schema_version": 2,
            "kind": "run",
            "run_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "sweep_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "status": "complete",
            "validity": {"valid": True, "reasons": []},
            "parameters": {
                "suite": {"name": "s", "api": "chat", "temperature": 0.0, "max_tokens": 1,
                          "ignore_eos_requested": False, "ignore_eos_sent": False,
                          "prefix_cache_disabled": False},
                "load": {"concurrency": 1, "requests": 1, "warmup_requests": 0,
                         "duration_limit_s": None, "timeout_s": 1.0, "seed": 0},
                "workload": {"kind": "fixed", "prompts": 1, "input_tokens_target": None,
                             "template_overhead_tokens": None, "input_tokens_exact": None},
            },
            "target": {
                "base_url": "http://127.0.0.1:1/v1",
                "engine": {"name": "x", "version": None, "detected": False, "embedded": False},
                "model": {"model_id": "m", "source": "remote"},
            },
            "hardware": hw,
            "software": {"tool_version": "0", "git_commit": None, "python": "3", "event_loop": "x",
                         "packages_digest": "0", "packages": {}, "suite_digest": "0"},
            "timing": {"started_at": "x", "finished_at": "x", "wall_anchor_us": 0},
            "metrics": summarize([]).model_dump(mode="json"),
            "energy": {"method": "none", "scope": None, "window_s": None, "energy_j": None,
                       "idle_watts": None, "reason": "none"},
            "comparability": {"key": "0", "hardware_fingerprint": "0", "engine": "x",
                              "suite_digest": "0", "schema_version": 2},
            "privacy": {"prompts_stored": False},
        },
    }  # fmt: skip


def json_text(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def write_run_envelope(
    folder: Path,
    records: list[RequestRecord],
    model_id: str = "m",
    gpus: list[str] | None = None,
    metrics: dict[str, Any] | None = None,
    name: str | None = None,
    edit: Callable[[dict[str, Any]], None] | None = None,
    key: Ed25519PrivateKey | None = None,
) -> Path:
    """A signed run envelope over hand-made records (the local key), as `bench run` would seal
    it: raw sidecar, metrics summarised from it. `gpus`: the GPU names its hardware records
    (default: this machine's). `metrics`: the figures as stated (e.g. as an older tool did).
    `name`: the file's stem; `edit` changes the predicate's dict before it is sealed; `key`
    signs instead of the local key."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = name or f"{model_id}__hand__c1"
    raw = folder / f"{stem}{RAW_SUFFIX}"
    raw.write_bytes(b"".join(r.to_json() + b"\n" for r in records))
    body = minimal_statement()["predicate"]
    body["metrics"] = metrics if metrics is not None else summarize(records).model_dump(mode="json")
    body["target"]["model"]["model_id"] = model_id
    if gpus is not None:
        body["hardware"]["gpus"] = [{"name": name} for name in gpus]
    if edit is not None:
        edit(body)
    predicate = RunPredicate.model_validate(body)
    key = key or keys.load_or_create()[0]
    path = folder / f"{stem}.json"
    payload = statement_payload(predicate, [raw])
    if metrics is not None:  # exactly as stated: an older tool's envelope lacks later fields
        statement = orjson.loads(payload)
        statement["predicate"]["metrics"] = metrics
        payload = canonical(statement)
    write_envelope(seal(payload, key), path)
    return path
