"""`bench` / `tokenbench` entry point: dispatches to the command modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console

from tokenbench import __version__
from tokenbench.cli import (
    compare,
    cost,
    eval,
    infra,
    keys,
    models,
    recommend,
    recover,
    report,
    run,
    suites,
    summary,
    verify,
)
from tokenbench.errors import TokenbenchError

COMMANDS = (
    run, eval, summary, compare, report, cost, models, infra, recommend, verify, recover, keys,
    suites,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Compare LLMs on the same hardware, engine and workload.",
    )
    parser.add_argument("--version", action="version", version=f"tokenbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        code: int = args.handler(args)
        return code
    except TokenbenchError as exc:
        err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
