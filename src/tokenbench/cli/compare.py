"""`bench compare PATH...`: pairs judged over repeated runs, Pareto frontiers."""

from __future__ import annotations

import argparse
from decimal import Decimal

from tokenbench.cli.corpus import add_corpus_options, load
from tokenbench.cli.cost import decimal_arg, gpu_price_arg, pricing_from_args
from tokenbench.cli.reporting import add_report_options, check_destination, render_report
from tokenbench.compare.comparison import BY, DEFAULT_PARETO, UNITS, compare, parse_at
from tokenbench.compare.views import ComparisonView, comparison_view


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="envelope files, directories, globs")
    p.add_argument("--by", choices=BY, default="model",
                   help="the axis compared (default model); cache, workload and load compare "
                   "each setup with itself (workload: e.g. thinking on against off)")  # fmt: skip
    p.add_argument("--at", action="append", default=[], metavar="KEY=VALUE",
                   help="select runs by a workload axis: suite, mode, concurrency, rate, "
                   "arrival, input_tokens, output_tokens, prompts, cache, workload (a key, or "
                   "plain: none sent); e.g. concurrency=16, workload=plain "
                   "(repeatable)")  # fmt: skip
    p.add_argument("--alpha", type=float, default=0.05, metavar="A",
                   help="family-wise error rate of the verdicts (Holm; default 0.05)")  # fmt: skip
    p.add_argument(
        "--pareto",
        metavar="METRICS",
        help="show only the frontier of these metrics, e.g. throughput,ttft "
        "(metrics: throughput, ttft, ttft_p99, tpot, e2e, itl, jtok, rps, and usd_mtok with "
        "--gpu-hourly-usd, bytes, words)",
    )
    p.add_argument("--unit", choices=tuple(UNITS), default="tokens",
                   help="what throughput counts in the frontier and the verdicts: output "
                   "tokens/s (default), or UTF-8 bytes/s or words/s of the generated text, "
                   "which no tokenizer decides")  # fmt: skip
    p.add_argument(
        "--gpu-hourly-usd",
        type=gpu_price_arg,
        action="append",
        default=[],
        metavar="[MODEL=]USD",
        help="price of one GPU-hour, for every GPU or per GPU model (H100=2.49; "
        "repeatable); each run is priced by the GPUs its envelope records: adds "
        "self-hosted $/Mtok (Pareto axis usd_mtok), and $ per correct answer beside each "
        "eval (the evals' frontier: accuracy × $ per correct answer)",
    )
    p.add_argument("--gpus", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--utilization", type=decimal_arg, default=Decimal("0.7"), metavar="U",
                   help="share of paid GPU-hours serving (default 0.7)")  # fmt: skip
    add_report_options(p, ComparisonView)
    p.add_argument("--force", action="store_true",
                   help="compare runs whose comparability keys differ (runs are still paired "
                   "only at one workload point)")  # fmt: skip
    add_corpus_options(p)
    p.set_defaults(handler=handle, fixed_monthly_usd=Decimal(0))


def handle(args: argparse.Namespace) -> int:
    check_destination(args)
    corpus = load(args, args.paths)
    metrics = [m.strip() for m in args.pareto.split(",")] if args.pareto else DEFAULT_PARETO
    pricing = pricing_from_args(args) if args.gpu_hourly_usd else None
    result = compare(corpus, args.by, parse_at(args.at), metrics, args.force, pricing, args.alpha,
                     args.unit)  # fmt: skip
    view = comparison_view(result, bool(args.pareto), corpus.loaded, len(corpus.skipped))
    render_report(view, args)
    return 0
