"""`bench` / `tokenbench` entry point: dispatches to the command modules.

Command modules are imported only when their command is chosen: together they pull in numpy,
scipy, pydantic, rich and cryptography (about a second), which `bench --help` never needs. The
top-level parser is built from the static table below; only the chosen command's module adds
its own arguments (`add_arguments(parser)`) and handles the parsed namespace (`handle(args)`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from tokenbench import __version__

# (command, module, one-line help), in the order `bench --help` lists them
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("run", "tokenbench.cli.run", "measure a model on a suite"),
    ("eval", "tokenbench.cli.eval",
     "measure quality (accuracy) on standard tasks or your own data"),
    ("summary", "tokenbench.cli.summary", "summarise envelopes (files, directories, globs)"),
    ("compare", "tokenbench.cli.compare",
     "compare runs: differences with CIs, Pareto frontiers"),
    ("index", "tokenbench.cli.index",
     "bring a corpus's index up to date (other commands do it first)"),
    ("query", "tokenbench.cli.query", "read-only SQL over the corpus index"),
    ("report", "tokenbench.cli.report", "write a self-contained HTML report (and PNG charts)"),
    ("export", "tokenbench.cli.export",
     "write runs and raw records as Parquet, CSV or JSONL, or log them to MLflow"),
    ("cost", "tokenbench.cli.cost", "API prices, and self-hosted $/Mtok from measured runs"),
    ("models", "tokenbench.cli.models", "the model catalog: facts and published scores"),
    ("infra", "tokenbench.cli.infra", "GPU memory a model needs, and which GPUs fit it"),
    ("recommend", "tokenbench.cli.recommend", "which model to pick, with the evidence"),
    ("verify", "tokenbench.cli.verify",
     "verify signed envelopes: signature, format, sidecar digests, metrics"),
    ("recover", "tokenbench.cli.recover",
     "turn raw records a killed run left into partial envelopes"),
    ("keys", "tokenbench.cli.keys", "manage the local signing key"),
    ("suites", "tokenbench.cli.suites", "list built-in suites and bundled models"),
    ("selftest", "tokenbench.cli.selftest",
     "measure tokenbench's own TTFT/ITL error on this host (the error budget)"),
    ("reference-server", "tokenbench.cli.reference_server",
     "serve scripted streams of known timing (the ground truth for timing checks)"),
    ("conformance", "tokenbench.cli.conformance",
     "score another load generator's timing against the reference server"),
    ("completion", "tokenbench.cli.completion", "print a completion script for bash, zsh or fish"),
)  # fmt: skip


_MODULES = {name: module for name, module, _help in COMMANDS}


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command named on the line: the first word that is not an option (the top-level
    parser's own options, -h and --version, take no value)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in _MODULES else None


def build_parser(command: str | None = None, config: Path | None = None) -> argparse.ArgumentParser:
    """The parser with every command listed; only `command`, if given, has its arguments, with
    the defaults the config file at `config` sets (cli/config.py)."""
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Compare LLMs on the same hardware, engine and workload.",
    )
    parser.add_argument("--version", action="version", version=f"tokenbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, help_ in COMMANDS:
        p = sub.add_parser(name, help=help_, description=help_)
        if name == command:
            importlib.import_module(module).add_arguments(p)
            if config is not None:
                from tokenbench.cli.config import apply_config

                apply_config(p, name, config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = chosen_command(argv)
    if command is None:  # `bench` alone or --help: what it can do; needs no config
        parser = build_parser()
        if not argv:
            parser.print_help()
            return 0
        parser.parse_args(argv)  # --help, --version, or the error naming the command
        return 2
    # imported only now: printing help needs neither the error tree nor rich
    from tokenbench.cli.config import config_path
    from tokenbench.errors import TokenbenchError

    try:
        parser = build_parser(command, config_path())
    except TokenbenchError as exc:  # a bad config file: one line naming the key and the file
        _print_error(f"[bold red]error:[/] {exc}")
        return exc.exit_code
    args = parser.parse_args(argv)
    try:
        code: int = importlib.import_module(_MODULES[args.command]).handle(args)
        return code
    except TokenbenchError as exc:
        _print_error(f"[bold red]error:[/] {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _print_error("interrupted")
        return 130
    except OSError as exc:  # a file the checks up front could not foresee (disk full, …)
        where = f" ({exc.filename})" if exc.filename else ""
        _print_error(f"[bold red]error:[/] {exc.strerror or exc}{where}; check the path and "
                     "the disk, then run the command again")  # fmt: skip
        return 2


def _print_error(markup: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(markup, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
