"""`bench keys generate|show`: the local Ed25519 signing key."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from tokenbench.envelope import keys
from tokenbench.envelope.dsse import keyid
from tokenbench.errors import ConfigError


def add_trust_option(p: argparse.ArgumentParser) -> None:
    """`--key PUB` (repeatable): public keys to trust besides the local one."""
    p.add_argument(
        "--key",
        action="append",
        type=Path,
        default=[],
        metavar="PUB",
        help="also trust this public key (PEM); the local key is always trusted",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    gen = verbs.add_parser("generate", help="create the signing key and print its public key")
    gen.add_argument("--force", action="store_true", help="replace an existing key")
    verbs.add_parser("show", help="print the public key and its keyid")


def handle(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    if args.verb == "generate":
        key = keys.generate(force=args.force)
        console.print(f"wrote {keys.private_key_path()} (mode 0600)", soft_wrap=True)
    else:
        loaded = keys.load_private()
        if loaded is None:
            raise ConfigError("no signing key yet; create one with `bench keys generate`")
        key = loaded
    public = key.public_key()
    console.print(f"public key ({keys.public_key_path()}):", soft_wrap=True)
    console.print(keys.public_pem(public).strip())
    console.print(f"keyid: {keyid(public)}")
    return 0
