"""`bench models`: the model catalog; with envelopes, measured results beside the published ones
(in their own columns, never mixed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tokenbench.catalog.catalog import load_catalog
from tokenbench.catalog.recommend import measured_scores
from tokenbench.catalog.views import ModelsView, models_view
from tokenbench.cli.corpus import add_corpus_options, load
from tokenbench.cli.options import add_corpus_paths, corpus_paths
from tokenbench.cli.reporting import add_report_options, check_destination, render_report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "The model catalog. With envelopes (PATH...), results measured by `bench eval` are "
        "shown beside the published scores, never mixed."
    )
    add_corpus_paths(p)
    p.add_argument(
        "--catalog", type=Path, metavar="FILE", help="another catalog file (same TOML format)"
    )
    add_report_options(p, ModelsView)
    add_corpus_options(p)


def handle(args: argparse.Namespace) -> int:
    check_destination(args)
    catalog = load_catalog(args.catalog)
    paths = corpus_paths(args)
    corpus = load(args, paths) if paths else None
    measured = {m.id: measured_scores(corpus, m) for m in catalog.model}
    render_report(models_view(catalog.model, measured, corpus is not None), args)
    return 0
