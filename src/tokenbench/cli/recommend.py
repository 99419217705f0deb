"""`bench recommend`: a ranked shortlist for your requirements, each pick with its reasons and
evidence (catalog facts, published claims, measured results), and the alternatives."""

from __future__ import annotations

import argparse
from pathlib import Path

from tokenbench.catalog.catalog import load_catalog
from tokenbench.catalog.recommend import BUDGETS, TASK_BENCHMARK, Requirements, recommend
from tokenbench.catalog.views import RecommendView, recommend_view
from tokenbench.cli.corpus import add_corpus_options, load
from tokenbench.cli.options import add_corpus_paths, corpus_paths
from tokenbench.cli.reporting import add_report_options, check_destination, render_report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Catalogued models that meet the context, budget and language, ranked by "
        "evidence for the task: measured (envelopes, PATH...) before published."
    )
    p.add_argument(
        "--context", type=int, default=4096, metavar="N", help="tokens per request (default 4096)"
    )
    p.add_argument("--budget", choices=list(BUDGETS), default="medium",
                   help="low: one 24 GiB GPU at int4; medium: one 80 GiB GPU at int8; "
                   "high: up to 8 × 80 GiB at fp16")  # fmt: skip
    p.add_argument("--task", choices=list(TASK_BENCHMARK), default="general")
    p.add_argument("--language", default="en", help="ISO 639-1 code, e.g. en, zh, de")
    p.add_argument("--latency-critical", action="store_true")
    p.add_argument("--fine-tuning", action="store_true")
    add_corpus_paths(p)
    p.add_argument(
        "--catalog", type=Path, metavar="FILE", help="another catalog file (same TOML format)"
    )
    add_report_options(p, RecommendView)
    add_corpus_options(p)


def handle(args: argparse.Namespace) -> int:
    check_destination(args)
    req = Requirements(args.context, args.budget, args.task, args.language.lower(),
                       args.latency_critical, args.fine_tuning)  # fmt: skip
    paths = corpus_paths(args)
    corpus = load(args, paths) if paths else None
    rec = recommend(load_catalog(args.catalog), req, corpus)
    render_report(recommend_view(rec), args)
    return 0
