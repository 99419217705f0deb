"""`bench infra MODEL`: GPU memory for a catalogued model at a quantization, context and
concurrency — weights, KV cache per token and in total — and which common GPUs fit it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson
from rich.table import Table

from tokenbench.catalog.catalog import load_catalog
from tokenbench.catalog.infra import (
    GIB,
    KV_BYTES,
    QUANTS,
    USABLE_SHARE,
    InfraEstimate,
    estimate,
)
from tokenbench.cli.output import stdout_console


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
    p.add_argument("--context", type=int, help="tokens per sequence (default: the model's)")
    p.add_argument("--concurrency", type=int, default=1, help="sequences held at once")
    p.add_argument("--catalog", type=Path, help="another catalog file (same TOML format)")
    p.add_argument("--report", choices=["table", "json"], default="table")


def _weights_formula(e: InfraEstimate) -> str:
    params = e.model.params_total_b
    if not e.embedding_params_16bit:
        return f"{params:g}B parameters × {e.bits_per_weight:g} bits"
    embed = e.embedding_params_16bit / 1e9
    return (f"{params - embed:.4g}B parameters × {e.bits_per_weight:g} bits + {embed:.4g}B "
            "embedding parameters × 16 bits")  # fmt: skip


def handle(args: argparse.Namespace) -> int:
    model = load_catalog(args.catalog).get(args.model)
    e = estimate(model, args.quant, args.context, args.concurrency, args.kv_dtype)
    if args.report == "json":
        doc = {
            "model": model.id, "quant": e.quant, "kv_dtype": e.kv_dtype, "context": e.context,
            "concurrency": e.concurrency, "bits_per_weight": e.bits_per_weight,
            "embedding_params_16bit": e.embedding_params_16bit, "weights_bytes": e.weights_bytes,
            "kv_bytes_per_token": e.kv_bytes_per_token,
            "kv_bytes_per_sequence": e.kv_bytes_per_sequence, "kv_total_bytes": e.kv_total_bytes,
            "total_bytes": e.total_bytes, "usable_share": USABLE_SHARE,
            "gpus": [{"gpu": f.gpu.name, "memory_gib": f.gpu.memory_gib,
                      "gpus_needed": f.gpus_needed,
                      "max_concurrency_one_gpu": f.max_concurrency_one_gpu} for f in e.fits],
        }  # fmt: skip
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    console = stdout_console()
    a = model.architecture
    g = e.gib
    console.print(
        f"[bold]{model.name}[/] at {e.quant}, KV cache {e.kv_dtype}, {e.context:,} tokens × "
        f"{e.concurrency} sequences\n"
        f"  weights     {g['weights']:,.2f} GiB  ({_weights_formula(e)})\n"
        f"  KV / token  {e.kv_bytes_per_token / 1024:,.1f} KiB  (2 × {a.layers} layers × "
        f"{a.kv_heads} KV heads × {a.head_dim} head dim × {KV_BYTES[e.kv_dtype]:g} bytes; "
        f"{a.attention} {a.kv_heads}/{a.attention_heads})\n"
        f"  KV / seq.   {g['kv_per_sequence']:,.3f} GiB"
        + (f"  ({a.sliding_layers if a.sliding_layers is not None else a.layers} layers keep "
           f"only {a.sliding_window} tokens)" if a.sliding_window else "")
        + f"\n  KV total    {g['kv_total']:,.2f} GiB\n  total       {g['total']:,.2f} GiB",
        highlight=False,
    )  # fmt: skip
    t = Table(title=f"GPUs (usable: {USABLE_SHARE:.0%} of memory)", title_justify="left",
              header_style="bold")  # fmt: skip
    for h in ("GPU", "Memory GiB", "GPUs needed", f"Max sequences of {e.context:,} on one"):
        t.add_column(h, justify="left" if h == "GPU" else "right")
    for f in e.fits:
        fits = "1 (fits)" if f.gpus_needed == 1 else str(f.gpus_needed)
        t.add_row(f.gpu.name, f"{f.gpu.memory_gib:g}", fits, str(f.max_concurrency_one_gpu))
    console.print(t)
    if model.architecture.moe_experts:
        console.print("note: mixture of experts — every expert's weights are counted")
    console.print(f"note: {e.total_bytes / GIB:,.2f} GiB excludes activations and engine "
                  "buffers, which the 10% reserve covers only roughly")  # fmt: skip
    return 0
