"""docs/cli.md is generated from the parsers (benchmarks/cli_docs.py) and must be current: every
command, every visible flag, the exit codes, the config file; and the README links it."""

from __future__ import annotations

import argparse
import runpy
from pathlib import Path

from tokenbench.cli.main import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "cli.md"


def test_docs_cli_md_is_what_the_parsers_say() -> None:
    generated = runpy.run_path(str(ROOT / "benchmarks" / "cli_docs.py"))["render"]()
    assert DOC.read_text(encoding="utf-8") == generated, (
        "docs/cli.md is out of date: run .venv/bin/python benchmarks/cli_docs.py"
    )


def test_every_command_and_visible_flag_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, _module, _help in COMMANDS:
        assert f"### bench {name}\n" in text
        parser = build_parser(name)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        section = text.split(f"### bench {name}\n", 1)[1].split("\n### ", 1)[0]
        for action in sub.choices[name]._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            for flag in action.option_strings:
                assert f"`{flag}`" in section, (name, flag)
    for code in ("| 2 |", "| 4 |", "| 12 |", "| 130 |"):
        assert code in text
    assert "## The config file" in text


def test_the_readme_links_the_cli_reference() -> None:
    assert "[docs/cli.md](docs/cli.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
