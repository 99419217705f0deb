"""`bench suites`: list the built-in suites and bundled models."""

from __future__ import annotations

import argparse

from rich.table import Table

from tokenbench.cli.output import stdout_console
from tokenbench.engines.models import bundled_models
from tokenbench.suites.suite import load_suite, suite_names


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`bench suites` takes no arguments."""


def handle(args: argparse.Namespace) -> int:
    console = stdout_console()
    t = Table(title="suites", header_style="bold")
    for col in ("Name", "Workload", "Sweep", "Description"):
        t.add_column(col)
    for name in suite_names():
        s = load_suite(name)
        w = s.workload
        shape = f"{w.input_tokens or 'fixed'} in / {w.output_tokens} out × {w.prompts}"
        t.add_row(name, shape, ",".join(map(str, s.sweep)), s.description)
    console.print(t)
    m = Table(title="bundled models", header_style="bold")
    m.add_column("Name")
    m.add_column("API")
    m.add_column("Description")
    for model in bundled_models().values():
        m.add_row(model.name, model.api.value, model.description)
    console.print(m)
    return 0
