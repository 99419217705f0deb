"""`bench models`: the model catalog; with --corpus, measured results beside the published ones
(in their own columns, never mixed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from tokenbench.catalog.catalog import BENCHMARKS, Catalog, load_catalog
from tokenbench.catalog.recommend import measured_scores
from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.output import stdout_console
from tokenbench.corpus.loader import load_corpus
from tokenbench.envelope import keys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "The model catalog. With --corpus, results measured by `bench eval` are "
        "shown beside the published scores, never mixed."
    )
    p.add_argument("--corpus", nargs="+", metavar="PATH", help="envelopes with measured results")
    p.add_argument("--catalog", type=Path, help="another catalog file (same TOML format)")
    p.add_argument("--report", choices=["table", "json"], default="table")
    add_trust_option(p)


def handle(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    corpus = load_corpus(args.corpus, keys.trusted_keys(args.key)) if args.corpus else None
    measured = {m.id: measured_scores(corpus, m) for m in catalog.model}
    if args.report == "json":
        doc = [{**m.model_dump(mode="json"), "measured": measured[m.id]} for m in catalog.model]
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    console = stdout_console()
    _render_published(console, catalog)
    if corpus is not None:
        _render_measured(console, catalog, measured)
    return 0


def _render_published(console: Console, catalog: Catalog) -> None:
    t = Table(title="model catalog (published)", title_justify="left", header_style="bold")
    for h in ("Model", "Params (active)", "Context", "License", "Released", "Attention",
              *BENCHMARKS):  # fmt: skip
        t.add_column(h, justify="right" if h in BENCHMARKS or h == "Context" else "left")
    for m in catalog.model:
        active = "" if m.params_active_b == m.params_total_b else f" ({m.params_active_b:g}B)"
        arch = m.architecture
        attn = f"{arch.attention} {arch.kv_heads}/{arch.attention_heads}"
        if arch.moe_experts:
            attn += f", MoE {arch.moe_active_experts}/{arch.moe_experts}"
        if arch.sliding_window:
            attn += f", SWA {arch.sliding_window}"
        scores = [f"{m.published[b].value:g}" if b in m.published else "—" for b in BENCHMARKS]
        t.add_row(m.name, f"{m.params_total_b:g}B{active}", f"{m.context_length:,}", m.license,
                  m.release_date.isoformat(), attn, *scores)  # fmt: skip
    console.print(t)
    console.print("Scores are as published, for the setting each source names "
                  "(`bench models --report json` lists setting and source).")  # fmt: skip


def _render_measured(
    console: Console, catalog: Catalog, measured: dict[str, dict[str, dict[str, Any]]]
) -> None:
    mt = Table(title="measured here (bench eval)", title_justify="left", header_style="bold")
    mt.add_column("Model")
    for b in BENCHMARKS:
        mt.add_column(b, justify="right")
    rows = 0
    for m in catalog.model:
        found = measured[m.id]
        if not found:
            continue
        rows += 1
        cells = []
        for b in BENCHMARKS:
            acc = found.get(b, {}).get("accuracy")
            cells.append("—" if not acc or acc["accuracy"] is None else
                         f"{acc['accuracy']:.1%} (n={acc['total']})")  # fmt: skip
        mt.add_row(m.name, *cells)
    if rows:
        console.print(mt)
        console.print(
            "Measured: 0-shot, complete and valid evals only — another "
            "setting than most published scores: the tables are not one ranking."
        )
    else:
        console.print("no eval envelope in the corpus matches a catalogued model")
