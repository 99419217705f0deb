"""One interface across commands (issue 15, problem 10): `-o FILE` writes any rendered format
to a file, HTML is never poured onto a terminal, envelopes are positional PATHs everywhere, and
`--report` offers what the renderer registry has for the command's views."""

from __future__ import annotations

import argparse
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import bench
from tests.support.envelopes import write_run_envelope
from tokenbench.catalog.views import InfraView, ModelsView, RecommendView
from tokenbench.cli.main import COMMANDS, build_parser
from tokenbench.compare.query import QueryResult
from tokenbench.compare.summary import SummaryTable
from tokenbench.compare.views import ComparisonView
from tokenbench.pricing.cost_views import ApiRatesView, CostReportView
from tokenbench.records import RequestRecord
from tokenbench.render.formats import formats_for

# every command that renders a view, and the views it may render
RENDERING = {
    "summary": [SummaryTable],
    "compare": [ComparisonView],
    "cost": [CostReportView, ApiRatesView],
    "models": [ModelsView],
    "infra": [InfraView],
    "recommend": [RecommendView],
    "query": [QueryResult],
}


def _corpus(folder: Path) -> Path:
    for model, end in (("a", 1_000_000_000), ("b", 2_000_000_000)):
        records = [RequestRecord(i, 0, i, False, "p", 0, send_ns=0, first_token_ns=end // 10,
                                 chunk_ns=[end // 10, end], end_ns=end, input_tokens=10,
                                 output_tokens=100, tokens_from_usage=True, http_status=200)
                   for i in range(2)]  # fmt: skip
        write_run_envelope(folder / model, records, model)
    return folder


def _command_parser(name: str) -> argparse.ArgumentParser:
    parser = build_parser(name)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command: argparse.ArgumentParser = sub.choices[name]
    return command


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings)


@pytest.mark.parametrize("name", list(RENDERING))
def test_every_rendering_command_offers_the_registry_formats_and_o_file(name: str) -> None:
    parser = _command_parser(name)
    views = RENDERING[name]
    expected = [f for f in formats_for(views[0]) if all(f in formats_for(v) for v in views)]
    assert list(_option(parser, "--report").choices or []) == expected
    output = _option(parser, "-o")
    assert output.option_strings == ["-o", "--output"]
    assert output.metavar == "FILE"


def test_every_command_that_renders_is_listed_here() -> None:
    for name, _module, _help in COMMANDS:
        has_report = any("--report" in a.option_strings for a in _command_parser(name)._actions)
        assert has_report == (name in RENDERING), name


def test_o_writes_the_chosen_format_to_a_file(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    out = tmp_path / "out" / "compare.json"
    proc = bench("compare", str(corpus), "--report", "json", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert f"wrote {out}" in proc.stderr
    assert json.loads(out.read_text())["runs"]
    table = tmp_path / "summary.txt"
    assert bench("summary", str(corpus), "-o", str(table)).returncode == 0
    assert "\x1b[" not in table.read_text()  # no colour codes in a file
    assert "Throughput" in table.read_text()
    assert "2 envelopes loaded" in table.read_text()
    infra = tmp_path / "infra.json"
    proc = bench("infra", "llama-3.1-8b-instruct", "--report", "json", "-o", str(infra))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(infra.read_text())


def test_o_naming_a_directory_is_refused_before_any_work(tmp_path: Path) -> None:
    proc = bench("compare", str(tmp_path / "missing"), "-o", str(tmp_path))
    assert proc.returncode == 2
    assert "is a directory; name the file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run bench with stdout on a pseudo-terminal; its exit code and all it printed."""
    primary, secondary = pty.openpty()
    argv = [sys.executable, "-m", "tokenbench.cli.main", *args]
    proc = subprocess.Popen(argv, stdout=secondary, stderr=secondary, stdin=subprocess.DEVNULL)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_html_to_a_terminal_is_refused_and_piped_it_is_written(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    code, printed = _on_a_terminal("compare", str(corpus), "--report", "html")
    assert code == 2
    assert "the HTML report is a file: add -o report.html" in printed
    assert "<html" not in printed.lower()
    piped = bench("compare", str(corpus), "--report", "html")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("<!doctype html>")
    out = tmp_path / "r.html"
    code, _ = _on_a_terminal("compare", str(corpus), "--report", "html", "-o", str(out))
    assert code == 0
    assert out.read_text().startswith("<!doctype html>")


@pytest.mark.parametrize("command", [["models"], ["recommend", "--context", "4000"]])
def test_models_and_recommend_take_envelopes_as_positional_paths(
    command: list[str], tmp_path: Path
) -> None:
    corpus = _corpus(tmp_path / "corpus")
    positional = bench(*command, str(corpus), "--report", "json")
    assert positional.returncode == 0, positional.stderr
    old = bench(*command, "--corpus", str(corpus), "--report", "json")  # the hidden old spelling
    assert old.returncode == 0, old.stderr
    assert json.loads(positional.stdout) == json.loads(old.stdout)
    missing = bench(*command, str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert "no such file, directory or matching glob" in missing.stderr
    assert "--corpus" not in bench(*command, "--help").stdout
