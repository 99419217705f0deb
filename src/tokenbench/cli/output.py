"""Consoles for command output: as wide as the terminal, or as COLUMNS says; piped or logged
without COLUMNS, 100 columns, the width every table is designed for, so that logs read the
same on every machine."""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console

from tokenbench.render.registry import Output

PIPE_WIDTH = 100


def console_width() -> int | None:
    """COLUMNS when it is a positive number; else None (the terminal's own width)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return None
    return columns if columns > 0 else None


def stdout_console() -> Console:
    width = console_width()
    console = Console(width=width)
    if width is None and not console.is_terminal:
        return Console(width=PIPE_WIDTH)
    return console


def stdout_output(wide: bool = False) -> Output:
    """Standard output for a renderer: the console for tables, the byte stream for documents."""
    return Output(stdout_console(), sys.stdout.buffer, wide)


def add_wide_option(p: argparse.ArgumentParser) -> None:
    """--wide, for every command that prints tables."""
    p.add_argument("--wide", action="store_true",
                   help="tables show full labels (the whole hardware name), not short ones; "
                        "JSON and the HTML report always have them")  # fmt: skip
