"""`bench summary PATH...`: validate a corpus of envelopes and print one row per envelope."""

from __future__ import annotations

import argparse
import sys

import orjson

from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.output import stdout_console
from tokenbench.compare.quality_render import eval_summary_rows, render_eval_summary_rich
from tokenbench.compare.render import render_summary_rich, summary_json
from tokenbench.compare.summary import summary_table
from tokenbench.corpus.loader import load_corpus
from tokenbench.envelope import keys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--report", choices=["table", "json"], default="table")
    add_trust_option(p)


def handle(args: argparse.Namespace) -> int:
    corpus = load_corpus(args.paths, keys.trusted_keys(args.key))
    table = summary_table(corpus)
    if args.report == "json":
        doc = orjson.loads(summary_json(table))
        doc["evals"] = eval_summary_rows(corpus.evals)
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        console = stdout_console()
        render_eval_summary_rich(corpus.evals, console)
        render_summary_rich(table, console)
    return 0
