"""`bench models`: the model catalog; with --corpus, measured results beside the published ones
(in their own columns, never mixed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tokenbench.catalog.catalog import load_catalog
from tokenbench.catalog.recommend import measured_scores
from tokenbench.catalog.views import ModelsView, models_view
from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.output import stdout_output
from tokenbench.corpus.loader import load_corpus
from tokenbench.envelope import keys
from tokenbench.render.formats import formats_for, render


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "The model catalog. With --corpus, results measured by `bench eval` are "
        "shown beside the published scores, never mixed."
    )
    p.add_argument("--corpus", nargs="+", metavar="PATH", help="envelopes with measured results")
    p.add_argument("--catalog", type=Path, help="another catalog file (same TOML format)")
    p.add_argument("--report", choices=formats_for(ModelsView), default="table")
    add_trust_option(p)


def handle(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    corpus = load_corpus(args.corpus, keys.trusted_keys(args.key)) if args.corpus else None
    measured = {m.id: measured_scores(corpus, m) for m in catalog.model}
    render(models_view(catalog.model, measured, corpus is not None), args.report, stdout_output())
    return 0
