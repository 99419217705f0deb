"""`bench export PATH... -o OUTDIR [--format parquet|csv|jsonl]`: the selected runs, their raw
records and the evals as files other tools read; `--to mlflow`: each run logged to MLflow."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from tokenbench.cli.corpus import add_corpus_options, filters_of, open_corpus
from tokenbench.errors import ConfigError
from tokenbench.outputs import output_dir
from tokenbench.report.export import FORMATS, export_files, export_mlflow, tracking_uri


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="envelope files, directories, globs")
    p.add_argument("-o", "--output", type=Path, metavar="OUTDIR",
                   help="the directory for runs.EXT, requests.EXT and evals.EXT (files of the "
                        "same names are replaced)")  # fmt: skip
    p.add_argument("--format", choices=list(FORMATS), default="parquet",
                   help="the files' format (default parquet)")  # fmt: skip
    p.add_argument("--to", choices=["files", "mlflow"], default="files",
                   help="files in OUTDIR (default), or one MLflow run per run "
                        "envelope")  # fmt: skip
    p.add_argument("--tracking-uri", metavar="URI",
                   help="with --to mlflow: the tracking store (default $MLFLOW_TRACKING_URI, "
                        "else ./mlruns as a file store)")  # fmt: skip
    add_corpus_options(p)


def handle(args: argparse.Namespace) -> int:
    if args.to == "files" and args.output is None:
        raise ConfigError("bench export needs -o OUTDIR, the directory to write the files to "
                          "(or --to mlflow)")  # fmt: skip
    if args.to == "mlflow" and args.output is not None:
        raise ConfigError("-o names a directory for files; --to mlflow writes to "
                          "--tracking-uri instead, so pass one or the other")  # fmt: skip
    if args.tracking_uri is not None and args.to != "mlflow":
        raise ConfigError("--tracking-uri is where --to mlflow logs runs; add --to mlflow")
    if args.output is not None:
        output_dir(args.output, "-o")  # a path mistake before any loading
    filters = filters_of(args)
    console = Console(stderr=True, highlight=False)
    if args.to == "mlflow":
        uri = tracking_uri(args.tracking_uri)
        with open_corpus(args, args.paths) as sel:
            done = export_mlflow(sel, filters, uri)
        console.print(f"mlflow: {len(done.logged)} runs logged to {done.uri}, "
                      f"{done.skipped} already there skipped", soft_wrap=True)  # fmt: skip
        return 0
    with open_corpus(args, args.paths, records=True) as sel:
        written = export_files(sel, filters, args.output, args.format)
    for item in written:
        console.print(f"wrote {item.path} ({item.rows} rows)", soft_wrap=True)
    return 0
