"""`bench summary PATH...`: the runs of a corpus, one row per configuration and point (or per
envelope with --all), and its evals."""

from __future__ import annotations

import argparse

from tokenbench.cli.corpus import add_corpus_options, filters_of, open_corpus
from tokenbench.cli.reporting import add_report_options, check_destination, render_report
from tokenbench.compare.summary import SummaryTable, summary_table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="envelope files, directories, globs")
    p.add_argument("--all", action="store_true", dest="every",
                   help="one row per envelope, instead of one per configuration and point "
                        "(its latest valid run, or the median of its valid repeats)")  # fmt: skip
    add_report_options(p, SummaryTable)
    add_corpus_options(p)


def handle(args: argparse.Namespace) -> int:
    check_destination(args)
    filters = filters_of(args)
    with open_corpus(args, args.paths) as sel:
        view = summary_table(sel, filters, every=args.every)
    render_report(view, args)
    return 0
