"""`bench` alone shows help; the top-level parser imports no command module, so help answers
without numpy, pydantic, rich or cryptography (the timing itself: benchmarks/cli_startup.py)."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from tests.support.cli import bench
from tokenbench.cli.main import COMMANDS, build_parser

HEAVY = ("numpy", "scipy", "pydantic", "rich", "cryptography", "orjson")


def _imported_after(code: str) -> set[str]:
    """The heavy top-level packages a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return set(proc.stdout.split()) & set(HEAVY)


def test_bench_alone_prints_the_help_and_succeeds() -> None:
    proc = bench()
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: bench")
    for name, _module, _help in COMMANDS:
        assert f"    {name}" in proc.stdout
    assert proc.stdout == bench("--help").stdout


def test_importing_the_entry_point_imports_no_heavy_package() -> None:
    assert _imported_after("import tokenbench.cli.main") == set()


def test_help_imports_no_heavy_package() -> None:
    code = (
        "import contextlib, io\n"
        "from tokenbench.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    for argv in (['--help'], []):\n"
        "        with contextlib.suppress(SystemExit):\n"
        "            main(argv)"
    )
    assert _imported_after(code) == set()


def test_a_command_is_parsed_by_its_own_module() -> None:
    proc = bench("run", "--help")
    assert proc.returncode == 0
    assert "--find-max-rate" in proc.stdout
    unknown = bench("rnu")
    assert unknown.returncode == 2
    assert "invalid choice: 'rnu'" in unknown.stderr


def test_every_command_module_adds_its_arguments_and_handles_them() -> None:
    for name, module, _help in COMMANDS:
        parser = build_parser(name)
        assert callable(importlib.import_module(module).handle), module
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        assert sub.choices[name].format_usage().startswith(f"usage: bench {name}")
