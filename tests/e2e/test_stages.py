"""Load shapes through the CLI against the scripted server: `--stages` of rates (open loop, one
envelope per stage, each labelled with its level, index and group) and `--ramp` as even steps;
every stage's files are named `…__s<index>-<level>__…`. Stages are a second or two each."""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run, records
from tokenbench.envelope.schema import LoadInfo, RunPredicate, StageInfo
from tokenbench.envelope.verify import Opened

CHAT = "llm.inference.chatbot-short"
FAST = "ttft_ms=5;itl_ms=1;tokens=4"


def _run(server: ScriptedServer, out: Path, *args: str) -> list[tuple[Path, Opened]]:
    proc = bench("run", CHAT, "--base-url", server.base_url, "--model", FAST, "--arrival",
                 "constant", "--output", str(out), *args)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    verified = bench("verify", str(out))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return [(p, open_run(p)) for p in envelope_paths(out)]


def _stage(opened: Opened) -> tuple[LoadInfo, StageInfo]:
    assert isinstance(opened.predicate, RunPredicate)
    load = opened.predicate.parameters.load
    assert load.stage is not None
    return load, load.stage


def _by_stage(runs: list[tuple[Path, Opened]]) -> list[tuple[Path, Opened]]:
    return sorted(runs, key=lambda run: _stage(run[1])[1].index)


def test_rate_stages_are_open_loop_envelopes_of_their_own(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    runs = _by_stage(_run(scripted_server, tmp_path, "--stages", "2s@4rps,2s@8rps",
                          "--warmup", "1"))  # fmt: skip
    assert len(runs) == 2
    groups = set()
    for (path, opened), (index, rate) in zip(runs, [(0, 4.0), (1, 8.0)], strict=True):
        load, stage = _stage(opened)
        assert (stage.index, stage.count, stage.duration_s) == (index, 2, 2.0)
        assert stage.level == f"{rate:g} req/s"
        groups.add(stage.group)
        assert load.mode == "open_loop"
        assert load.rate_rps == rate
        assert load.arrival == "constant"
        assert load.duration_limit_s == stage.duration_s  # each stage is bounded by its length
        assert load.bounded_by == "duration"
        assert load.offered_rate_rps == pytest.approx(rate)
        assert f"__s{index}-r{rate:g}__" in path.name  # the stage's index and level name it
        # open loop: sent on the schedule, 1/rate apart, all within the stage's length
        sched = sorted(r.scheduled_ns for r in records(opened) if r.measured)
        assert len(sched) >= 2
        gaps = [b - a for a, b in itertools.pairwise(sched)]
        assert statistics.median(gaps) == pytest.approx(1e9 / rate, rel=0.01)
        assert sched[-1] - sched[0] < stage.duration_s * 1e9
        # the sidecars of a stage carry its name too
        assert {p.name.split("__")[2] for p in tmp_path.glob(path.stem + ".*")} == {
            f"s{index}-r{rate:g}"
        }
    assert len(groups) == 1  # one run's stages share their group
    first, second = (_stage(opened)[0] for _, opened in runs)
    assert (first.warmup_requests, second.warmup_requests) == (1, 0)  # the first warmed it up
    summary = bench("summary", str(tmp_path))
    assert summary.returncode == 0, summary.stderr
    assert "stage 1/2: 4/s" in summary.stdout
    assert "stage 2/2: 8/s" in summary.stdout


def test_a_ramp_runs_its_steps_as_stages(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    runs = _by_stage(_run(scripted_server, tmp_path, "--ramp", "2rps:6rps@3s", "--ramp-steps",
                          "3", "--warmup", "0"))  # fmt: skip
    stages = [_stage(opened) for _, opened in runs]
    assert [(load.rate_rps, stage.level) for load, stage in stages] == [
        (2.0, "2 req/s"), (4.0, "4 req/s"), (6.0, "6 req/s"),
    ]  # fmt: skip
    assert [stage.index for _, stage in stages] == [0, 1, 2]
    assert {(stage.count, stage.duration_s) for _, stage in stages} == {(3, 1.0)}
    assert len({stage.group for _, stage in stages}) == 1
    assert [path.name.split("__")[2] for path, _ in runs] == ["s0-r2", "s1-r4", "s2-r6"]
    assert all(load.mode == "open_loop" for load, _ in stages)
