"""`bench report PATH... -o report.html [--png DIR]`: the self-contained HTML report."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from tokenbench.cli.corpus import add_corpus_options, load
from tokenbench.cli.cost import decimal_arg, gpu_price_arg, pricing_from_args
from tokenbench.compare.comparison import compare, quality_by_load
from tokenbench.errors import ConfigError
from tokenbench.outputs import output_dir, output_file
from tokenbench.report.charts import sections
from tokenbench.report.html import render_html
from tokenbench.report.png import write_pngs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="envelope files, directories, globs")
    p.add_argument("-o", "--output", type=Path, default=Path("report.html"), metavar="FILE",
                   help="the HTML file (default report.html)")  # fmt: skip
    p.add_argument("--png", type=Path, metavar="DIR", help="also write each chart as a PNG")
    p.add_argument("--force", action="store_true",
                   help="include runs whose comparability keys differ")  # fmt: skip
    p.add_argument(
        "--gpu-hourly-usd", type=gpu_price_arg, action="append", default=[],
        metavar="[MODEL=]USD",
        help="price of one GPU-hour (per GPU model: H100=2.49; repeatable): adds self-hosted "
        "$/Mtok, and $ per correct answer beside each eval",
    )  # fmt: skip
    p.add_argument("--utilization", type=decimal_arg, default=Decimal("0.7"), metavar="U",
                   help="share of paid GPU-hours serving (default 0.7)")  # fmt: skip
    add_corpus_options(p)


def handle(args: argparse.Namespace) -> int:
    output_file(args.output, "-o")  # a path mistake before any loading
    if args.png:
        output_dir(args.png, "--png")
    corpus = load(args, args.paths)
    if not corpus.runs and not corpus.evals:
        raise ConfigError(f"nothing to report on: {corpus.nothing_loaded()}")
    pricing = pricing_from_args(args) if args.gpu_hourly_usd else None
    result = compare(corpus, force=args.force, pricing=pricing)
    parts = sections(result)
    page = render_html(parts, corpus.loaded, len(corpus.skipped), result.quality,
                       quality_by_load(corpus, pricing))  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page, encoding="utf-8")
    console = Console(stderr=True, highlight=False)
    console.print(f"report: {args.output}", soft_wrap=True)
    if args.png:
        for path in write_pngs(parts, args.png):
            console.print(f"chart: {path}", soft_wrap=True)
    return 0
