"""`bench summary PATH...`: validate a corpus of envelopes and print one row per envelope."""

from __future__ import annotations

import argparse

from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.output import stdout_output
from tokenbench.compare.summary import SummaryTable, summary_table
from tokenbench.corpus.loader import load_corpus
from tokenbench.envelope import keys
from tokenbench.render.formats import formats_for, render


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--report", choices=formats_for(SummaryTable), default="table")
    add_trust_option(p)


def handle(args: argparse.Namespace) -> int:
    corpus = load_corpus(args.paths, keys.trusted_keys(args.key))
    render(summary_table(corpus), args.report, stdout_output())
    return 0
