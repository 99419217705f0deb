"""Local key material in the user config dir: the Ed25519 signing key and the HMAC secret that
stands in for machine identifiers. Both are created on first use with mode 0600."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import platformdirs
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tokenbench.errors import ConfigError

CONFIG_ENV = "TOKENBENCH_CONFIG_DIR"


def config_dir() -> Path:
    override = os.environ.get(CONFIG_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir("tokenbench"))


def private_key_path() -> Path:
    return config_dir() / "signing-key.pem"


def public_key_path() -> Path:
    return config_dir() / "signing-key.pub.pem"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def generate(force: bool = False) -> Ed25519PrivateKey:
    """Create the local signing key. Refuses to overwrite one unless `force`."""
    path = private_key_path()
    if path.exists():
        if not force:
            raise ConfigError(f"a signing key already exists at {path}; pass --force to replace it")
        path.unlink()
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(path, pem)
    public_key_path().write_text(public_pem(key.public_key()))
    return key


def load_private(path: Path | None = None) -> Ed25519PrivateKey | None:
    path = path or private_key_path()
    if not path.exists():
        return None
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a readable PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 key")
    return key


def load_or_create() -> tuple[Ed25519PrivateKey, bool]:
    """The local signing key, and whether it was created just now."""
    key = load_private()
    if key is not None:
        return key, False
    return generate(), True


def load_public(path: Path) -> Ed25519PublicKey:
    """A trusted public key from a PEM file (a private key file gives its public half)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise ConfigError(f"{path} is not a PEM Ed25519 public key") from None
        key = private.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path} is not an Ed25519 key")
    return key


def trusted_keys(extra: list[Path] | None = None) -> list[Ed25519PublicKey]:
    """The local key's public half (if any) plus keys given with --key."""
    keys = [load_public(p) for p in extra or []]
    local = load_private()
    if local is not None:
        keys.append(local.public_key())
    return keys


def _secret() -> bytes:
    path = config_dir() / "identifier-secret"
    if path.exists():
        return path.read_bytes()
    value = secrets.token_bytes(32)
    try:
        _write_private(path, value)
    except FileExistsError:  # created concurrently
        return path.read_bytes()
    return value


def hmac_id(value: str) -> str:
    """An identifier (hostname, GPU UUID, machine-id) as HMAC-SHA256 under the local secret:
    stable on this machine, meaningless elsewhere, never the raw value."""
    return hmac.new(_secret(), value.encode(), hashlib.sha256).hexdigest()[:32]


class Signer:
    """The local signing key: an existing one is loaded (and checked) at once; a new one is
    created only when the first envelope is sealed, so a run that fails early creates nothing."""

    def __init__(self, enabled: bool, note: Callable[[str], None]) -> None:
        self._enabled = enabled
        self._note = note
        self._key: Ed25519PrivateKey | None = load_private() if enabled else None

    def key(self) -> Ed25519PrivateKey | None:
        if self._enabled and self._key is None:
            self._key, created = load_or_create()
            if created:
                self._note(
                    f"created a signing key at {private_key_path()} "
                    f"(public key: {public_key_path()})"
                )
        return self._key
