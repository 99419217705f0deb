"""Shared fixtures: the scripted SSE server, started as a separate process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# the reference server, tokenbench's own scripted SSE server (`bench reference-server`)
SERVER_MODULE = "tokenbench.reference.server"

# GNU readline, imported by pytest before any test, writes COLUMNS=80 and LINES into the
# process's C environment (not os.environ): every `bench` a test starts would inherit a width
# no user set, and tables obey COLUMNS. Without them, piped output is 100 columns, as a user's.
for _name in ("COLUMNS", "LINES"):
    if _name not in os.environ:
        os.unsetenv(_name)


@pytest.fixture(autouse=True)
def config_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keys and the identifier secret live in a per-test config dir, never the user's."""
    path = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("TOKENBENCH_CONFIG_DIR", str(path))
    return path


@dataclass
class ScriptedServer:
    port: int
    log_prefix: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def log_entries(self) -> list[dict[str, object]]:
        """Every complete line the server has logged so far (a line still being written, with
        no newline yet, is left for the next read)."""
        out = []
        for path in self.log_prefix.parent.glob(self.log_prefix.name + ".*"):
            text = path.read_text()
            complete = text[: text.rfind("\n") + 1]
            out += [json.loads(line) for line in complete.splitlines() if line.strip()]
        return out

    def log_entry(self, response_id: str | None, timeout_s: float = 10.0) -> dict[str, object]:
        """The server's log line for one response. The server logs after its last write, so a
        client can hold the whole response before the line exists: wait for it."""
        deadline = time.monotonic() + timeout_s
        while True:
            for entry in self.log_entries():
                if entry["id"] == response_id:
                    return entry
            if time.monotonic() > deadline:
                raise AssertionError(f"server never logged {response_id} in {timeout_s:g} s")
            time.sleep(0.01)


def start_scripted_server(tmp: Path, *extra: str) -> tuple[subprocess.Popen[str], ScriptedServer]:
    log_prefix = tmp / "server-log"
    proc = subprocess.Popen(
        [sys.executable, "-m", SERVER_MODULE, "--port", "0", "--log", str(log_prefix), *extra],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip():
        proc.kill()
        raise RuntimeError("scripted server did not start")
    return proc, ScriptedServer(int(line), log_prefix)


def stop(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    if proc.stdout:
        proc.stdout.close()


@pytest.fixture
def scripted_server_factory(
    tmp_path: Path,
) -> Iterator[Callable[..., ScriptedServer]]:
    procs: list[subprocess.Popen[str]] = []

    def make(*extra: str) -> ScriptedServer:
        sub = tmp_path / f"server{len(procs)}"
        sub.mkdir()
        proc, server = start_scripted_server(sub, *extra)
        procs.append(proc)
        return server

    yield make
    for proc in procs:
        stop(proc)


@pytest.fixture
def scripted_server(scripted_server_factory: Callable[..., ScriptedServer]) -> ScriptedServer:
    return scripted_server_factory("--engine", "vllm", "--template-overhead", "7")
