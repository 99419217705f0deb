"""The engine registry: every engine profile, one module each in this package, found by
listing the package, so adding an engine is one module (and its test); docs/engines.md shows one."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from tokenbench.engines.profile import EngineProfile, Tokenizer
from tokenbench.engines.profiles import openai_compatible
from tokenbench.registry import Registry

GENERIC = openai_compatible.PROFILE  # "unknown": what a server no profile recognises gets

# Every module here that defines PROFILE, by module name, the generic fallback last. Listing
# the package (rather than a hand-kept tuple) is what makes a new engine a single file. The
# order only decides which probes are sent first: each profile recognises its own marker alone.
PROFILES: Registry[EngineProfile] = Registry("engine")
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    _found = getattr(importlib.import_module(f"{__name__}.{_module}"), "PROFILE", None)
    if isinstance(_found, EngineProfile) and _found is not GENERIC:
        PROFILES.register(_found.name, _found)
PROFILES.register(GENERIC.name, GENERIC)


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
