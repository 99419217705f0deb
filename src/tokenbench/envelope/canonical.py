"""Canonical JSON (RFC 8785) for signing, and a strict parser for reading signed payloads."""

from __future__ import annotations

import json
import math
from typing import Any

import rfc8785


class StrictJsonError(ValueError):
    """A payload that is not strict JSON: duplicate keys, NaN/Infinity, or not JSON at all."""


def canonical(obj: Any) -> bytes:
    """RFC 8785 (JCS) bytes of `obj`. Non-finite floats are refused, never written."""
    _refuse_non_finite(obj)
    return bytes(rfc8785.dumps(obj))


def _refuse_non_finite(obj: Any) -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError("NaN and infinities have no JSON form; use null")
    if isinstance(obj, dict):
        for v in obj.values():
            _refuse_non_finite(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _refuse_non_finite(v)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise StrictJsonError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not JSON")


def strict_loads(data: bytes | str) -> Any:
    """Parse JSON, rejecting duplicate keys and NaN/Infinity (which Python's json accepts)."""
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except StrictJsonError:
        raise
    except RecursionError:
        raise StrictJsonError("nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:  # includes integers of absurd length
        raise StrictJsonError(f"not JSON: {str(exc)[:120]}") from None
