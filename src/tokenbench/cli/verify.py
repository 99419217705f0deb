"""`bench verify PATH... [--key PUB]...`: check envelopes end to end; exit code says which check
failed first (see `tokenbench.envelope.verify.CHECKS`)."""

from __future__ import annotations

import argparse

from rich.console import Console

from tokenbench.cli.keys import add_trust_option
from tokenbench.corpus import envelope_files
from tokenbench.envelope import keys
from tokenbench.envelope.verify import VerifyError
from tokenbench.errors import ConfigError
from tokenbench.verification import verify_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Exit codes: 0 verified; 10 too large; 11 not DSSE; 12 bad signature; "
        "13 unsigned; 14 wrong payloadType; 15 payload not strict JSON; 16 wrong statement or "
        "schema; 17 sidecar digest mismatch; 18 sidecar missing (data unverified); "
        "19 metrics do not match the raw records."
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="envelope files, directories, globs")
    add_trust_option(p)


def handle(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    trusted = keys.trusted_keys(args.key)
    first_failure = 0
    files = [f for spec in args.paths for f in envelope_files(spec)]
    if not files:
        raise ConfigError(f"no envelope found in {' '.join(args.paths)}; check the paths")
    for path in files:
        try:
            opened = verify_file(path, trusted)
        except VerifyError as exc:
            console.print(f"[red]FAIL[/] {path}: {exc}", soft_wrap=True)
            first_failure = first_failure or exc.exit_code
            continue
        p = opened.predicate
        console.print(
            f"[green]OK[/] {path}: verified; signer {opened.signer}; status {p.status}; "
            f"{len(opened.statement.subject)} sidecars match; metrics recomputed",
            soft_wrap=True,
        )
    return first_failure
