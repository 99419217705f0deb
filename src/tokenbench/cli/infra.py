"""`bench infra MODEL`: GPU memory for a catalogued model at a quantization, context and
concurrency — weights, KV cache per token and in total — and which common GPUs fit it."""

from __future__ import annotations

import argparse
from pathlib import Path

from tokenbench.catalog.catalog import load_catalog
from tokenbench.catalog.infra import KV_BYTES, QUANTS, estimate
from tokenbench.catalog.views import InfraView, infra_view
from tokenbench.cli.reporting import add_report_options, check_destination, render_report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Weights, KV cache and total memory for a catalogued model "
        "(see `bench models`); formulas in docs/cost.md."
    )
    p.add_argument("model", help="catalog id, name or alias, e.g. llama-3.1-8b-instruct")
    # no argparse choices: names are case-insensitive (Q4_K_M as `bench run --quant` records it)
    p.add_argument("--quant", default="fp16", metavar="Q",
                   help="fp16, bf16, fp8, int8, int4 (AWQ/GPTQ), or a GGUF type such as Q4_K_M; "
                   f"any case (known: {', '.join(QUANTS)})")  # fmt: skip
    p.add_argument("--kv-dtype", choices=list(KV_BYTES), default="fp16")
    p.add_argument(
        "--context", type=int, metavar="N", help="tokens per sequence (default: the model's)"
    )
    p.add_argument("--concurrency", type=int, default=1, metavar="N", help="sequences held at once")
    p.add_argument(
        "--catalog", type=Path, metavar="FILE", help="another catalog file (same TOML format)"
    )
    add_report_options(p, InfraView)


def handle(args: argparse.Namespace) -> int:
    check_destination(args)
    model = load_catalog(args.catalog).get(args.model)
    e = estimate(model, args.quant, args.context, args.concurrency, args.kv_dtype)
    render_report(infra_view(e), args)
    return 0
