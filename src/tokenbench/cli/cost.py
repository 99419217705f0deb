"""`bench cost`: API prices per 1M tokens, and self-hosted $/Mtok from measured throughput beside
them, with the break-even volume."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation

from tokenbench.cli.corpus import add_corpus_options, load
from tokenbench.cli.output import stdout_console
from tokenbench.cli.reporting import add_report_options, check_destination, render_report
from tokenbench.errors import ConfigError
from tokenbench.pricing import api
from tokenbench.pricing.cost_views import (
    ApiRatesView,
    CostReportView,
    api_rate_view,
    cost_report_view,
)
from tokenbench.pricing.selfhost import GpuPrice, SelfHostPricing
from tokenbench.pricing.view import cost_view


def decimal_arg(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def gpu_price_arg(text: str) -> tuple[str | None, Decimal]:
    """`2.49` (every GPU) or `H100=2.49` (GPUs whose name contains H100, any case)."""
    model, sep, price = text.rpartition("=")
    if sep and not model.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected USD or MODEL=USD, e.g. H100=2.49")
    return (model.strip() if sep else None), decimal_arg(price)


def pricing_from_args(args: argparse.Namespace) -> SelfHostPricing:
    """A bare --gpu-hourly-usd prices every GPU; MODEL=USD prices the GPUs of that model."""
    bare = [usd for model, usd in args.gpu_hourly_usd if model is None]
    if len(bare) > 1:
        raise ConfigError("--gpu-hourly-usd: give one bare price (for every GPU), and MODEL=USD "
                          "for each GPU model priced apart")  # fmt: skip
    if getattr(args, "gpus", None) is not None:
        raise ConfigError("--gpus: bench cost counts the GPUs each run's envelope records; "
                          "price GPU models with --gpu-hourly-usd MODEL=USD")  # fmt: skip
    models = tuple(GpuPrice(m, usd) for m, usd in args.gpu_hourly_usd if m is not None)
    fixed = getattr(args, "fixed_monthly_usd", Decimal(0))  # only bench cost takes it
    return SelfHostPricing(bare[0] if bare else None, 1, args.utilization, fixed, models)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Without PATH: an API's input, output, cached and blended $ per 1M tokens "
        "(genai-prices' bundled data, offline). With PATH and --gpu-hourly-usd: each run's "
        "self-hosted $/Mtok at its measured throughput, beside the API rates and the break-even."
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="envelopes (files, directories, globs)")
    p.add_argument("--provider", help="API provider id, e.g. openai, anthropic, google")
    p.add_argument("--model", help="the provider's model id, e.g. gpt-4o-mini")
    p.add_argument("--api", action="append", default=[], metavar="PROVIDER:MODEL",
                   help="an API to compare against (repeatable)")  # fmt: skip
    p.add_argument("--input-token-share", type=decimal_arg, default=Decimal("0.75"), metavar="S",
                   help="share of tokens that are input (default 0.75)")  # fmt: skip
    p.add_argument("--cached-share", type=decimal_arg, default=Decimal(0), metavar="C",
                   help="share of input tokens read from the API cache")  # fmt: skip
    p.add_argument("--gpu-hourly-usd", type=gpu_price_arg, action="append", default=[],
                   metavar="[MODEL=]USD",
                   help="price of one GPU-hour: USD for every GPU, or MODEL=USD for GPUs "
                   "whose name contains MODEL, e.g. H100=2.49 (repeatable); each run is priced "
                   "by the GPUs its envelope records, a CPU-only run by a bare USD as one "
                   "machine-hour")  # fmt: skip
    # kept so an old command line gets a clear message: the envelope now says how many GPUs
    p.add_argument("--gpus", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--utilization", type=decimal_arg, default=Decimal("0.7"), metavar="U",
                   help="share of paid hours serving at the measured rate")  # fmt: skip
    p.add_argument("--fixed-monthly-usd", type=decimal_arg, default=Decimal(0), metavar="USD",
                   help="fixed monthly self-hosting cost (default 0)")  # fmt: skip
    p.add_argument("--list", nargs="?", const="", metavar="PROVIDER",
                   help="list the providers, or one provider's models")  # fmt: skip
    add_report_options(p, CostReportView, ApiRatesView)  # the formats both views have
    add_corpus_options(p)


def _apis(args: argparse.Namespace) -> list[api.ApiRate]:
    pairs: list[tuple[str, str]] = []
    if args.provider or args.model:
        if not (args.provider and args.model):
            raise ConfigError("--provider and --model go together, e.g. --provider openai "
                              "--model gpt-4o-mini")  # fmt: skip
        pairs.append((args.provider, args.model))
    for spec in args.api:
        provider, sep, model = spec.partition(":")
        if not sep or not provider or not model:
            raise ConfigError(f"--api {spec!r}: expected PROVIDER:MODEL, e.g. openai:gpt-4o-mini")
        pairs.append((provider, model))
    return [api.api_rate(p, m) for p, m in pairs]


def handle(args: argparse.Namespace) -> int:
    check_destination(args)
    api.check_share("--input-token-share", args.input_token_share)
    api.check_share("--cached-share", args.cached_share)
    if args.list is not None:
        return _list(args.list)
    rates = _apis(args)
    if not args.paths:
        if not rates:
            raise ConfigError("name an API (--provider P --model M) or give envelopes and "
                              "--gpu-hourly-usd; see `bench cost --help`")  # fmt: skip
        return _api_only(args, rates)
    if not args.gpu_hourly_usd:
        raise ConfigError(
            "pricing measured runs needs --gpu-hourly-usd (the price of one GPU-hour)"
        )
    pricing = pricing_from_args(args)
    corpus = load(args, args.paths)
    if not corpus.runs and not corpus.evals:
        raise ConfigError("no run or eval envelope to price; see `bench summary` for why")
    view = cost_view(corpus, pricing, rates, args.input_token_share, args.cached_share)
    render_report(cost_report_view(view), args)
    return 0


def _api_only(args: argparse.Namespace, rates: list[api.ApiRate]) -> int:
    share, cached = args.input_token_share, args.cached_share
    view = ApiRatesView([api_rate_view(r, share, cached) for r in rates])
    render_report(view, args)
    return 0


def _list(provider: str) -> int:
    console = stdout_console()
    if not provider:
        console.print(" ".join(api.providers()), soft_wrap=True)
        return 0
    for line in api.models(provider):
        console.print(line, soft_wrap=True)
    return 0
