"""`bench query PATH... "SQL"`: read-only SQL over the corpus index (tables runs, evals,
requests, files; docs/corpus.md), printed as a table, JSON or CSV."""

from __future__ import annotations

import argparse

from tokenbench.cli.corpus import add_corpus_options, open_corpus
from tokenbench.cli.reporting import add_report_options, check_destination, render_report
from tokenbench.compare.query import QueryResult, run_query


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="envelope files, directories, globs")
    p.add_argument("sql", metavar="SQL",
                   help="one read-only statement (SELECT, WITH … SELECT, DESCRIBE, SHOW, "
                        "SUMMARIZE), e.g. \"SELECT model_id, median(ttft_p50_ms) FROM runs "
                        "GROUP BY ALL\"")  # fmt: skip
    add_report_options(p, QueryResult)
    add_corpus_options(p, filters=False)


def handle(args: argparse.Namespace) -> int:
    check_destination(args)
    with open_corpus(args, args.paths, records=True) as sel:
        result = run_query(sel, args.sql)
    render_report(result, args)
    return 0
