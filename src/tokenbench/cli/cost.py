"""`bench cost`: API prices per 1M tokens, and self-hosted $/Mtok from measured throughput beside
them, with the break-even volume."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from rich.table import Table

from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.output import stdout_console
from tokenbench.corpus.loader import load_corpus
from tokenbench.envelope import keys
from tokenbench.errors import ConfigError
from tokenbench.pricing import api
from tokenbench.pricing.selfhost import GpuPrice, SelfHostPricing
from tokenbench.pricing.view import CostView, cost_view


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
    if args.gpus is not None:
        raise ConfigError("--gpus: bench cost counts the GPUs each run's envelope records; "
                          "price GPU models with --gpu-hourly-usd MODEL=USD")  # fmt: skip
    models = tuple(GpuPrice(m, usd) for m, usd in args.gpu_hourly_usd if m is not None)
    return SelfHostPricing(bare[0] if bare else None, 1, args.utilization,
                           args.fixed_monthly_usd, models)  # fmt: skip


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
    p.add_argument("--report", choices=["table", "json"], default="table")
    add_trust_option(p)


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


def _usd(value: Decimal | None, places: int = 4) -> str:
    return "—" if value is None else f"${value:,.{places}f}"


def handle(args: argparse.Namespace) -> int:
    console = stdout_console()
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
    corpus = load_corpus(args.paths, keys.trusted_keys(args.key))
    if not corpus.runs:
        raise ConfigError("no run envelope to price; see `bench summary` for why")
    view = cost_view(corpus, pricing, rates, args.input_token_share, args.cached_share)
    if args.report == "json":
        sys.stdout.buffer.write(orjson.dumps(view_json(view), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        _render(view, console)
    return 0


def _rate_json(rate: api.ApiRate, share: Decimal, cached: Decimal) -> dict[str, Any]:
    return {
        "provider": rate.provider,
        "model": rate.model,
        "input_usd_per_mtok": str(rate.input_usd_per_mtok),
        "output_usd_per_mtok": str(rate.output_usd_per_mtok),
        "cached_input_usd_per_mtok": None
        if rate.cached_input_usd_per_mtok is None
        else str(rate.cached_input_usd_per_mtok),
        "blended_usd_per_mtok": str(rate.blended(share, cached).normalize()),
        "input_token_share": str(share),
        "cached_share": str(cached),
        "source": rate.source,
        "data_date": rate.data_date.isoformat() if rate.data_date else None,
        "tiered": rate.tiered,
    }


def _api_only(args: argparse.Namespace, rates: list[api.ApiRate]) -> int:
    share, cached = args.input_token_share, args.cached_share
    if args.report == "json":
        doc = [_rate_json(r, share, cached) for r in rates]
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    t = Table(title=f"API prices, $ per 1M tokens (input share {share}, cached {cached})",
              title_justify="left", header_style="bold")  # fmt: skip
    for h in ("Provider", "Model", "Input", "Output", "Cached input", "Blended"):
        t.add_column(h, justify="left" if h in ("Provider", "Model") else "right")
    for r in rates:
        t.add_row(r.provider, r.model, _usd(r.input_usd_per_mtok), _usd(r.output_usd_per_mtok),
                  _usd(r.cached_input_usd_per_mtok), _usd(r.blended(share, cached)))  # fmt: skip
    console = stdout_console()
    console.print(t)
    date = rates[0].data_date.isoformat() if rates[0].data_date else "undated"
    console.print(f"source: {rates[0].source} bundled data (newest price change in effect: "
                  f"{date}); rates in effect today")  # fmt: skip
    if any(r.tiered for r in rates):
        console.print("note: some prices have volume tiers; these are the base rates")
    return 0


def view_json(view: CostView) -> dict[str, Any]:
    def dec(v: Decimal | None) -> str | None:
        return None if v is None else str(v.normalize())

    p = view.pricing
    return {
        "gpu_hourly_usd": dec(p.gpu_hourly_usd),
        "gpu_hourly_usd_by_model": {g.model: str(g.hourly_usd) for g in p.gpu_models},
        "utilization": str(view.pricing.utilization),
        "fixed_monthly_usd": str(view.pricing.fixed_monthly_usd),
        "input_token_share": str(view.input_share),
        "apis": [_rate_json(r, view.input_share, view.cached_share) for r in view.apis],
        "runs": [
            {
                "path": row.path, "model_id": row.model_id, "engine": row.engine,
                "hardware": row.hardware, "load": row.load, "valid": row.valid,
                "hourly_usd": dec(row.hourly.usd), "hourly_usd_reason": row.hourly.reason,
                "output_tok_per_s": row.self_host.output_tok_per_s,
                "total_tok_per_s": row.self_host.total_tok_per_s,
                "run_input_share": dec(row.self_host.input_share),
                "self_host_usd_per_mtok_output": dec(row.self_host.usd_per_mtok_output),
                "self_host_usd_per_mtok_total": dec(row.self_host.usd_per_mtok_total),
                "capacity_mtok_per_month": dec(row.self_host.capacity_mtok_per_month),
                "apis": [
                    {
                        "provider": a.rate.provider, "model": a.rate.model,
                        "usd_per_mtok_at_input_share": dec(a.at_share_usd_per_mtok),
                        "usd_per_mtok_at_run_mix": dec(a.at_run_mix_usd_per_mtok),
                        "break_even_mtok_per_month": dec(a.break_even.mtok_per_month)
                        if a.break_even else None,
                        "break_even": a.break_even.explanation if a.break_even else None,
                        "gpu_sets_needed": a.break_even.gpu_sets_needed if a.break_even else None,
                    }
                    for a in row.apis
                ],
            }
            for row in view.rows
        ],
    }  # fmt: skip


def _render(view: CostView, console: Any) -> None:
    p = view.pricing
    prices = [f"${g.hourly_usd} per {g.model}" for g in p.gpu_models]
    if p.gpu_hourly_usd is not None:
        prices.append(f"${p.gpu_hourly_usd} per other GPU or CPU machine")
    t = Table(
        title=f"self-hosted per GPU-hour at {', '.join(prices)}, "
        f"{p.utilization:.0%} utilization — $ per 1M tokens",
        title_justify="left", header_style="bold",
    )  # fmt: skip
    heads = [
        "Model",
        "Engine",
        "Load",
        "Hardware $/h",
        "Out tok/s",
        "Self $/M out",
        "Self $/M total",
        "Run in-share",
    ]
    for rate in view.apis:
        heads += [f"{rate.model} @ run mix", f"{rate.model} @ {view.input_share}"]
    for h in heads:
        t.add_column(h, justify="left" if h in ("Model", "Engine", "Load") else "right")
    for row in view.rows:
        c = row.self_host
        cells = [
            row.model_id + ("" if row.valid else " (invalid)"), row.engine, row.load,
            _usd(row.hourly.usd, 2),
            "—" if c.output_tok_per_s is None else f"{c.output_tok_per_s:,.1f}",
            _usd(c.usd_per_mtok_output), _usd(c.usd_per_mtok_total),
            "—" if c.input_share is None else f"{c.input_share:.2f}",
        ]  # fmt: skip
        for a in row.apis:
            cells += [_usd(a.at_run_mix_usd_per_mtok), _usd(a.at_share_usd_per_mtok)]
        t.add_row(*cells)
    console.print(t)
    console.print(
        "Self-hosted rates count every paid GPU-hour at the measured throughput × utilization; "
        "API rates are blended at the run's own input share and at --input-token-share."
    )
    for row in view.rows:
        if row.hourly.usd is None:
            console.print(f"[yellow]not priced:[/] {row.model_id} @ {row.load} on "
                          f"{row.hardware}: {row.hourly.reason}", soft_wrap=True)  # fmt: skip
        for a in row.apis:
            if a.break_even is None:
                continue
            sets = (f"; needs {a.break_even.gpu_sets_needed} × ({row.hardware}) at that volume"
                    if a.break_even.gpu_sets_needed else "")  # fmt: skip
            console.print(
                f"break-even {row.model_id} @ {row.load} vs {a.rate.provider}:{a.rate.model}: "
                f"{a.break_even.explanation}{sets}",
                soft_wrap=True,
            )
    if view.apis:
        date = view.apis[0].data_date
        console.print(f"API prices: {view.apis[0].source} bundled data, newest price change in "
                      f"effect {date.isoformat() if date else 'undated'}")  # fmt: skip


def _list(provider: str) -> int:
    console = stdout_console()
    if not provider:
        console.print(" ".join(api.providers()), soft_wrap=True)
        return 0
    for line in api.models(provider):
        console.print(line, soft_wrap=True)
    return 0
