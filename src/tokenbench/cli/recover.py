"""`bench recover DIR`: finish the points a killed run left behind (raw records, no envelope)
as signed envelopes marked `partial`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from tokenbench.envelope.recover import recover


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, metavar="DIR", help="the run's --output directory")
    p.add_argument("--no-sign", action="store_true", help="write unsigned envelopes")


def handle(args: argparse.Namespace) -> int:
    written = recover(args.folder, sign=not args.no_sign)
    console = Console(highlight=False)
    for path in written:
        console.print(f"recovered {path} (status partial)", soft_wrap=True)
    if not written:
        console.print(f"nothing to recover in {args.folder}: every raw file has its envelope")
    return 0
