"""`bench conformance`: start the reference server, run a load generator's command line
against it, read its result file, and score it and tokenbench's own client against the truth."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tokenbench.conformance import own
from tokenbench.conformance.figures import ResultUnreadable, Score, ToolFailed, score
from tokenbench.conformance.parsers import PARSERS, ResultParser
from tokenbench.conformance.truth import Stream, read_log, truth
from tokenbench.errors import ConfigError
from tokenbench.reference.process import start_reference

DEFAULT_SCENARIO = "ttft_ms=50;itl_ms=10;tokens=32"
PLACEHOLDERS = ("url", "model", "concurrency", "requests", "output", "output_dir")


@dataclass(frozen=True)
class ConformanceSettings:
    command: tuple[str, ...]  # the load generator's command line, with {placeholders}
    tool: str | None = None  # its result format (a PARSERS name); None: from the program name
    scenario: str = DEFAULT_SCENARIO  # the `model` field: the reference server's scenario
    concurrency: int = 4
    requests: int = 32
    timeout_s: float = 600.0  # for the tool's whole run

    def __post_init__(self) -> None:
        if not self.command:
            raise ConfigError(
                "name the load generator's command after --, e.g. "
                "bench conformance -- vllm bench serve --base-url {url} ..."
            )
        if self.concurrency < 1 or self.requests < 1:
            raise ConfigError("--concurrency and --requests must be at least 1")
        if self.timeout_s <= 0:
            raise ConfigError("--timeout must be positive")


@dataclass(frozen=True)
class ConformanceResult:
    settings: ConformanceSettings
    tool: str
    argv: tuple[str, ...]  # the command as run, placeholders filled
    result_file: str
    scores: tuple[Score, ...]  # the tool's, then tokenbench's


def pick_parser(tool: str | None, command: Sequence[str]) -> ResultParser:
    """The named parser; without a name, the one whose tool names the command's program."""
    if tool is not None:
        return PARSERS.get(tool)
    words = [Path(word).name for word in command[:3]]
    for name, parser in PARSERS.items():
        if name in words:
            return parser
    raise ConfigError(f"cannot tell the result format of {command[0]!r}; name it with --tool "
                      f"({', '.join(PARSERS.names())})")  # fmt: skip


def fill(command: Sequence[str], values: dict[str, str]) -> tuple[str, ...]:
    """Each `{name}` of PLACEHOLDERS replaced in every word; other braces are left alone."""
    out = []
    for word in command:
        for name, value in values.items():
            word = word.replace("{" + name + "}", value)
        out.append(word)
    return tuple(out)


@contextmanager
def reference_server(log_prefix: Path) -> Iterator[str]:
    """The reference server on 127.0.0.1 (a free port) logging to `log_prefix`; yields its URL
    (without /v1: each tool adds its own path)."""
    ref = start_reference(log_prefix)
    try:
        yield f"http://127.0.0.1:{ref.port}"
    finally:
        ref.stop()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def run_tool(argv: Sequence[str], workdir: Path, timeout_s: float) -> None:
    """Run the load generator, its output kept in `workdir`; ToolFailed in one line when it
    cannot start, exits non-zero (its last stderr line) or runs past `timeout_s`."""
    with open(workdir / "tool.stdout", "wb") as out, open(workdir / "tool.stderr", "wb") as err:
        try:
            proc = subprocess.run(argv, stdout=out, stderr=err, timeout=timeout_s,
                                  cwd=workdir, check=False)  # fmt: skip
        except FileNotFoundError:
            raise ToolFailed(f"cannot run {argv[0]!r}: no such program") from None
        except PermissionError:
            raise ToolFailed(f"cannot run {argv[0]!r}: permission denied") from None
        except subprocess.TimeoutExpired:
            raise ToolFailed(f"{argv[0]} ran past --timeout {timeout_s:g} s; stopped") from None
    if proc.returncode != 0:
        stderr = (workdir / "tool.stderr").read_text(encoding="utf-8", errors="replace")
        raise ToolFailed(f"{Path(argv[0]).name} exited with status {proc.returncode}: "
                         f"{_last_line(stderr)}")  # fmt: skip


def find_result(parser: ResultParser, output: Path, output_dir: Path) -> Path:
    """{output} when the tool wrote it; else the newest file matching the parser's pattern."""
    if output.is_file():
        return output
    found = [p for p in output_dir.rglob(parser.pattern) if p.is_file()]
    if not found:
        raise ResultUnreadable(f"{parser.tool} wrote no result file (expected {output} or "
                               f"{parser.pattern} under {output_dir})")  # fmt: skip
    return max(found, key=lambda p: p.stat().st_mtime)


def _settled_log(prefix: Path, at_least: int) -> list[Stream]:
    """The log once it holds `at_least` streams (the server logs each just after its last
    write), or after a second."""
    deadline = time.monotonic() + 1.0
    while True:
        streams = read_log(prefix)
        if len(streams) >= at_least or time.monotonic() > deadline:
            return streams
        time.sleep(0.02)


def run_conformance(settings: ConformanceSettings) -> ConformanceResult:
    """Run the tool, then tokenbench, against one reference server; score both."""
    parser = pick_parser(settings.tool, settings.command)
    with tempfile.TemporaryDirectory(prefix="tokenbench-conformance-") as tmp:
        workdir = Path(tmp)
        outdir = workdir / "out"
        outdir.mkdir()
        output = outdir / "result.json"
        prefix = workdir / "truth"
        with reference_server(prefix) as url:
            values = {"url": url, "model": settings.scenario, "output": str(output),
                      "output_dir": str(outdir), "concurrency": str(settings.concurrency),
                      "requests": str(settings.requests)}  # fmt: skip
            argv = fill(settings.command, values)
            run_tool(argv, workdir, settings.timeout_s)
            path = find_result(parser, output, outdir)
            reported = parser.parse(path)
            n = reported.requests or settings.requests
            tool_streams = _settled_log(prefix, n)[-n:]  # the last n: after any warmup
            if not tool_streams:
                raise ToolFailed(f"{parser.tool} finished no stream on the reference server")
            seen = len(read_log(prefix))
            mine, ids = own.measure(url, settings.scenario, settings.concurrency,
                                    settings.requests)  # fmt: skip
            mine_streams = [s for s in _settled_log(prefix, seen + len(ids)) if s.id in ids]
        tokens_per_chunk = _tokens_per_chunk(settings.scenario)
        scores = (
            score(parser.tool, reported, truth(tool_streams, reported.itl_kind, tokens_per_chunk)),
            score("tokenbench", mine, truth(mine_streams, mine.itl_kind, tokens_per_chunk)),
        )
        return ConformanceResult(settings, parser.tool, argv, path.name, scores)


def _tokens_per_chunk(scenario: str) -> int:
    for part in scenario.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == "tokens_per_chunk" and value.strip().isdigit():
            return max(1, int(value))
    return 1
