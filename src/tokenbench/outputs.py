"""Where results are written: an output directory or file checked before any work starts, so a
path mistake is one line naming the flag, not a traceback after minutes of measuring."""

from __future__ import annotations

import os
from pathlib import Path

from tokenbench.errors import ConfigError


def output_dir(path: Path, flag: str) -> Path:
    """A directory to write into: created when missing; a file or a read-only place refused."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path} is a file; name a directory for the results")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot create it ({exc.strerror}); "
                          "choose a directory you can write to") from None  # fmt: skip
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path} is not writable; choose a directory you can write to")
    return path


def output_file(path: Path, flag: str) -> Path:
    """A file to write: its directory created when missing; a directory in its place refused."""
    if path.is_dir():
        raise ConfigError(
            f"{flag} {path} is a directory; name the file, e.g. {path / 'report.html'}"
        )
    output_dir(path.parent if str(path.parent) else Path("."), f"{flag} {path}: the directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{flag} {path} is not writable; choose another file")
    return path
