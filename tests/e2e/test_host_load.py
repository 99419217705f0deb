"""A loaded host is visible (issue 15, problem 11): while this test keeps a busy loop of its own
running beside `bench run` and `bench eval`, the envelope names that process (by the PID the
test started) with its CPU share, the run carries a warning rather than a reason, and the screen
says so. The local engine under test (the scripted server) is not other work."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run
from tokenbench.session.host_load import engine_pids


@pytest.fixture
def busy_loop() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _server_pid(server: ScriptedServer) -> int:
    """The scripted server's process: the one started with this test's log path."""
    (pid,) = [int(p.pid) for p in psutil.process_iter(["cmdline"])
              if str(server.log_prefix) in (p.info["cmdline"] or [])]  # fmt: skip
    return pid


def test_bench_run_records_the_busy_process_and_warns(
    scripted_server: ScriptedServer, tmp_path: Path, busy_loop: int
) -> None:
    out = tmp_path / "out"
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", scripted_server.base_url,
                 "--model", "ttft_ms=300;itl_ms=20;tokens=10", "--sweep", "1", "--requests", "6",
                 "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (path,) = envelope_paths(out)
    predicate = open_run(path).predicate
    host = predicate.host_load
    assert host is not None
    busy = {p.pid: p.cpu_cores for p in host.top_processes}
    assert busy.get(busy_loop, 0) > 0.25, host
    assert host.shared
    assert _server_pid(scripted_server) not in busy  # the engine under test is the workload
    assert host.before is not None
    assert predicate.validity.valid  # a warning, not a reason
    assert predicate.validity.warnings == [host.warning]
    assert f"(pid {busy_loop})" in (host.warning or "")
    assert "warning: the run shared its cores with other work" in proc.stderr
    compared = bench("compare", str(out))  # the reader of the corpus sees it too
    assert compared.returncode == 0, compared.stderr
    assert "warning: ttft_ms=300;itl_ms=20;tokens=10 @ concurrency 1: the run shared" in (
        compared.stdout
    )


def test_bench_eval_records_the_busy_process(
    scripted_server: ScriptedServer, tmp_path: Path, busy_loop: int
) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{i}", "answer": "a"}) + "\n"
                            for i in range(4)))  # fmt: skip
    out = tmp_path / "out"
    proc = bench("eval", "custom", "--data", str(data), "--base-url", scripted_server.base_url,
                 "--model", "ttft_ms=300;itl_ms=20;tokens=4", "--concurrency", "1",
                 "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (path,) = envelope_paths(out)
    predicate = open_run(path).predicate
    assert predicate.host_load is not None
    assert busy_loop in {p.pid for p in predicate.host_load.top_processes}
    assert predicate.validity.warnings == [predicate.host_load.warning]


def test_the_local_engine_is_found_by_its_port(scripted_server: ScriptedServer) -> None:
    assert _server_pid(scripted_server) in engine_pids("127.0.0.1", scripted_server.port)
    assert engine_pids("198.51.100.7", scripted_server.port) == frozenset()  # not this host
