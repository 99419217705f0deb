"""Managed server: an engine tokenbench starts and stops itself (llama-server is the first).

An engine profile names its factory; `session/target.py` depends only on this protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """What a run asks of a server it starts, whichever engine it is."""

    model_path: Path
    parallel: int  # slots: at least the largest concurrency of the sweep
    ctx_per_slot: int  # tokens of context each slot needs (input + output + margin)
    threads: int | None = None
    startup_timeout_s: float = 180.0
    log_path: Path | None = None


class ManagedServer(Protocol):
    """A started engine process: an async context manager that is stopped on every exit path."""

    program: str  # the executable's name, for progress messages ("llama-server")
    config: ServerConfig

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, once started (e.g. http://127.0.0.1:PORT/v1)."""
        ...

    @property
    def pid(self) -> int | None: ...

    async def start(self) -> None:
        """Start the process and wait until it serves; stop it again if that fails."""
        ...

    def stop(self) -> None: ...

    def version(self) -> str | None:
        """The engine's own report of its version (e.g. `--version`), in full."""
        ...

    def package_version(self) -> str | None:
        """The version of the installed package that shipped the engine, if any."""
        ...

    def launch_args(self) -> list[str]:
        """The command line after the program, the model given by file name only."""
        ...

    async def __aenter__(self) -> ManagedServer: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


ServerFactory = Callable[[ServerConfig], ManagedServer]
