"""`bench summary PATH...`: validate a corpus of envelopes and print one row per envelope."""

from __future__ import annotations

import argparse

from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.reporting import add_report_options, check_destination, render_report
from tokenbench.compare.summary import SummaryTable, summary_table
from tokenbench.corpus.loader import load_corpus
from tokenbench.envelope import keys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="envelope files, directories, globs")
    add_report_options(p, SummaryTable)
    add_trust_option(p)


def handle(args: argparse.Namespace) -> int:
    check_destination(args)
    corpus = load_corpus(args.paths, keys.trusted_keys(args.key))
    render_report(summary_table(corpus), args)
    return 0
