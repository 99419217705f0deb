"""GGUF header reader: the metadata key/values only (architecture, quantization, context length).

Tensor data is never read; arrays (the tokenizer vocabulary) are skipped element by element.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tokenbench.errors import ConfigError

# llama.cpp's LLAMA_FTYPE enum: `general.file_type` → the usual quantization name.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}  # fmt: skip

_SCALARS = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
    12: "<d",
}  # fmt: skip
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True, slots=True)
class GgufInfo:
    architecture: str | None
    name: str | None
    quant: str | None
    context_length: int | None
    has_chat_template: bool


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError("file ends inside the header")
    return data


def _string(f: BinaryIO) -> str:
    (n,) = struct.unpack("<Q", _read(f, 8))
    return _read(f, n).decode("utf-8", "replace")


def _value(f: BinaryIO, vtype: int, keep: bool) -> Any:
    if vtype in _SCALARS:
        fmt = _SCALARS[vtype]
        return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        (etype,) = struct.unpack("<I", _read(f, 4))
        (count,) = struct.unpack("<Q", _read(f, 8))
        if etype in _SCALARS and not keep:
            f.seek(struct.calcsize(_SCALARS[etype]) * count, 1)
            return None
        items = [_value(f, etype, keep) for _ in range(count)]
        return items if keep else None
    raise ValueError(f"unknown GGUF value type {vtype}")


def read_metadata(path: Path) -> dict[str, Any]:
    """All scalar/string metadata of a GGUF file (arrays are skipped and stored as None)."""
    try:
        with path.open("rb") as f:
            if _read(f, 4) != b"GGUF":
                raise ValueError("not a GGUF file (bad magic)")
            (version,) = struct.unpack("<I", _read(f, 4))
            if version < 2:
                raise ValueError(f"GGUF version {version} is too old")
            _tensors, n_kv = struct.unpack("<QQ", _read(f, 16))
            meta: dict[str, Any] = {}
            for _ in range(n_kv):
                key = _string(f)
                (vtype,) = struct.unpack("<I", _read(f, 4))
                meta[key] = _value(f, vtype, keep=False)
            return meta
    except (OSError, ValueError, struct.error) as exc:
        raise ConfigError(f"cannot read GGUF metadata from {path}: {exc}") from None


def inspect(path: Path) -> GgufInfo:
    meta = read_metadata(path)
    arch = meta.get("general.architecture")
    ftype = meta.get("general.file_type")
    ctx = meta.get(f"{arch}.context_length") if arch else None
    return GgufInfo(
        architecture=arch,
        name=meta.get("general.name"),
        quant=FILE_TYPES.get(ftype, f"ftype-{ftype}") if isinstance(ftype, int) else None,
        context_length=int(ctx) if isinstance(ctx, int) else None,
        has_chat_template="tokenizer.chat_template" in meta,
    )
