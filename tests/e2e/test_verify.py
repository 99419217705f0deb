"""`bench verify` against real envelopes from a run on the scripted server: every way of
tampering is caught by its own check, with its own exit code; honest re-serialisation is not."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, sidecar
from tokenbench.envelope import dsse, keys
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.schema import RAW_SUFFIX
from tokenbench.envelope.verify import MAX_ENVELOPE_BYTES, open_envelope


@pytest.fixture
def signed_run(scripted_server: ScriptedServer, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", scripted_server.base_url,
                 "--model", "ttft_ms=2;itl_ms=1;tokens=16", "--concurrency", "2",
                 "--requests", "4", "--output", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "created a signing key" in proc.stderr
    return envelope_paths(out)[0]


def _copy(envelope: Path, dest: Path) -> Path:
    """The envelope and its sidecars in a fresh folder, to tamper with."""
    dest.mkdir()
    stem = envelope.name.removesuffix(".json")
    for f in envelope.parent.glob(stem + "*"):
        shutil.copy(f, dest / f.name)
    return dest / envelope.name


def _doc(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _statement(doc: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(doc["payload"]))
    return data


def _resign(path: Path, statement: dict[str, Any], payload_type: str | None = None) -> None:
    """Re-sign altered content with the trusted local key: it passes the signature check and
    must then be caught by the later checks."""
    key = keys.load_private()
    assert key is not None
    doc = dsse.sign(payload_type or dsse.IN_TOTO_PAYLOAD_TYPE, canonical(statement), key)
    path.write_text(json.dumps(doc))


def _verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return bench("verify", str(path), *extra)


def test_untouched_envelope_verifies(signed_run: Path) -> None:
    proc = _verify(signed_run)
    assert proc.returncode == 0, proc.stdout
    key = keys.load_private()
    assert key is not None
    assert dsse.keyid(key.public_key()) in proc.stdout
    assert "verified" in proc.stdout


def test_reindented_envelope_still_verifies(signed_run: Path, tmp_path: Path) -> None:
    path = _copy(signed_run, tmp_path / "reindent")
    path.write_text(json.dumps(_doc(path), indent=7, sort_keys=True))
    assert _verify(path).returncode == 0


def _flip_payload_byte(path: Path) -> None:
    doc = _doc(path)
    payload = bytearray(base64.b64decode(doc["payload"]))
    i = payload.index(b'"requests_ok":') + len(b'"requests_ok":')
    payload[i] = ord("9") if payload[i] != ord("9") else ord("8")
    doc["payload"] = base64.b64encode(bytes(payload)).decode()
    path.write_text(json.dumps(doc))


def _flip_signature_byte(path: Path) -> None:
    doc = _doc(path)
    sig = bytearray(base64.b64decode(doc["signatures"][0]["sig"]))
    sig[10] ^= 0x40
    doc["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    path.write_text(json.dumps(doc))


def _wrong_payload_type(path: Path) -> None:
    _resign(path, _statement(_doc(path)), payload_type="application/json")


def _duplicate_key_payload(path: Path) -> None:
    raw = canonical(_statement(_doc(path)))
    dup = raw.replace(b'{"_type":', b'{"_type":"x","_type":', 1)
    key = keys.load_private()
    assert key is not None
    path.write_text(json.dumps(dsse.sign(dsse.IN_TOTO_PAYLOAD_TYPE, dup, key)))


def _nan_payload(path: Path) -> None:
    raw = canonical(_statement(_doc(path)))
    bad = raw.replace(b'"temperature":0', b'"temperature":NaN', 1)
    assert bad != raw
    key = keys.load_private()
    assert key is not None
    path.write_text(json.dumps(dsse.sign(dsse.IN_TOTO_PAYLOAD_TYPE, bad, key)))


def _schema_version(path: Path) -> None:
    st = _statement(_doc(path))
    st["predicate"]["schema_version"] = 3
    _resign(path, st)


def _predicate_type(path: Path) -> None:
    st = _statement(_doc(path))
    st["predicateType"] = "https://slsa.dev/provenance/v1"
    _resign(path, st)


def _raw_jsonl(path: Path) -> None:
    st = _statement(_doc(path))
    raw = path.parent / next(s["name"] for s in st["subject"] if s["name"].endswith(RAW_SUFFIX))
    raw.write_bytes(raw.read_bytes().replace(b'"warmup":false', b'"warmup":true ', 1))


def _missing_sidecar(path: Path) -> None:
    st = _statement(_doc(path))
    (path.parent / st["subject"][1]["name"]).unlink()


def _edited_metric(path: Path) -> None:
    st = _statement(_doc(path))
    st["predicate"]["metrics"]["output_throughput_tok_per_s"] *= 1.5
    _resign(path, st)


def _edited_words_per_s(path: Path) -> None:
    st = _statement(_doc(path))
    st["predicate"]["metrics"]["output_words_per_s"] *= 1.2  # as if the tokenizer were fairer
    _resign(path, st)


def _unsigned(path: Path) -> None:
    doc = _doc(path)
    doc["signatures"] = []
    path.write_text(json.dumps(doc))


def _not_dsse(path: Path) -> None:
    doc = _doc(path)
    doc["extra"] = 1
    path.write_text(json.dumps(doc))


TAMPERS: list[tuple[str, Callable[[Path], None], int, str]] = [
    ("payload byte", _flip_payload_byte, 12, "no trusted key verifies"),
    ("signature byte", _flip_signature_byte, 12, "no trusted key verifies"),
    ("not DSSE", _not_dsse, 11, "not a DSSE envelope"),
    ("unsigned", _unsigned, 13, "not signed"),
    ("payloadType", _wrong_payload_type, 14, "wrong payloadType"),
    ("duplicate key", _duplicate_key_payload, 15, "duplicate key"),
    ("NaN", _nan_payload, 15, "NaN is not JSON"),
    ("predicateType", _predicate_type, 16, "predicateType"),
    ("schema version", _schema_version, 16, "schema_version 3"),
    ("raw JSONL", _raw_jsonl, 17, RAW_SUFFIX),
    ("missing sidecar", _missing_sidecar, 18, "data unverified"),
    ("edited metric", _edited_metric, 19, "output_throughput_tok_per_s"),
    ("edited words/s", _edited_words_per_s, 19, "output_words_per_s"),
]


@pytest.mark.parametrize(
    ("what", "tamper", "code", "message"), TAMPERS, ids=[t[0] for t in TAMPERS]
)
def test_each_tampering_has_its_own_error(
    signed_run: Path,
    tmp_path: Path,
    what: str,
    tamper: Callable[[Path], None],
    code: int,
    message: str,
) -> None:
    path = _copy(signed_run, tmp_path / "t")
    tamper(path)
    proc = _verify(path)
    assert proc.returncode == code, (what, proc.stdout)
    assert "FAIL" in proc.stdout
    assert message in proc.stdout


def test_size_cap_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(MAX_ENVELOPE_BYTES + 1)
    proc = _verify(big)
    assert proc.returncode == 10
    assert "size cap" in proc.stdout


def test_untrusted_signer_fails_and_key_flag_trusts_it(
    signed_run: Path, tmp_path: Path, config_dir: Path
) -> None:
    # Move the signer's key away: the verifier now trusts only a different local key.
    public = tmp_path / "signer.pub.pem"
    public.write_text(keys.public_key_path().read_text())
    keys.private_key_path().unlink()
    keys.generate()
    proc = _verify(signed_run)
    assert proc.returncode == 12
    assert "not trusted" in proc.stdout
    assert _verify(signed_run, "--key", str(public)).returncode == 0


def test_keyid_only_orders_the_keys(signed_run: Path, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    other_pem = tmp_path / "other.pub.pem"
    other_pem.write_text(keys.public_pem(other))
    path = _copy(signed_run, tmp_path / "swap")
    doc = _doc(path)
    doc["signatures"][0]["keyid"] = dsse.keyid(other)  # points at another trusted key
    path.write_text(json.dumps(doc))
    proc = _verify(path, "--key", str(other_pem))
    assert proc.returncode == 0, proc.stdout
    opened = open_envelope(path, keys.trusted_keys([other_pem]))
    local = keys.load_private()
    assert local is not None
    assert opened.signer == dsse.keyid(local.public_key())  # the key that really signed


def test_no_raw_identifiers_in_anything_written(signed_run: Path) -> None:
    hostname = socket.gethostname()
    machine_id = (
        Path("/etc/machine-id").read_text().strip() if Path("/etc/machine-id").exists() else None
    )
    for f in signed_run.parent.iterdir():
        text = f.read_text(errors="replace")
        if f.suffix == ".json" and not f.name.endswith((".config.json", ".prompts.json")):
            # the envelope's own text is base64, where a short hostname turns up by chance
            text = base64.b64decode(_doc(f)["payload"]).decode()
        assert not _whole_word(hostname, text), f
        if machine_id:
            assert machine_id not in text, f


def _whole_word(word: str, text: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", text) is not None


def test_keys_generate_writes_0600_and_prints_the_public_key(config_dir: Path) -> None:
    proc = bench("keys", "generate")
    assert proc.returncode == 0, proc.stderr
    mode = stat.S_IMODE(os.stat(keys.private_key_path()).st_mode)
    assert mode == 0o600
    assert "BEGIN PUBLIC KEY" in proc.stdout
    key = keys.load_private()
    assert key is not None
    assert dsse.keyid(key.public_key()) in proc.stdout
    again = bench("keys", "generate")
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert bench("keys", "show").returncode == 0


def test_summary_warns_when_comparability_keys_differ(signed_run: Path, tmp_path: Path) -> None:
    path = _copy(signed_run, tmp_path / "other-engine")
    st = _statement(_doc(path))
    comp = st["predicate"]["comparability"]
    comp["engine"] = "vllm 9.9.9"
    comp["key"] = "0123456789abcdef"
    _resign(path, st)
    proc = bench("summary", str(signed_run.parent), str(path.parent))
    assert proc.returncode == 0
    assert "do not share a comparability key (2 keys); they differ in: engine" in proc.stdout
    assert "2 envelopes loaded" in proc.stdout


def test_sidecar_digest_is_what_the_statement_names(signed_run: Path) -> None:
    opened = open_envelope(signed_run, keys.trusted_keys())
    raw = sidecar(opened, RAW_SUFFIX)
    assert raw.exists()
    # the telemetry sidecar (server scrapes, which this server answers 404) is signed too
    telemetry = raw.with_name(raw.name.replace(RAW_SUFFIX, ".telemetry.jsonl"))
    assert telemetry.exists()
    assert {s.name for s in opened.statement.subject} == {
        raw.name,
        raw.name.replace(RAW_SUFFIX, ".config.json"),
        raw.name.replace(RAW_SUFFIX, ".prompts.json"),
        telemetry.name,
    }


def test_verify_a_whole_directory(signed_run: Path) -> None:
    proc = bench("verify", str(signed_run.parent))
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.count("OK ") == 1  # sidecars are not taken for envelopes
