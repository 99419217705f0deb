"""The engine registry: every engine profile, most specific detection first, plus the generic
fallback. Adding an engine is one module here (and its test); docs/engines.md shows one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from tokenbench.engines.profile import EngineProfile, Tokenizer
from tokenbench.engines.profiles import (
    hosted,
    llamacpp,
    ollama,
    openai_compatible,
    sglang,
    tgi,
    vllm,
)
from tokenbench.registry import Registry

GENERIC = openai_compatible.PROFILE  # "unknown": what a server no profile recognises gets

# Detection order: hosts first (no probe sent), then engines whose marker route is their own,
# and vLLM last, since its first probe (/version) is answered by many servers.
PROFILES: Registry[EngineProfile] = Registry("engine")
for _profile in (
    hosted.PROFILE,
    llamacpp.PROFILE,
    sglang.PROFILE,
    tgi.PROFILE,
    ollama.PROFILE,
    vllm.PROFILE,
    GENERIC,
):
    PROFILES.register(_profile.name, _profile)


def profile(name: str) -> EngineProfile:
    """The profile registered as `name`; ConfigError with close names when there is none."""
    return PROFILES.get(name)


def profile_or_generic(name: str) -> EngineProfile:
    """The profile of an engine by name; the generic one for a name tokenbench does not know
    (`--engine` records any name the user gives)."""
    return PROFILES.get(name) if name in PROFILES else GENERIC


def detectable() -> list[EngineProfile]:
    """The profiles detection tries, in order (the generic fallback is not an engine)."""
    return [p for p in PROFILES.values() if p is not GENERIC]


def hosted_by(host: str) -> EngineProfile | None:
    """The profile that owns `host` (a hosted API), if any."""
    host = host.lower().rstrip(".")
    for p in PROFILES.values():
        if any(host == h or host.endswith("." + h) for h in p.hosts):
            return p
    return None


def _known_tokenizers() -> tuple[Tokenizer, ...]:
    """Every engine's tokenize shape once (same path and body = same shape), in registry order."""
    seen: set[tuple[str, bytes]] = set()
    out: list[Tokenizer] = []
    for p in detectable():
        for t in p.tokenizers:
            shape = (t.path, orjson.dumps(t.body("", None)))
            if shape not in seen:
                seen.add(shape)
                out.append(t)
    return tuple(out)


KNOWN_TOKENIZERS = _known_tokenizers()


def tokenizers(name: str) -> tuple[Tokenizer, ...]:
    """How to tokenize on engine `name`: its own endpoint; on an unknown server, every known
    engine's shape in turn, since it may be any of them."""
    p = profile_or_generic(name)
    return KNOWN_TOKENIZERS if p is GENERIC else p.tokenizers


# Stream event parsers for server timings, from every profile that has one: the stream parser
# does not know the engine, and a field only one engine sends identifies itself.
TIMINGS_PARSERS: tuple[Callable[[Mapping[str, Any]], dict[str, float] | None], ...] = tuple(
    p.timings for p in PROFILES.values() if p.timings is not None
)
