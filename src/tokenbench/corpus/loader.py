"""Load envelopes from files, directories and globs, verifying signatures as they load.

An envelope whose signature no trusted key verifies, or that fails any check up to its schema,
is skipped and counted with the reason. Unsigned envelopes (written with --no-sign) load,
marked unsigned.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tokenbench.envelope.schema import (
    CONFIG_SUFFIX,
    PROMPTS_SUFFIX,
    EvalPredicate,
    RunPredicate,
)
from tokenbench.errors import ConfigError
from tokenbench.records import ItemRecord, RequestRecord, read_items, read_records
from tokenbench.telemetry.sampler import Row, read_rows

_SIDECARS = (CONFIG_SUFFIX, PROMPTS_SUFFIX)
INDEX_DIR = ".tokenbench"  # where a directory's corpus index lives: never walked for envelopes


@dataclass(frozen=True, slots=True)
class LoadedRun:
    path: Path
    predicate: RunPredicate
    signer: str | None  # keyid that verified it; None for an unsigned envelope
    raw_path: Path | None = None  # the raw-records sidecar the statement names
    telemetry_path: Path | None = None  # the telemetry sidecar, when the point recorded one
    # parsed sidecar, kept after the first read: charts and pairs ask for it many times
    _parsed: list[list[RequestRecord]] = field(default_factory=list, compare=False, repr=False)

    def records(self) -> list[RequestRecord]:
        """The raw records (empty when the sidecar is missing: data unverified), parsed once."""
        if not self._parsed:
            path = self.raw_path
            self._parsed.append(read_records(path.read_bytes()) if path and path.is_file() else [])
        return self._parsed[0]

    def telemetry(self) -> list[Row]:
        """The telemetry sidecar's rows (empty without one)."""
        path = self.telemetry_path
        return read_rows(path) if path and path.is_file() else []


@dataclass(frozen=True, slots=True)
class LoadedEval:
    path: Path
    predicate: EvalPredicate
    signer: str | None
    items_path: Path | None = None
    _parsed: list[list[ItemRecord]] = field(default_factory=list, compare=False, repr=False)

    def items(self) -> list[ItemRecord]:
        """The scored answers (empty when the sidecar is missing: data unverified), parsed
        once."""
        if not self._parsed:
            path = self.items_path
            self._parsed.append(read_items(path.read_bytes()) if path and path.is_file() else [])
        return self._parsed[0]


@dataclass
class Corpus:
    runs: list[LoadedRun] = field(default_factory=list)
    evals: list[LoadedEval] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def suites(self) -> set[str]:
        return {r.predicate.parameters.suite.name for r in self.runs}

    @property
    def loaded(self) -> int:
        """Envelopes loaded, runs and evals."""
        return len(self.runs) + len(self.evals)

    def nothing_loaded(self) -> str:
        """Why a command has nothing to work on, and what to do: the skipped envelopes counted
        by reason (an untrusted signer is the usual one, answered by --key)."""
        if not self.skipped:
            return "no envelope found; check the paths"
        reasons: Counter[str] = Counter(why.split(":", 1)[0] for _path, why in self.skipped)
        counted = "; ".join(f"{n} {why}" for why, n in reasons.most_common())
        hint = (
            ": pass the signer's public key with --key PUB.pem"
            if any("trusted key" in why for why in reasons)
            else "; `bench verify PATH` says more for each file"
        )
        return f"{len(self.skipped)} envelopes skipped ({counted}){hint}"

    def latest_eval(self, task: str, keep: Callable[[LoadedEval], bool]) -> LoadedEval | None:
        """The most recently started eval of `task` among those `keep` accepts."""
        found = [e for e in self.evals if e.predicate.task.name == task and keep(e)]
        return max(found, key=lambda e: e.predicate.timing.started_at, default=None)

    def fastest_run(self, keep: Callable[[LoadedRun], bool]) -> LoadedRun | None:
        """The valid run with the highest output throughput among those `keep` accepts."""
        found = [r for r in self.runs if r.predicate.validity.valid and keep(r)
                 and r.predicate.metrics.output_throughput_tok_per_s is not None]  # fmt: skip
        return max(found, key=lambda r: r.predicate.metrics.output_throughput_tok_per_s or 0.0,
                   default=None)  # fmt: skip


def is_envelope_name(name: str) -> bool:
    return name.endswith(".json") and not name.endswith(_SIDECARS)


def walk(root: Path) -> dict[str, tuple[int, int]]:
    """Envelope files under `root` (recursively, the index's own folder left out): path relative
    to `root` → (size, mtime_ns)."""
    found: dict[str, tuple[int, int]] = {}
    stack = [(str(root), "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = rel + entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name != INDEX_DIR:
                    stack.append((entry.path, name + "/"))
            elif is_envelope_name(entry.name):
                try:
                    st = entry.stat()
                except OSError:
                    continue
                found[name] = (st.st_size, st.st_mtime_ns)
    return found


def envelope_files(spec: str) -> list[Path]:
    """Envelope files named by a path, a directory (searched recursively) or a glob."""
    path = Path(spec)
    if path.is_dir():
        return sorted(path / name for name in walk(path))
    if path.is_file():
        return [path]
    matches = sorted(Path(m) for m in glob.glob(spec, recursive=True))
    files: list[Path] = []
    for m in matches:
        if m.is_dir():
            files.extend(envelope_files(str(m)))
        elif is_envelope_name(m.name):
            files.append(m)
    if not files:
        raise ConfigError(f"{spec}: no such file, directory or matching glob")
    return files
