"""Whether an optional distribution (the engine, the bundled models) is installed."""

from __future__ import annotations

from importlib import metadata


def installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True
