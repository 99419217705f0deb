"""The reference server as a child process of tokenbench (selftest, canary): start it on
127.0.0.1, read its log of write timestamps by response id, stop it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenbench.errors import ConfigError


@dataclass
class ReferenceProcess:
    """A running reference server: its port, its log prefix and the process."""

    proc: subprocess.Popen[str]
    port: int
    log_prefix: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def log(self) -> dict[str, dict[str, Any]]:
        """Every complete log line so far, by response id (a line still being written waits)."""
        out: dict[str, dict[str, Any]] = {}
        for path in self.log_prefix.parent.glob(self.log_prefix.name + ".*"):
            text = path.read_text(encoding="utf-8")
            for line in text[: text.rfind("\n") + 1].splitlines():
                if line.strip():
                    entry = json.loads(line)
                    out[str(entry["id"])] = entry
        return out

    def log_for(self, ids: set[str], timeout_s: float = 5.0) -> dict[str, dict[str, Any]]:
        """The log lines of `ids`, waiting a little for lines written after the last chunk."""
        deadline = time.monotonic() + timeout_s
        while True:
            entries = self.log()
            if ids <= entries.keys() or time.monotonic() > deadline:
                return entries
            time.sleep(0.02)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def start_reference(log_prefix: Path, *extra: str) -> ReferenceProcess:
    """Start `python -m tokenbench.reference.server` in its own process group; it prints its
    port once it listens."""
    log_prefix.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenbench.reference.server", "--port", "0",
         "--log", str(log_prefix), *extra],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise ConfigError("the reference server did not start; run `bench reference-server` "
                          "to see why")  # fmt: skip
    return ReferenceProcess(proc, int(line), log_prefix)
