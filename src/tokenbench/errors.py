"""The exception tree. Every message says what went wrong and what to do next.

TokenbenchError
├── ConfigError      bad flags, unknown suite/model, unreadable input files
├── EngineError      the server under test: unreachable, refused, failed to start
│   └── ServerLost   it answered, then became unreachable during the sweep (exit 4)
└── EnvelopeError    an envelope that does not validate or verify (verify.VerifyError)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TokenbenchError(Exception):
    """Base of every error tokenbench reports to the user; `exit_code` is the process status."""

    exit_code = 1


class ConfigError(TokenbenchError):
    exit_code = 2


class EngineError(TokenbenchError):
    exit_code = 2


class ServerLost(EngineError):
    """The server answered, then refused connections: lost while a point's prompts were built
    (warmup and measuring stop the point instead, and write it as `partial`)."""

    exit_code = 4


class EnvelopeError(TokenbenchError):
    exit_code = 3


def unknown_name(kind: str, name: str, known: Iterable[str]) -> ConfigError:
    """A ConfigError for an unknown registry name, listing close matches (or all names)."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    else:
        hint = "known: " + ", ".join(names)
    return ConfigError(f"unknown {kind} {name!r}; {hint}")
