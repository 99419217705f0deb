"""Shim kept for scripts that start the server by path: the reference server now lives in the
product, `tokenbench.reference.server` (also `bench reference-server`)."""

from __future__ import annotations

import sys

from tokenbench.reference.server import main

if __name__ == "__main__":
    sys.exit(main())
