"""`bench index PATH...`: bring each directory's corpus index up to date (every other corpus
command does this first), and say what changed."""

from __future__ import annotations

import argparse
import time

from rich.console import Console

from tokenbench.cli.corpus import add_corpus_options, open_corpus
from tokenbench.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="DIR", help="corpus directories")
    p.add_argument("--recheck", action="store_true",
                   help="hash every envelope again, even those whose size and time are "
                        "unchanged, and verify those whose bytes differ")  # fmt: skip
    add_corpus_options(p, filters=False)


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.no_index:
        raise ConfigError("bench index builds the index: drop --no-index")
    for path in args.paths:
        if not Path(path).is_dir():
            raise ConfigError(f"{path}: not a directory; bench index takes corpus directories")
    started = time.perf_counter()
    with open_corpus(args, args.paths, recheck=args.recheck) as sel:
        refreshes = sel.refreshes
    console = Console(highlight=False)
    for r in refreshes:
        console.print(
            f"{r.root}: {r.added} added, {r.changed} changed, {r.retrusted} verified again "
            f"(trusted keys differ), {r.removed} removed, {r.unchanged} unchanged",
            soft_wrap=True,
        )
    console.print(f"indexed in {time.perf_counter() - started:.2f} s", soft_wrap=True)
    return 0
