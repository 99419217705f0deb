"""Never silent (issue 15, problem 7): without a terminal, `bench run` and `bench eval` print a
plain progress line at a fixed interval (a short one here, injected); a first request says
what it waits for; a server that accepts connections and never answers ends the run within a
small multiple of --timeout, in one line."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tokenbench.cli import heartbeat
from tokenbench.cli.main import main

PROGRESS_LINE = re.compile(r": (\d+)(/\d+)? requests done, (\d+) errors, \d+ s elapsed")


@pytest.fixture
def fast_heartbeat(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(heartbeat, "HEARTBEAT_S", 0.1)
    return 0.1


def test_bench_run_prints_progress_lines_without_a_terminal(
    scripted_server: ScriptedServer, tmp_path: Path, fast_heartbeat: float,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # 4 requests one at a time, each ~0.6 s: several intervals pass inside the point
    code = main(["run", "llm.inference.chatbot-short", "--base-url", scripted_server.base_url,
                 "--model", "ttft_ms=300;itl_ms=30;tokens=10", "--sweep", "1", "--requests", "4",
                 "--warmup", "0", "--no-sign", "-o", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [m for m in map(PROGRESS_LINE.search, err.splitlines()) if m]
    assert lines, err
    assert all(m.group(2) == "/4" and m.group(3) == "0" for m in lines)
    done = [int(m.group(1)) for m in lines]
    assert done == sorted(done)  # the count only goes up


def test_bench_eval_prints_progress_lines_without_a_terminal(
    scripted_server: ScriptedServer, tmp_path: Path, fast_heartbeat: float,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{i}", "answer": "a"}) + "\n"
                            for i in range(4)))  # fmt: skip
    code = main(["eval", "custom", "--data", str(data), "--base-url", scripted_server.base_url,
                 "--model", "ttft_ms=300;itl_ms=30;tokens=4", "--concurrency", "1", "--no-sign",
                 "-o", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if PROGRESS_LINE.search(line)]
    assert lines, err
    assert all(line.startswith("custom at concurrency 1: ") and "/4 requests done" in line
               for line in lines)  # fmt: skip


def test_a_first_request_wait_says_what_it_waits_for(
    scripted_server: ScriptedServer, tmp_path: Path, fast_heartbeat: float,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # stall_after=0: response headers, then no token ever; --timeout 2 ends the wait
    code = main(["run", "llm.inference.chatbot-short", "--base-url", scripted_server.base_url,
                 "--model", "stall_after=0", "--timeout", "2", "--no-sign",
                 "-o", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    wait = (f"waiting for the first response from {scripted_server.base_url} "
            "(model stall_after=0) — up to --timeout 2 s")  # fmt: skip
    assert f"still calibrating prompt lengths, {wait}" in err
    assert "refused the first request" in err.splitlines()[-1]


@pytest.mark.parametrize("timeout", [None, 2])
def test_a_server_that_never_answers_ends_the_run_in_one_line(
    scripted_server_factory: Callable[..., ScriptedServer], tmp_path: Path, timeout: int | None
) -> None:
    server = scripted_server_factory("--hang")
    flags = ["--timeout", str(timeout)] if timeout else []
    started = time.monotonic()
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", server.base_url,
                 "--model", "m", *flags, "-o", str(tmp_path / "out"), timeout=120)  # fmt: skip
    took = time.monotonic() - started
    assert proc.returncode == 2
    limit = timeout or 5  # without --timeout, a probe waits 5 s at most
    assert "accepted the connection but sent no answer to GET /props" in proc.stderr
    assert f"within {limit} s" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    # Only the first probe was waited for (the 6 probes and the first request took 38 s before);
    # the margin is for a slow machine starting Python.
    assert took < limit + 25
