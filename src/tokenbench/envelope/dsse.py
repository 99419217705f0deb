"""DSSE (Dead Simple Signing Envelope) with Ed25519: pre-authentication encoding, signing,
verification against a set of trusted keys."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 pre-authentication encoding: what is actually signed."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def keyid(public_key: Ed25519PublicKey) -> str:
    """sha256 of the public key's SubjectPublicKeyInfo DER, hex."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def sign(payload_type: str, payload: bytes, key: Ed25519PrivateKey) -> dict[str, object]:
    """A DSSE envelope (as a JSON-ready dict) with one signature."""
    sig = key.sign(pae(payload_type, payload))
    return {
        "payloadType": payload_type,
        "payload": b64(payload),
        "signatures": [{"keyid": keyid(key.public_key()), "sig": b64(sig)}],
    }


def unsigned(payload_type: str, payload: bytes) -> dict[str, object]:
    return {"payloadType": payload_type, "payload": b64(payload), "signatures": []}


@dataclass(frozen=True, slots=True)
class Verified:
    keyid: str  # the trusted key that verified a signature


def verify(
    payload_type: str,
    payload: bytes,
    signatures: list[tuple[str | None, bytes]],
    trusted: list[Ed25519PublicKey],
) -> Verified | None:
    """The first trusted key that verifies any signature, or None. A signature's keyid only
    decides which key is tried first; every trusted key is tried."""
    message = pae(payload_type, payload)
    by_id = {keyid(k): k for k in trusted}
    for hint, sig in signatures:
        order = ([by_id[hint]] if hint in by_id else []) + [
            k for kid, k in by_id.items() if kid != hint
        ]
        for key in order:
            try:
                key.verify(sig, message)
            except InvalidSignature:
                continue
            return Verified(keyid(key))
    return None
