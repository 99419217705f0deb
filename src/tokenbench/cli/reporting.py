"""`--report FORMAT` and `-o FILE`, the same for every command that renders a view: the formats
come from the renderer registry, and `-o` names a file the chosen format is written to instead
of standard output (`-o` of `bench run` and `bench eval` is the directory of their envelopes)."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console

from tokenbench.cli.output import add_wide_option, stdout_console, stdout_output
from tokenbench.errors import ConfigError
from tokenbench.outputs import output_file
from tokenbench.render.formats import formats_for, render
from tokenbench.render.registry import Output


def report_formats(*views: type[BaseModel]) -> list[str]:
    """The formats every one of `views` has, in the registry's order."""
    first, *rest = views
    return [f for f in formats_for(first) if all(f in formats_for(v) for v in rest)]


def add_report_options(p: argparse.ArgumentParser, *views: type[BaseModel]) -> None:
    """--report (the formats registered for every view the command may print), -o FILE and
    --wide (full labels in tables)."""
    p.add_argument("--report", choices=report_formats(*views), default="table",
                   help="output format (default table)")  # fmt: skip
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write the output to FILE instead of standard output")  # fmt: skip
    add_wide_option(p)


def check_destination(args: argparse.Namespace) -> None:
    """Before any work: -o names a file that can be written; an HTML document is never poured
    onto a terminal (megabytes of inlined plotly.js)."""
    if args.output is not None:
        output_file(args.output, "-o")
    elif args.report == "html" and sys.stdout.isatty():
        raise ConfigError("the HTML report is a file: add -o report.html")


def render_report(view: BaseModel, args: argparse.Namespace) -> None:
    """Render `view` in --report's format to -o FILE, or to standard output."""
    if args.output is None:
        render(view, args.report, stdout_output(args.wide))
        return
    text, data = io.StringIO(), io.BytesIO()
    # a table in a file reads as it would piped: no colour, the piped width
    console = Console(file=text, width=stdout_console().width, color_system=None,
                      force_terminal=False, highlight=False)  # fmt: skip
    render(view, args.report, Output(console, data, args.wide))
    args.output.write_bytes(text.getvalue().encode("utf-8") + data.getvalue())
    Console(stderr=True, highlight=False).print(f"wrote {args.output}", soft_wrap=True)
