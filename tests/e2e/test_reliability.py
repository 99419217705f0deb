"""Faults survived, nothing lost: each test drives the real CLI against the scripted server and
breaks something (docs/reliability.md lists them)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import orjson
import pytest

from tests.conftest import ScriptedServer, start_scripted_server, stop
from tests.support.cli import bench, start_bench
from tests.support.envelopes import envelope_paths, open_run, records
from tokenbench.envelope import keys
from tokenbench.errors import ConfigError
from tokenbench.loadgen.worker import LoopLagMonitor
from tokenbench.metrics.summary import summarize
from tokenbench.metrics.validity import ValidityRules, validity_reasons
from tokenbench.urls import check_url_from_file
from tokenbench.verification import verify_file

CHAT = "llm.inference.chatbot-short"


def wait_for_records(folder: Path, at_least: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = sum(p.read_bytes().count(b"\n") for p in folder.glob("*.records.jsonl"))
        if lines >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} records after {timeout_s} s")


def raw_lines_all_parse(folder: Path) -> int:
    n = 0
    for path in folder.glob("*.records.jsonl"):
        data = path.read_bytes()
        assert data.endswith(b"\n") or not data, "a truncated line was left"
        for line in data.splitlines():
            orjson.loads(line)
            n += 1
    return n


def test_server_killed_mid_run_gives_a_partial_envelope(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    proc_server, server = start_scripted_server(tmp_path / "srv")
    out = tmp_path / "out"
    run = start_bench("run", CHAT, "--base-url", server.base_url, "--model",
                      "ttft_ms=5;itl_ms=5;tokens=20", "--concurrency", "2", "--requests", "60",
                      "--timeout", "10", "--output", str(out))  # fmt: skip
    try:
        wait_for_records(out, 30)  # about half the run
        os.killpg(proc_server.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        run.communicate(timeout=30)
        elapsed = time.monotonic() - killed_at
    finally:
        stop(proc_server)
    assert run.returncode == 4
    assert elapsed < 10 + 5  # within the request timeout + 5 s
    opened = verify_file(envelope_paths(out)[0], keys.trusted_keys())
    p = opened.predicate
    assert p.status == "partial"
    assert not p.validity.valid
    assert any("unreachable" in r for r in p.validity.reasons)
    rows = records(opened)
    assert p.metrics.requests_ok >= 20  # every completed request kept
    failed = [r for r in rows if not r.ok]
    assert failed
    assert {r.error_kind.value for r in failed if r.error_kind} <= {"disconnect", "connect"}


def test_stalled_stream_hits_the_idle_timeout(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model",
                 "ttft_ms=1;itl_ms=1;tokens=10;stall_after=2", "--concurrency", "2",
                 "--requests", "2", "--warmup", "0", "--timeout-idle", "0.5", "--timeout", "30",
                 "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    opened = open_run(envelope_paths(tmp_path)[0])
    rows = records(opened)
    assert len(rows) == 2
    for r in rows:
        assert r.error_kind is not None
        assert r.error_kind.value == "timeout"
        assert "idle timeout" in (r.error or "")
        assert len(r.chunk_ns) == 2  # what arrived before the stall is kept
        assert r.end_ns is not None
        assert r.send_ns is not None
        assert (r.end_ns - r.send_ns) / 1e9 < 5  # the idle timeout, not the 30 s one
    assert opened.predicate.metrics.errors_by_kind == {"timeout": 2}
    assert not opened.predicate.validity.valid


def _interrupt_run(tmp_path: Path, server: ScriptedServer, presses: int) -> tuple[int, float, Path]:
    out = tmp_path / "out"
    run = start_bench("run", CHAT, "--base-url", server.base_url, "--model",
                      "ttft_ms=5;itl_ms=20;tokens=60", "--concurrency", "2", "--requests", "200",
                      "--output", str(out))  # fmt: skip
    wait_for_records(out, 4)
    for _ in range(presses):
        os.kill(run.pid, signal.SIGINT)
        time.sleep(0.1)
    pressed = time.monotonic()
    run.communicate(timeout=60)
    return run.returncode, time.monotonic() - pressed, out


def test_ctrl_c_once_drains_and_writes_an_interrupted_envelope(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    code, elapsed, out = _interrupt_run(tmp_path, scripted_server, presses=1)
    assert code == 130
    assert elapsed < 15  # bounded drain
    opened = verify_file(envelope_paths(out)[0], keys.trusted_keys())
    p = opened.predicate
    assert p.status == "interrupted"
    assert "interrupted by the user (Ctrl-C)" in p.validity.reasons
    assert p.metrics.requests_measured < 200
    # In-flight requests drained to completion: nothing was cut off.
    assert all(r.ok for r in records(opened))


def test_ctrl_c_twice_exits_at_once_with_the_raw_records_intact(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    code, elapsed, out = _interrupt_run(tmp_path, scripted_server, presses=2)
    assert code == 130
    assert elapsed < 2
    assert raw_lines_all_parse(out) >= 4


def test_sigkill_then_recover(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = start_bench("run", CHAT, "--base-url", scripted_server.base_url, "--model",
                      "ttft_ms=5;itl_ms=10;tokens=30", "--concurrency", "2", "--requests", "200",
                      "--output", str(out))  # fmt: skip
    wait_for_records(out, 6)
    run.kill()
    run.communicate(timeout=30)
    assert not envelope_paths(out)  # it died before writing one
    raw = next(out.glob("*.records.jsonl"))
    lines = raw.read_bytes().split(b"\n")
    for line in lines[:-1]:  # at most the trailing line can be truncated
        orjson.loads(line)
    rec = bench("recover", str(out))
    assert rec.returncode == 0, rec.stderr
    assert "status partial" in rec.stdout
    opened = verify_file(envelope_paths(out)[0], keys.trusted_keys())
    assert opened.predicate.status == "partial"
    assert any("bench recover" in r for r in opened.predicate.validity.reasons)
    assert opened.predicate.metrics.requests_total >= 6
    again = bench("recover", str(out))
    assert "nothing to recover" in again.stdout


def test_429_and_503_are_failures_counted_by_kind_and_the_run_invalid(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model",
                 "ttft_ms=1;itl_ms=1;tokens=8;fail_every=3", "--concurrency", "1",
                 "--requests", "12", "--warmup", "0", "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    p = open_run(envelope_paths(tmp_path)[0]).predicate
    assert p.metrics.errors_by_kind == {"http_503": 4}
    assert p.metrics.requests_ok == 8
    assert p.metrics.ttft_ms is not None
    assert p.metrics.ttft_ms.count == 8  # failures excluded from latency
    assert not p.validity.valid
    assert any("error rate 33.3% is above --max-error-rate 5.0%" in r for r in p.validity.reasons)
    # the result line says so where the reader is looking, not with a green tick
    assert "✗ invalid" in proc.stderr
    assert "why: error rate 33.3%" in proc.stderr
    assert "✓" not in proc.stderr
    # the summary marks it invalid (read as JSON: a table's width depends on the terminal)
    summary = orjson.loads(bench("summary", str(tmp_path), "--report", "json").stdout)
    assert summary["runs"][0]["valid"] is False
    compared = bench("compare", str(tmp_path))
    assert "invalid:" in compared.stdout
    assert "error rate 33.3%" in compared.stdout
    as_json = orjson.loads(bench("compare", str(tmp_path), "--report", "json").stdout)
    assert as_json["runs"][0]["valid"] is False


def test_retry_honours_retry_after(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    no_retry = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model",
                     "ttft_ms=1;itl_ms=1;tokens=4;status_first=1", "--concurrency", "1",
                     "--requests", "2", "--output", str(tmp_path / "a"))  # fmt: skip
    assert no_retry.returncode == 2
    assert "HTTP 429: slow down" in no_retry.stderr
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model",
                 "ttft_ms=1;itl_ms=1;tokens=4;status_first=3", "--concurrency", "1",
                 "--requests", "4", "--retry", "3", "--output", str(tmp_path / "b"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    opened = open_run(envelope_paths(tmp_path / "b")[0])
    assert opened.predicate.metrics.requests_failed == 0
    assert opened.predicate.validity.valid


def test_min_duration_and_min_requests(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model",
                 "ttft_ms=1;itl_ms=1;tokens=4", "--concurrency", "1", "--requests", "3",
                 "--min-duration", "30", "--min-requests", "10",
                 "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    reasons = open_run(envelope_paths(tmp_path)[0]).predicate.validity.reasons
    assert any("under --min-duration 30 s" in r for r in reasons)
    assert any("3 requests measured, under --min-requests 10" in r for r in reasons)


def test_redirects_are_not_followed(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    proc = bench("run", CHAT, "--base-url", scripted_server.base_url, "--api-key", "sk-xyz123",
                 "--model", "redirect=1", "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 2
    assert "HTTP 307" in proc.stderr  # reported, not followed to the other host
    assert "sk-xyz123" not in proc.stderr


def test_1gb_envelope_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(1 << 30)  # sparse: no disk used
    started = time.monotonic()
    verify = bench("verify", str(big))
    assert verify.returncode == 10
    assert "size cap" in verify.stdout
    summary = bench("summary", str(tmp_path))
    assert "1 skipped" in summary.stdout
    compare = bench("compare", str(tmp_path))
    assert compare.returncode == 2
    assert len(compare.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 30


def test_loop_lag_monitor_sees_a_blocked_client() -> None:
    async def blocked() -> list[float]:
        monitor = LoopLagMonitor(interval_s=0.005)
        stop = asyncio.Event()
        task = asyncio.create_task(monitor.run(stop))
        await asyncio.sleep(0.02)
        time.sleep(0.08)  # noqa: ASYNC251 - the client hogging its own loop, on purpose
        await asyncio.sleep(0.02)
        stop.set()
        await task
        return monitor.lags_ms

    lags = asyncio.run(blocked())
    assert max(lags) >= 60
    reasons = validity_reasons(summarize([]), ValidityRules(), max(lags))
    assert any("client was saturated" in r for r in reasons)


def test_rerun_from_an_envelope(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    first = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model",
                  "ttft_ms=1;itl_ms=1;tokens=6", "--concurrency", "2", "--requests", "4",
                  "--seed", "7", "--output", str(tmp_path / "a"))  # fmt: skip
    assert first.returncode == 0, first.stderr
    original = open_run(envelope_paths(tmp_path / "a")[0]).predicate
    again = bench("run", "--rerun", str(envelope_paths(tmp_path / "a")[0]),
                  "--output", str(tmp_path / "b"))  # fmt: skip
    assert again.returncode == 0, again.stderr
    rerun = open_run(envelope_paths(tmp_path / "b")[0]).predicate
    assert rerun.comparability.key == original.comparability.key
    assert rerun.parameters.load == original.parameters.load
    assert rerun.target.model.model_id == original.target.model.model_id
    assert rerun.run_id != original.run_id


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/v1", "http://10.1.2.3:8000/v1", "http://metadata.google.internal/v1"],
)
def test_base_url_from_a_file_pointing_inward_is_refused(
    scripted_server: ScriptedServer, tmp_path: Path, url: str
) -> None:
    ok = bench("run", CHAT, "--base-url", scripted_server.base_url, "--model",
               "ttft_ms=1;itl_ms=1;tokens=4", "--concurrency", "1", "--requests", "1",
               "--output", str(tmp_path / "a"))  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    config = next((tmp_path / "a").glob("*.config.json"))
    doc = orjson.loads(config.read_bytes())
    doc["run"]["target"]["base_url"] = url
    config.write_bytes(orjson.dumps(doc))
    proc = bench("run", "--rerun", str(config), "--output", str(tmp_path / "b"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--allow-private" in lines[0]
    assert not (tmp_path / "b").exists()  # refused before anything was sent or written


def test_allow_private_lifts_the_refusal_without_connecting() -> None:
    check_url_from_file("http://169.254.169.254/v1", allow_private=True)
    check_url_from_file("http://127.0.0.1:8000/v1", allow_private=False)  # loopback is fine
    check_url_from_file("https://api.example.com/v1", allow_private=False)
    with pytest.raises(ConfigError):
        check_url_from_file("http://[fe80::1]/v1", allow_private=False)


def _wait_for_streams(server: ScriptedServer, at_least: int, timeout_s: float = 60) -> None:
    """Until the scripted server has logged `at_least` finished streams (the preflight is one)."""
    deadline = time.monotonic() + timeout_s
    while len(server.log_entries()) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} streams after {timeout_s} s"
        time.sleep(0.02)


def test_server_lost_while_prompts_are_built_gives_one_line_and_exit_4(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    proc_server, server = start_scripted_server(tmp_path / "srv")
    out = tmp_path / "out"
    run = start_bench("run", CHAT, "--base-url", server.base_url, "--model",
                      "ttft_ms=1;itl_ms=1;tokens=4", "--concurrency", "1",
                      "--requests", "100000", "--output", str(out))  # fmt: skip
    try:
        _wait_for_streams(server, 1)  # the preflight answered: calibration is over
        os.killpg(proc_server.pid, signal.SIGKILL)
        _, stderr = run.communicate(timeout=120)
    finally:
        stop(proc_server)
    assert run.returncode == 4, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "unreachable" in lines[0]
    assert "prompts" in lines[0]
    assert not out.exists() or not envelope_paths(out)  # nothing was measured: no envelope


def test_server_lost_during_warmup_gives_a_partial_envelope_and_exit_4(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    proc_server, server = start_scripted_server(tmp_path / "srv")
    out = tmp_path / "out"
    run = start_bench("run", CHAT, "--base-url", server.base_url, "--model",
                      "ttft_ms=300;itl_ms=1;tokens=4", "--concurrency", "1", "--warmup", "4",
                      "--requests", "10", "--timeout", "10", "--output", str(out))  # fmt: skip
    try:
        _wait_for_streams(server, 2)  # the preflight and the first warmup request
        os.killpg(proc_server.pid, signal.SIGKILL)
        _, stderr = run.communicate(timeout=60)
    finally:
        stop(proc_server)
    assert run.returncode == 4, stderr
    assert "Traceback" not in stderr
    opened = verify_file(envelope_paths(out)[0], keys.trusted_keys())
    p = opened.predicate
    assert p.status == "partial"
    assert p.metrics.requests_measured == 0
    assert p.metrics.warmup_requests >= 1  # what was sent is kept
    assert any("unreachable" in r for r in p.validity.reasons)
