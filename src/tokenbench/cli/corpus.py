"""The options every command that reads a corpus shares (`--where`, `--since`, `--no-index`,
`--key`), and opening the corpus through its indexes with their notes on standard error."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from rich.console import Console

from tokenbench.cli.keys import add_trust_option
from tokenbench.corpus.filters import Filters
from tokenbench.corpus.loader import Corpus
from tokenbench.corpus.selection import Selection, selected
from tokenbench.envelope import keys


def add_corpus_options(p: argparse.ArgumentParser, filters: bool = True) -> None:
    if filters:
        p.add_argument(
            "--where", action="append", metavar="FIELD=VALUE",
            help="only runs whose FIELD matches: model=a,b (any of), concurrency>=4, "
            "valid=true; repeatable, all must hold (fields: docs/corpus.md)",
        )  # fmt: skip
        p.add_argument(
            "--since", metavar="DATE",
            help="only runs started on or after DATE (2026-11-01, or an ISO time)",
        )  # fmt: skip
    p.add_argument("--no-index", action="store_true",
                   help="read and verify every file now, without the corpus index "
                        "(.tokenbench/index.duckdb)")  # fmt: skip
    add_trust_option(p)


def filters_of(args: argparse.Namespace) -> Filters:
    return Filters.parse(getattr(args, "where", None), getattr(args, "since", None))


@contextlib.contextmanager
def open_corpus(args: argparse.Namespace, paths: list[str], records: bool = False,
                recheck: bool = False) -> Iterator[Selection]:  # fmt: skip
    """The PATHs through their indexes (brought up to date first); notes on standard error."""
    err = Console(stderr=True, highlight=False)

    def notify(text: str) -> None:
        err.print(f"note: {text}", soft_wrap=True)

    trusted = keys.trusted_keys(args.key)
    options = {"use_index": not args.no_index, "records": records, "recheck": recheck}
    with selected(paths, trusted, notify=notify, **options) as sel:
        for refresh in sel.refreshes:
            for note in refresh.notes:
                notify(note)
        yield sel


def load(args: argparse.Namespace, paths: list[str]) -> Corpus:
    """The selected envelopes, parsed, for commands that work on whole predicates."""
    filters = filters_of(args)
    with open_corpus(args, paths) as sel:
        return sel.corpus(filters)
