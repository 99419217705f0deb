"""`bench recommend`: a ranked shortlist for your requirements, each pick with its reasons and
evidence (catalog facts, published claims, measured results), and the alternatives."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import orjson
from rich.markup import escape

from tokenbench.catalog.catalog import load_catalog
from tokenbench.catalog.recommend import BUDGETS, TASK_BENCHMARK, Pick, Requirements, recommend
from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.output import stdout_console
from tokenbench.corpus.loader import load_corpus
from tokenbench.envelope import keys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Catalogued models that meet the context, budget and language, ranked by "
        "evidence for the task: measured (--corpus) before published."
    )
    p.add_argument("--context", type=int, default=4096, help="tokens per request (default 4096)")
    p.add_argument("--budget", choices=list(BUDGETS), default="medium",
                   help="low: one 24 GiB GPU at int4; medium: one 80 GiB GPU at int8; "
                   "high: up to 8 × 80 GiB at fp16")  # fmt: skip
    p.add_argument("--task", choices=list(TASK_BENCHMARK), default="general")
    p.add_argument("--language", default="en", help="ISO 639-1 code, e.g. en, zh, de")
    p.add_argument("--latency-critical", action="store_true")
    p.add_argument("--fine-tuning", action="store_true")
    p.add_argument("--corpus", nargs="+", metavar="PATH", help="envelopes with measured results")
    p.add_argument("--catalog", type=Path, help="another catalog file (same TOML format)")
    p.add_argument("--report", choices=["table", "json"], default="table")
    add_trust_option(p)


def _pick_json(p: Pick) -> dict[str, Any]:
    return {"model": p.model.id, "name": p.model.name,
            "evidence_tier": ("measured", "published", "none")[p.tier], "score": p.score,
            "setting": p.setting, "reasons": p.reasons,
            "evidence": [{"kind": e.kind, "text": e.text} for e in p.evidence]}  # fmt: skip


def handle(args: argparse.Namespace) -> int:
    req = Requirements(args.context, args.budget, args.task, args.language.lower(),
                       args.latency_critical, args.fine_tuning)  # fmt: skip
    corpus = load_corpus(args.corpus, keys.trusted_keys(args.key)) if args.corpus else None
    rec = recommend(load_catalog(args.catalog), req, corpus)
    if args.report == "json":
        doc = {
            "requirements": dataclasses.asdict(req),
            "benchmark": rec.benchmark,
            "shortlist": [_pick_json(p) for p in rec.shortlist],
            "alternatives": [_pick_json(p) for p in rec.alternatives],
            "excluded": [{"model": m.id, "why": why} for m, why in rec.excluded],
            "rankings": [{"setting": r.setting, "models": r.models} for r in rec.rankings],
        }  # fmt: skip
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    console = stdout_console()
    console.print(f"[bold]For[/] {req.task} (ranked by {rec.benchmark}), context {req.context:,}, "
                  f"{req.budget} budget, language {req.language}"
                  + (", latency-critical" if req.latency_critical else "")
                  + (", fine-tuning" if req.fine_tuning else ""), highlight=False)  # fmt: skip
    if not rec.shortlist:
        console.print("[yellow]no catalogued model meets these requirements[/]")
    for r in rec.rankings:  # scores are compared only within one setting
        console.print(f"  ranking {escape(f'[{r.setting}]')}: " + ", ".join(r.models),
                      highlight=False, soft_wrap=True)  # fmt: skip
    for n, p in enumerate(rec.shortlist, 1):
        console.print(f"\n[bold]{n}. {p.model.name}[/] — " + escape("; ".join(p.reasons)),
                      highlight=False)  # fmt: skip
        for e in p.evidence:
            console.print(f"   \\[{e.kind}] {escape(e.text)}", highlight=False, soft_wrap=True)
    if rec.alternatives:
        console.print("\n[bold]Alternatives[/]")
        for p in rec.alternatives:
            console.print(f"  {p.model.name} — " + escape("; ".join(p.reasons)), highlight=False)
    if rec.excluded:
        console.print("\n[bold]Excluded[/]")
        for m, why in rec.excluded:
            console.print(f"  {m.name}: {why}", highlight=False)
    console.print(
        "\n\\[measured] = bench eval / bench run in your corpus (complete, valid evals only); "
        "\\[published] = the source's claim for the setting it names. Scores are ranked only "
        "within one setting: measured rankings first, then published ones, most models first."
    )
    return 0
