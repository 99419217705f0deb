"""Load envelopes from files, directories and globs. Invalid files are skipped and counted."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from tokenbench.envelope.schema import Envelope
from tokenbench.errors import ConfigError

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024


@dataclass
class Corpus:
    envelopes: list[tuple[Path, Envelope]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def suites(self) -> set[str]:
        return {env.suite.name for _, env in self.envelopes}


def _candidates(spec: str) -> list[Path]:
    path = Path(spec)
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if p.is_file())
    if path.is_file():
        return [path]
    matches = sorted(Path(m) for m in glob.glob(spec, recursive=True))
    files: list[Path] = []
    for m in matches:
        files.extend(_candidates(str(m)) if m.is_dir() else [m])
    if not files:
        raise ConfigError(f"{spec}: no such file, directory or matching glob")
    return files


def _why(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "document"
    return f"{where}: {first['msg']}"


def load_corpus(specs: list[str]) -> Corpus:
    corpus = Corpus()
    seen: set[Path] = set()
    for spec in specs:
        for path in _candidates(spec):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            try:
                size = path.stat().st_size
                if size > MAX_ENVELOPE_BYTES:
                    corpus.skipped.append((path, f"larger than {MAX_ENVELOPE_BYTES} bytes"))
                    continue
                env = Envelope.model_validate_json(path.read_bytes())
            except ValidationError as exc:
                corpus.skipped.append((path, _why(exc)))
                continue
            except OSError as exc:
                corpus.skipped.append((path, exc.strerror or str(exc)))
                continue
            corpus.envelopes.append((path, env))
    return corpus
