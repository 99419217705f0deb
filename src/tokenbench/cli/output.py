"""Consoles for command output: tables never squeezed to 80 columns when piped or logged."""

from __future__ import annotations

import sys

from rich.console import Console

from tokenbench.render.registry import Output

_PIPE_WIDTH = 200


def stdout_console() -> Console:
    console = Console()
    if not console.is_terminal:
        return Console(width=max(console.width, _PIPE_WIDTH))
    return console


def stdout_output() -> Output:
    """Standard output for a renderer: the console for tables, the byte stream for documents."""
    return Output(stdout_console(), sys.stdout.buffer)
