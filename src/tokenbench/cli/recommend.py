"""`bench recommend`: a ranked shortlist for your requirements, each pick with its reasons and
evidence (catalog facts, published claims, measured results), and the alternatives."""

from __future__ import annotations

import argparse
from pathlib import Path

from tokenbench.catalog.catalog import load_catalog
from tokenbench.catalog.recommend import BUDGETS, TASK_BENCHMARK, Requirements, recommend
from tokenbench.catalog.views import RecommendView, recommend_view
from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.output import stdout_output
from tokenbench.corpus.loader import load_corpus
from tokenbench.envelope import keys
from tokenbench.render.formats import formats_for, render


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Catalogued models that meet the context, budget and language, ranked by "
        "evidence for the task: measured (--corpus) before published."
    )
    p.add_argument("--context", type=int, default=4096, help="tokens per request (default 4096)")
    p.add_argument("--budget", choices=list(BUDGETS), default="medium",
                   help="low: one 24 GiB GPU at int4; medium: one 80 GiB GPU at int8; "
                   "high: up to 8 × 80 GiB at fp16")  # fmt: skip
    p.add_argument("--task", choices=list(TASK_BENCHMARK), default="general")
    p.add_argument("--language", default="en", help="ISO 639-1 code, e.g. en, zh, de")
    p.add_argument("--latency-critical", action="store_true")
    p.add_argument("--fine-tuning", action="store_true")
    p.add_argument("--corpus", nargs="+", metavar="PATH", help="envelopes with measured results")
    p.add_argument("--catalog", type=Path, help="another catalog file (same TOML format)")
    p.add_argument("--report", choices=formats_for(RecommendView), default="table")
    add_trust_option(p)


def handle(args: argparse.Namespace) -> int:
    req = Requirements(args.context, args.budget, args.task, args.language.lower(),
                       args.latency_critical, args.fine_tuning)  # fmt: skip
    corpus = load_corpus(args.corpus, keys.trusted_keys(args.key)) if args.corpus else None
    rec = recommend(load_catalog(args.catalog), req, corpus)
    render(recommend_view(rec), args.report, stdout_output())
    return 0
