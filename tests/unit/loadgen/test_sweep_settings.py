"""RunSettings, the checks every caller of a sweep gets: the workload flags that cannot go together
(--stages with a load, a length or a count of its own, or a trace; rate stages on a session
suite; sessions, traces, datasets and length distributions where they do not apply), each one
line naming the flag; and the stages themselves: one point per stage, named `s<index>-…`, and a
window after a gap that waits for its start."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tokenbench.envelope.schema import StageInfo
from tokenbench.errors import ConfigError
from tokenbench.loadgen import sweep
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.points import LoadPoint
from tokenbench.loadgen.stages import Stage, parse_stages, ramp_stages
from tokenbench.loadgen.sweep import RunSettings, _points, _stage_points, _wait_for_window
from tokenbench.suites.suite import load_suite

CHAT = "llm.inference.chatbot-short"
RATE_STAGES = parse_stages("2s@4rps,2s@8rps")
CONC_STAGES = parse_stages("2s@c1,2s@c2")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A trace, a prompts file and a dataset that exist (a refusal must not be a missing file)."""
    out = {"trace": tmp_path / "t.jsonl", "prompts": tmp_path / "p.jsonl",
           "dataset": tmp_path / "d.csv"}  # fmt: skip
    for path in out.values():
        path.write_text("x\n")
    return out


def _settings(suite: str, **kw: Any) -> RunSettings:
    return RunSettings(suite=load_suite(suite), output=Path("unused"), **kw)


# (suite, settings, the file flags they name, words of the refusal)
REFUSED: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    (CHAT, {"stages": RATE_STAGES, "rates": (2.0,)}, (), "--stages sets each stage's load"),
    (CHAT, {"stages": CONC_STAGES, "input_lengths": (64, 128)}, (), "drop --rate / --sweep-rate "
     "/ --input-lengths"),
    (CHAT, {"stages": CONC_STAGES, "duration_s": 10.0}, (), "--stages sets each stage's length; "
     "drop --duration"),
    (CHAT, {"stages": RATE_STAGES, "requests": 5}, (), "--stages bounds each stage by its "
     "length; drop --requests"),
    (CHAT, {"stages": CONC_STAGES}, ("trace",), "--trace sends at the trace's own times; drop "
     "--rate / --stages"),
    ("llm.inference.multi-turn", {"stages": RATE_STAGES}, (), "give --stages as concurrencies"),
    ("llm.inference.agentic", {"stages": ramp_stages("1rps:4rps@4s", 2)}, (),
     "the agentic workload is closed loop over sessions"),
    ("llm.inference.multi-turn", {"workers": 2}, (), "runs its sessions from one process; drop "
     "--workers / --ray"),
    ("llm.inference.multi-turn", {"rates": (2.0,)}, (), "(--concurrency counts sessions); drop "
     "--rate"),
    (CHAT, {"sessions": 2}, (), "--sessions sets a session workload's conversations"),
    ("llm.inference.replay", {}, (), "the llm.inference.replay suite replays a trace: add --trace"),
    ("llm.inference.multi-turn", {}, ("dataset",), "--dataset replaces the suite's prompts"),
    (CHAT, {}, ("dataset", "prompts"), "--dataset replaces the suite's prompts"),
    (CHAT, {"dataset": Path("no-such-dataset.csv")}, (), "--dataset no-such-dataset.csv is not "
     "a file"),
    (CHAT, {}, ("trace", "prompts"), "--trace replaces the suite's prompts"),
    ("llm.inference.multi-turn", {}, ("trace",), "--trace replaces the suite's prompts"),
    (CHAT, {"rates": (2.0,)}, ("trace",), "--trace sends at the trace's own times"),
    (CHAT, {"trace": Path("no-such-trace.jsonl")}, (), "--trace no-such-trace.jsonl is not a "
     "file"),
    ("llm.inference.multi-turn", {"requests": 4}, (), "use --sessions N instead of --requests"),
    ("llm.inference.single-prompt", {"output_len": "uniform(2,6)"}, (), "--output-len shapes "
     "generated prompts"),
    ("llm.inference.sharegpt", {"output_len": "uniform(2,6)"}, (), "--output-len shapes "
     "generated prompts"),
    (CHAT, {"output_len": "uniform(2,6)"}, ("prompts",), "--output-len shapes generated prompts"),
    (CHAT, {"output_len": "uniform(2,6)"}, ("dataset",), "--output-len shapes generated prompts"),
    ("llm.inference.replay", {"output_len": "uniform(2,6)"}, ("trace",), "--output-len shapes "
     "generated prompts"),
    (CHAT, {"input_len": "uniform(40,80)"}, ("trace",), "--input-len shapes generated prompts"),
    (CHAT, {"input_len": "uniform(40,80)"}, ("prompts",), "--input-len shapes generated prompts"),
    (CHAT, {"input_len": "uniform(40,80)"}, ("dataset",), "--input-len shapes generated prompts"),
]  # fmt: skip
FILE_FLAGS = {"trace": "trace", "prompts": "prompts_file", "dataset": "dataset"}


@pytest.mark.parametrize(
    ("suite", "kw", "given", "words"),
    REFUSED,
    ids=[f"{i}-{r[3][:30]}" for i, r in enumerate(REFUSED)],
)
def test_workload_flags_that_cannot_go_together_are_one_line(
    suite: str, kw: dict[str, Any], given: tuple[str, ...], words: str, files: dict[str, Path]
) -> None:
    kw = kw | {FILE_FLAGS[name]: files[name] for name in given}
    with pytest.raises(ConfigError) as refused:
        _settings(suite, **kw)
    message = str(refused.value)
    assert words in message
    assert "\n" not in message


def test_the_combinations_those_refusals_leave_alone_are_accepted(files: dict[str, Path]) -> None:
    """Each refused flag is fine on its own, and concurrency stages suit a session suite."""
    accepted: list[tuple[str, dict[str, Any]]] = [
        (CHAT, {"stages": RATE_STAGES}),
        (CHAT, {"stages": ramp_stages("c1:c4@4s", 4), "sweep": (8,)}),
        ("llm.inference.multi-turn", {"stages": CONC_STAGES, "sessions": 2}),
        ("llm.inference.replay", {"trace": files["trace"]}),
        (CHAT, {"dataset": files["dataset"], "output_len": None}),
        (CHAT, {"input_len": "uniform(40,80)", "output_len": "uniform(2,6)"}),
    ]
    for suite, kw in accepted:
        settings = _settings(suite, **kw)
        assert settings.suite.name == suite
        assert all(getattr(settings, k) == v for k, v in kw.items())


def _stage_load(settings: RunSettings) -> list[tuple[str, float | None, int, StageInfo]]:
    points = _stage_points(settings, "01SWEEPID")
    out = []
    for p in points:
        assert p.stage is not None
        out.append((p.name, p.rate_rps, p.concurrency, p.stage))
    return out


def test_rate_stages_are_open_loop_points_named_by_their_index() -> None:
    settings = _settings(CHAT, stages=RATE_STAGES, sweep=(16,))
    loads = _stage_load(settings)
    assert [(name, rate, conc) for name, rate, conc, _ in loads] == [
        ("s0-r4", 4.0, 16), ("s1-r8", 8.0, 16),  # the rate's cap on requests in flight: --sweep
    ]  # fmt: skip
    infos = [info for *_, info in loads]
    assert [(i.index, i.count, i.level, i.duration_s) for i in infos] == [
        (0, 2, "4 req/s", 2.0), (1, 2, "8 req/s", 2.0),
    ]  # fmt: skip
    assert {i.group for i in infos} == {"01SWEEPID"}
    source, slots, lengths = _points(settings, None, "01SWEEPID")
    assert (slots, lengths) == (16, None)  # the embedded server's slots: the cap
    assert [p.name for p in iter(source.next_point, None)] == ["s0-r4", "s1-r8"]


def test_a_ramp_is_stages_of_even_levels_named_by_their_index() -> None:
    settings = _settings(CHAT, stages=ramp_stages("c1:c3@3s", 3))
    assert [(name, rate, conc, info.level) for name, rate, conc, info in _stage_load(settings)] == [
        ("s0-c1", None, 1, "c1"), ("s1-c2", None, 2, "c2"), ("s2-c3", None, 3, "c3"),
    ]  # fmt: skip


# --- windows after a gap (`0-10s@c1,40-50s@c2`): the later stage waits for its start ---


def _window(index: int, start_s: float | None) -> LoadPoint:
    info = StageInfo(group="g", index=index, count=2, duration_s=10.0, level="c1")
    return LoadPoint(1, stage=info, start_s=start_s)


class _Clock:
    """The sweep's monotonic clock, set by the test; and its waits, recorded instead of slept."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def wait_for(self, waited: Any, seconds: float) -> None:
        self.waits.append(seconds)
        waited.close()  # the stop event's wait, never awaited here
        raise TimeoutError  # as the real one does when the time runs out


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock(1000.0)
    monkeypatch.setattr(sweep, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(sweep, "asyncio", SimpleNamespace(wait_for=fake.wait_for))
    return fake


def test_a_window_after_a_gap_waits_until_its_start_from_the_first_stages(clock: _Clock) -> None:
    control = RunControl()

    async def run() -> list[float | None]:
        first = await _wait_for_window(_window(0, 10.0), None, control)  # window 10–20 s
        clock.now += 15.0  # the first stage ran 15 s (it may end before its window does)
        second = await _wait_for_window(_window(1, 40.0), first, control)  # window 40–50 s
        return [first, second]

    first, second = asyncio.run(run())
    # the first window began 10 s into the run: the run's start is 10 s before now
    assert first == 1000.0 - 10.0
    assert second == first
    assert clock.waits == [40.0 - 10.0 - 15.0]  # until 40 s into the run, not 40 s from now


def test_a_window_already_due_and_a_back_to_back_stage_do_not_wait(clock: _Clock) -> None:
    control = RunControl()

    async def run() -> None:
        first = await _wait_for_window(_window(0, 0.0), None, control)
        clock.now += 60.0  # the first stage overran the second window's start
        assert await _wait_for_window(_window(1, 30.0), first, control) == first
        assert await _wait_for_window(_window(1, None), first, control) == first  # DURATION@…
        plain = LoadPoint(4)  # not a stage at all: the run's start is left as it was
        assert await _wait_for_window(plain, None, control) is None

    asyncio.run(run())
    assert clock.waits == []


def test_a_long_gap_is_waited_on_until_the_run_is_stopped() -> None:
    """On the real clock: an hour's gap keeps the next stage waiting; Ctrl-C ends the wait."""

    async def run() -> tuple[float | None, bool, float | None]:
        control = RunControl()
        first = await _wait_for_window(_window(0, 0.0), None, control)
        waiting = asyncio.create_task(_wait_for_window(_window(1, 3600.0), first, control))
        for _ in range(20):  # the loop runs everything else it has; the stage still waits
            await asyncio.sleep(0)
        still_waiting = not waiting.done()
        control.interrupt()
        return first, still_waiting, await waiting

    first, still_waiting, returned = asyncio.run(run())
    assert still_waiting
    assert first is not None
    assert returned == first


def test_stages_carry_their_window_start_into_the_points() -> None:
    settings = _settings(CHAT, stages=parse_stages("0-10s@c1,40-50s@c2"))
    points = _stage_points(settings, "g")
    assert [(p.start_s, p.duration_s) for p in points] == [(0.0, 10.0), (40.0, 10.0)]
    assert [p.name for p in points] == ["s0-c1", "s1-c2"]
    assert settings.stages is not None
    assert settings.stages[1] == Stage(10.0, concurrency=2, start_s=40.0)
