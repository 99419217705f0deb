"""`bench summary PATH...`: validate a corpus of envelopes and print one row per envelope."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.output import stdout_console
from tokenbench.compare.render import render_summary_rich, summary_json
from tokenbench.compare.summary import summary_table
from tokenbench.corpus.loader import load_corpus
from tokenbench.envelope import keys


def add_parser(sub: Any) -> None:
    p = sub.add_parser("summary", help="summarise envelopes (files, directories, globs)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--report", choices=["table", "json"], default="table")
    add_trust_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    table = summary_table(load_corpus(args.paths, keys.trusted_keys(args.key)))
    if args.report == "json":
        sys.stdout.buffer.write(summary_json(table) + b"\n")
    else:
        render_summary_rich(table, stdout_console())
    return 0
