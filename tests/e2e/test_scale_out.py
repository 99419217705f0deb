"""One run split over worker processes and over Ray actors (a local Ray cluster started here,
on 127.0.0.1), against the scripted server: merged results, exact counts, lost workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench, start_bench
from tests.support.envelopes import envelope_paths, open_run, records
from tests.support.installed import installed
from tokenbench.engines.llama_server import free_port
from tokenbench.envelope.schema import RunPredicate

pytestmark = pytest.mark.slow

# Within this of the single-process run: TTFT p50 (the scripted server answers in 20 ms) and
# output throughput (2 cores shared by the server, the coordinator and the workers).
TTFT_TOLERANCE_MS = 2.0
THROUGHPUT_TOLERANCE = 0.10
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def run_point(server: ScriptedServer, out: Path, *extra: str, env: dict[str, str] | None = None
              ) -> RunPredicate:  # fmt: skip
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", server.base_url,
                 "--requests", "120", "--output", str(out), *extra, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [path] = envelope_paths(out)
    predicate = open_run(path).predicate
    assert isinstance(predicate, RunPredicate)
    return predicate


def assert_merged_like_single(single: RunPredicate, merged: RunPredicate, workers: int) -> None:
    m1, mn = single.metrics, merged.metrics
    assert mn.requests_ok == m1.requests_ok == 120  # every planned request, exactly once
    assert mn.output_tokens_total == m1.output_tokens_total
    assert m1.ttft_ms is not None
    assert mn.ttft_ms is not None
    assert abs(mn.ttft_ms.p50 - m1.ttft_ms.p50) <= TTFT_TOLERANCE_MS
    assert m1.output_throughput_tok_per_s is not None
    assert mn.output_throughput_tok_per_s is not None
    ratio = mn.output_throughput_tok_per_s / m1.output_throughput_tok_per_s
    assert abs(ratio - 1) <= THROUGHPUT_TOLERANCE, ratio
    so = merged.scale_out
    assert so is not None
    assert len(so.workers) == workers
    assert sum(w.records for w in so.workers) == 120 + merged.parameters.load.warmup_requests
    assert sum(w.concurrency for w in so.workers) == merged.parameters.load.concurrency
    assert so.lost_requests == []
    for w in so.workers:
        assert abs(w.clock_offset_ns) <= w.clock_rtt_ns // 2 + 5_000_000  # same machine
        assert w.host_hmac


def test_workers_merge_into_one_envelope(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    single = run_point(scripted_server, tmp_path / "one", "--sweep", "8")
    merged = run_point(scripted_server, tmp_path / "two", "--sweep", "8", "--workers", "2")
    assert_merged_like_single(single, merged, 2)
    assert merged.scale_out is not None
    assert merged.scale_out.runtime == "process"
    recs = records(open_run(envelope_paths(tmp_path / "two")[0]))
    assert {r.worker for r in recs} == {0, 1}
    assert sorted(r.index for r in recs) == list(range(len(recs)))  # no index twice
    assert bench("verify", str(tmp_path / "two")).returncode == 0


def test_open_loop_schedule_is_the_same_split(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    args = ("--rate", "40", "--concurrency", "16", "--seed", "3")
    single = run_point(scripted_server, tmp_path / "one", *args)
    merged = run_point(scripted_server, tmp_path / "two", *args, "--workers", "2")
    assert_merged_like_single(single, merged, 2)

    def schedule(folder: Path) -> list[tuple[int, int]]:
        recs = records(open_run(envelope_paths(folder)[0]))
        measured = [r for r in recs if r.measured]
        first = min(r.scheduled_ns for r in measured)
        return sorted((r.index, r.scheduled_ns - first) for r in measured)

    one, two = schedule(tmp_path / "one"), schedule(tmp_path / "two")
    assert [i for i, _ in one] == [i for i, _ in two]
    # the same offsets, give or take the clock alignment and the start instant
    assert max(abs(a - b) for (_, a), (_, b) in zip(one, two, strict=True)) < 5_000_000


def _kill_one(match: str, parent: int | None = None, timeout_s: float = 30.0) -> int:
    """SIGKILL the first process whose command line contains `match` (among `parent`'s
    descendants, when given), after letting it send a few requests."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        procs = (psutil.Process(parent).children(recursive=True) if parent is not None
                 else list(psutil.process_iter()))  # fmt: skip
        for p in procs:
            try:
                cmd = " ".join(p.cmdline())
            except psutil.Error:
                continue
            if match in cmd:
                time.sleep(2.0)  # let it send a few requests first
                os.kill(p.pid, signal.SIGKILL)
                return int(p.pid)
        time.sleep(0.1)
    raise AssertionError(f"no process matching {match!r} appeared")


SLOW = "ttft_ms=50;itl_ms=50;tokens=20"  # one second per request


@pytest.mark.parametrize("policy", ["abort", "continue"])
def test_a_killed_worker_gives_a_partial_envelope(
    scripted_server: ScriptedServer, tmp_path: Path, policy: str
) -> None:
    out = tmp_path / "out"
    proc = start_bench("run", "llm.inference.chatbot-short", "--base-url",
                       scripted_server.base_url, "--model", SLOW, "--sweep", "4", "--requests",
                       "24", "--workers", "2", "--on-worker-loss", policy,
                       "--output", str(out))  # fmt: skip
    try:
        _kill_one("multiprocessing.spawn", parent=proc.pid)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 4, err
    assert "worker" in err
    _check_partial(out, policy)


def _check_partial(out: Path, policy: str) -> None:
    [path] = envelope_paths(out)
    predicate = open_run(path).predicate
    assert isinstance(predicate, RunPredicate)
    assert predicate.status == "partial"
    assert not predicate.validity.valid
    so = predicate.scale_out
    assert so is not None
    assert so.on_worker_loss == policy
    [dead] = [w for w in so.workers if w.lost]
    assert dead.error
    recs = records(open_run(path))
    reported = {r.index for r in recs}
    assert so.lost_requests, "the dead worker's unfinished requests are listed"
    assert not reported & set(so.lost_requests)
    assert dead.records < dead.planned_requests
    # every measured request of the plan is either recorded or listed as lost
    measured_plan = predicate.parameters.load.requests
    measured_seen = sum(1 for r in recs if r.measured)
    if policy == "continue":
        assert measured_seen + len(so.lost_requests) == measured_plan
    else:
        assert measured_seen + len(so.lost_requests) <= measured_plan


def test_bad_scale_out_flags(tmp_path: Path) -> None:
    proc = bench("run", "llm.inference.chatbot-short", "--base-url", "http://127.0.0.1:9/v1",
                 "--workers", "0", "--output", str(tmp_path))  # fmt: skip
    assert proc.returncode == 2
    assert "--workers must be at least 1" in proc.stderr


requires_ray = pytest.mark.skipif(not installed("ray"), reason="ray not installed (make install)")


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-node Ray cluster on 127.0.0.1, torn down with its whole process group."""
    port = free_port()
    temp = tmp_path_factory.mktemp("ray")
    env = {**os.environ, **RAY_ENV}
    ray_cli = str(Path(sys.executable).with_name("ray"))
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", "--port", str(port), "--num-cpus", "4",
         "--node-ip-address", "127.0.0.1", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}", "--object-store-memory", "100000000"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            probe = subprocess.run([ray_cli, "status", "--address", address], env=env,
                                   capture_output=True, text=True, check=False)  # fmt: skip
            if probe.returncode == 0:
                break
            time.sleep(1)
        else:
            raise AssertionError("the Ray head did not come up within 60 s")
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


@requires_ray
def test_ray_actors_merge_into_one_envelope(
    scripted_server: ScriptedServer, ray_cluster: str, tmp_path: Path
) -> None:
    env = {**os.environ, **RAY_ENV}
    single = run_point(scripted_server, tmp_path / "one", "--sweep", "8")
    merged = run_point(scripted_server, tmp_path / "ray", "--sweep", "8", "--workers", "2",
                       "--ray", ray_cluster, env=env)  # fmt: skip
    assert_merged_like_single(single, merged, 2)
    assert merged.scale_out is not None
    assert merged.scale_out.runtime == "ray"
    assert bench("verify", str(tmp_path / "ray")).returncode == 0


@requires_ray
def test_a_killed_ray_actor_gives_a_partial_envelope(
    scripted_server: ScriptedServer, ray_cluster: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    env: dict[str, Any] = {**os.environ, **RAY_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenbench.cli.main", "run", "llm.inference.chatbot-short",
         "--base-url", scripted_server.base_url, "--model", SLOW, "--sweep", "4", "--requests",
         "24", "--workers", "2", "--ray", ray_cluster, "--on-worker-loss", "continue",
         "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        _kill_one("ray::LoadWorker")
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 4, err
    _check_partial(out, "continue")
