"""Untrusted envelopes: the parser ends every hostile input with a clean VerifyError, reads
nothing outside the envelope's folder, and never crashes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.envelopes import minimal_statement
from tokenbench.envelope import dsse
from tokenbench.envelope.verify import VerifyError, check_subjects, open_envelope

KEY = Ed25519PrivateKey.generate()
TRUSTED = [KEY.public_key()]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


def _write(tmp: Path, data: bytes) -> Path:
    path = tmp / "e.json"
    path.write_bytes(data)
    return path


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(VerifyError):
        open_envelope(_write(tmp_path, data), TRUSTED)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=json_values)
def test_arbitrary_json_documents(tmp_path: Path, doc: Any) -> None:
    with pytest.raises(VerifyError):
        open_envelope(_write(tmp_path, json.dumps(doc).encode()), TRUSTED)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=json_values)
def test_arbitrary_payloads_signed_by_a_trusted_key(tmp_path: Path, payload: Any) -> None:
    """Even a trusted signer cannot make the parser crash: only schema errors come back."""
    body = json.dumps(payload).encode()
    envelope = dsse.sign(dsse.IN_TOTO_PAYLOAD_TYPE, body, KEY)
    with pytest.raises(VerifyError) as info:
        open_envelope(_write(tmp_path, json.dumps(envelope).encode()), TRUSTED)
    assert info.value.exit_code in (15, 16)


@pytest.mark.parametrize(
    ("payload", "code", "needle"),
    [
        (b"[" * 100_000 + b"]" * 100_000, 15, "nested too deeply"),
        (b'{"x": 1' + b"0" * 50_000 + b"}", 15, "not JSON"),
        (b'{"_type": 1, "_type": 2}', 15, "duplicate key"),
        (b'{"x": NaN}', 15, "NaN"),
        (b'{"x": -Infinity}', 15, "Infinity"),
    ],
)
def test_hostile_payloads(tmp_path: Path, payload: bytes, code: int, needle: str) -> None:
    envelope = dsse.sign(dsse.IN_TOTO_PAYLOAD_TYPE, payload, KEY)
    with pytest.raises(VerifyError) as info:
        open_envelope(_write(tmp_path, json.dumps(envelope).encode()), TRUSTED)
    assert info.value.exit_code == code
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def _statement_with_subject(name: str) -> bytes:
    statement = minimal_statement()
    statement["subject"] = [{"name": name, "digest": {"sha256": "0" * 64}}]
    return json.dumps(statement).encode()


@pytest.mark.parametrize("name", ["../outside.jsonl", "/etc/passwd", "sub/dir.jsonl", ".."])
def test_sidecar_paths_outside_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    envelope = dsse.sign(dsse.IN_TOTO_PAYLOAD_TYPE, _statement_with_subject(name), KEY)
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "outside.jsonl").write_text("secret")
    with pytest.raises(VerifyError) as info:
        open_envelope(_write(inner, json.dumps(envelope).encode()), TRUSTED)
    assert info.value.exit_code == 16
    assert "not a plain file name" in str(info.value)


def test_a_well_formed_minimal_statement_opens(tmp_path: Path) -> None:
    body = _statement_with_subject("run.records.jsonl")
    envelope = dsse.sign(dsse.IN_TOTO_PAYLOAD_TYPE, body, KEY)
    opened = open_envelope(_write(tmp_path, json.dumps(envelope).encode()), TRUSTED)
    with pytest.raises(VerifyError) as info:
        check_subjects(opened)
    assert info.value.exit_code == 18  # the sidecar is not there: data unverified
    assert base64.b64encode(body)
