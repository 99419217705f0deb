"""Consoles for command output: tables never squeezed to 80 columns when piped or logged."""

from __future__ import annotations

from rich.console import Console

_PIPE_WIDTH = 200


def stdout_console() -> Console:
    console = Console()
    if not console.is_terminal:
        return Console(width=max(console.width, _PIPE_WIDTH))
    return console
