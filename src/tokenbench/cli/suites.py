"""`bench suites`: list the built-in suites and bundled models."""

from __future__ import annotations

import argparse

from tokenbench.cli.output import stdout_console
from tokenbench.engines.models import bundled_models
from tokenbench.render.fit import Col, print_fit
from tokenbench.suites.suite import load_suite, suite_names


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`bench suites` takes no arguments."""


def handle(args: argparse.Namespace) -> int:
    console = stdout_console()
    rows = []
    for name in suite_names():
        s = load_suite(name)
        w = s.workload
        shape = f"{w.input_tokens or 'fixed'} in / {w.output_tokens} out × {w.prompts}"
        rows.append([name, shape, ",".join(map(str, s.sweep)), s.description])
    cols = [Col("Name", "key"), Col("Workload", "words"), Col("Sweep", "key"), Col("Description")]
    print_fit(console, "suites", cols, rows)
    models = [[m.name, m.api.value, m.description] for m in bundled_models().values()]
    print_fit(console, "bundled models", [Col("Name", "key"), Col("API", "key"),
                                          Col("Description")], models)  # fmt: skip
    return 0
