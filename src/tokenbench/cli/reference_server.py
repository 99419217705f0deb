"""`bench reference-server`: the scripted SSE server of known timing, the ground truth that
client measurements are checked against (prints its port, then serves until killed)."""

from __future__ import annotations

import argparse

from tokenbench.reference import server


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Serve a scripted OpenAI-compatible SSE stream on 127.0.0.1; each request's `model` "
        "field picks its behaviour, e.g. 'ttft_ms=lognormal(50,10);itl_ms=5;tokens=64'. "
        "Prints the port on stdout, then serves until interrupted. With --log PREFIX every "
        "stream is logged with its write timestamps (docs/performance.md)."
    )
    server.add_arguments(p)


def handle(args: argparse.Namespace) -> int:
    return server.run(args)
