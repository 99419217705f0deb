"""compare(): pairs by every workload axis, verdicts only from repeated runs, Holm over the
family, no frontier for invalid runs, open loop counted from the schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.envelopes import minimal_statement
from tokenbench.compare.comparison import compare, parse_at
from tokenbench.corpus.loader import Corpus, LoadedRun
from tokenbench.corpus.matching import workload_key
from tokenbench.envelope.schema import PassthroughInfo, RunPredicate, TraceInfo
from tokenbench.errors import ConfigError
from tokenbench.metrics.stats import Distribution


def _dist(p50: float, count: int = 200) -> dict[str, Any]:
    return Distribution(count=count, mean=p50, p50=p50, p90=p50 * 1.2, p99=p50 * 1.5,
                        min=p50 / 2, max=p50 * 2, stdev=1.0).model_dump()  # fmt: skip


def _run(model: str, speed: float, *, concurrency: int = 4, input_tokens: int | None = None,
         valid: bool = True, requests: int = 200, rate: float | None = None,
         sched_ttft: float | None = None) -> LoadedRun:  # fmt: skip
    """A run whose figures all scale with `speed` (1 = the reference; 1.1 = 10% slower)."""
    body = minimal_statement()["predicate"]
    m = body["metrics"]
    m.update(requests_ok=requests, requests_measured=requests,
             output_throughput_tok_per_s=100.0 / speed, ttft_ms=_dist(50 * speed, requests),
             tpot_ms=_dist(10 * speed, requests), e2e_ms=_dist(400 * speed, requests))  # fmt: skip
    if sched_ttft is not None:
        m["ttft_from_schedule_ms"] = _dist(sched_ttft, requests)
    load = body["parameters"]["load"]
    load["concurrency"] = concurrency
    if rate is not None:
        load.update(mode="open_loop", rate_rps=rate, arrival="poisson")
    body["parameters"]["workload"]["input_tokens_target"] = input_tokens
    body["target"]["model"]["model_id"] = model
    if not valid:
        body["validity"] = {"valid": False, "reasons": ["error rate too high"]}
    return LoadedRun(Path(f"/x/{model}-{speed}.json"), RunPredicate.model_validate(body), "k")


def _metric(pair: Any, name: str) -> Any:
    return next(d for d in pair.metrics if d.metric.name == name)


def test_one_run_a_side_gives_the_difference_and_no_verdict() -> None:
    result = compare(Corpus(runs=[_run("a", 1.0), _run("b", 1.031)]))
    (pair,) = result.pairs
    d = _metric(pair, "throughput")
    assert not d.difference.significant
    assert d.verdict.startswith("1 run each: -3.0%, no verdict; use --repeat 3")
    assert result.family == 0


def test_repeated_runs_with_drift_give_no_verdict_for_identical_servers() -> None:
    rng = np.random.default_rng(3)
    runs = [_run(m, float(np.exp(rng.normal(0, 0.04)))) for m in ("a", "b") for _ in range(3)]
    result = compare(Corpus(runs=runs))
    (pair,) = result.pairs
    assert (pair.runs_a, pair.runs_b) == (3, 3)
    assert result.family == 5
    assert not any(d.difference.significant for d in pair.metrics), [
        d.verdict for d in pair.metrics
    ]
    assert all(d.verdict.startswith("no verdict") for d in pair.metrics)


def test_a_25_percent_slower_server_is_found_with_repeats() -> None:
    rng = np.random.default_rng(5)
    runs = [_run("a", float(np.exp(rng.normal(0, 0.03)))) for _ in range(3)]
    runs += [_run("b", 1.25 * float(np.exp(rng.normal(0, 0.03)))) for _ in range(3)]
    (pair,) = compare(Corpus(runs=runs)).pairs
    ttft = _metric(pair, "ttft")
    assert ttft.difference.significant
    assert ttft.verdict.startswith("b slower by ")
    assert ttft.difference.ci_low is not None
    assert ttft.difference.ci_low > 0.1
    assert "Holm" in ttft.verdict
    assert _metric(pair, "throughput").verdict.startswith("b lower by")


def test_context_sweep_points_are_paired_by_input_length() -> None:
    runs = []
    for n in (256, 1024, 4096):
        runs += [_run("a", n / 256 * s, concurrency=1, input_tokens=n) for s in (1.0, 1.01)]
        runs += [_run("b", n / 256 * s * 0.985, concurrency=1, input_tokens=n)
                 for s in (1.0, 1.01)]  # fmt: skip
    result = compare(Corpus(runs=runs))
    assert [p.input_tokens for p in result.pairs] == [256, 1024, 4096]
    for pair in result.pairs:
        assert pair.runs_a == pair.runs_b == 2
        assert "input tokens" in pair.point
        assert _metric(pair, "ttft").difference.relative == pytest.approx(-0.015, abs=1e-9)
    only = compare(Corpus(runs=runs), at=parse_at(["input_tokens=1024"]))
    assert [p.input_tokens for p in only.pairs] == [1024]
    assert len(only.rows) == 4


def test_p99_from_few_requests_is_flagged() -> None:
    runs = [_run(m, s, requests=16) for m in ("a", "b") for s in (1.0, 1.02)]
    (pair,) = compare(Corpus(runs=runs)).pairs
    assert _metric(pair, "ttft_p99").warnings
    assert "16 requests" in _metric(pair, "ttft_p99").warnings[0]
    assert not _metric(pair, "ttft").warnings


def test_invalid_runs_are_never_on_the_frontier() -> None:
    best_but_invalid = _run("b", 0.5, valid=False)
    result = compare(Corpus(runs=[_run("a", 1.0), best_but_invalid]))
    flags = {row.run.predicate.target.model.model_id: row.pareto for row in result.rows}
    assert flags == {"a": True, "b": False}


def test_open_loop_ttft_is_counted_from_the_scheduled_send() -> None:
    runs = [_run("a", 1.0, rate=2.0, sched_ttft=80.0), _run("a", 1.0, rate=2.0, sched_ttft=82.0),
            _run("b", 1.0, rate=2.0, sched_ttft=160.0),
            _run("b", 1.0, rate=2.0, sched_ttft=164.0)]  # fmt: skip
    (pair,) = compare(Corpus(runs=runs)).pairs
    ttft = _metric(pair, "ttft")
    assert ttft.difference.relative == pytest.approx(1.0, abs=0.03)
    assert pair.point == "2 req/s"


def test_parse_at_keys_and_errors() -> None:
    assert parse_at(["concurrency=16", "suite=x", "input_tokens=1024", "rate=2.5"]) == {
        "concurrency": "16", "suite": "x", "input_tokens": "1024", "rate": "2.5"}  # fmt: skip
    for bad in ("concurrency", "conc=1", "concurrency=x", "suite=", "input_tokens=many"):
        with pytest.raises(ConfigError):
            parse_at([bad])
    with pytest.raises(ConfigError, match="alpha"):
        compare(Corpus(runs=[_run("a", 1.0)]), alpha=1.5)


def test_runs_on_different_engine_versions_are_named_in_full() -> None:
    """Issue 15 (8): the engine part was cut to 16 characters ("llama.cpp 11434."), hiding the
    very difference that makes the runs incomparable; digests are still shortened."""
    a, b = _run("a", 1.0), _run("b", 1.0)
    engines = ("llama.cpp 11434.0.0", "llama.cpp 11434.0.1")
    runs = []
    for run, engine in zip((a, b), engines, strict=True):
        key = run.predicate.comparability.model_copy(
            update={"engine": engine, "hardware_fingerprint": "f" * 64}
        )
        runs.append(LoadedRun(run.path, run.predicate.model_copy(update={"comparability": key}),
                              "k"))  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        compare(Corpus(runs=runs))
    message = str(caught.value)
    assert "engine (llama.cpp 11434.0.0, llama.cpp 11434.0.1)" in message


def _cached(run: LoadedRun, disabled: bool) -> LoadedRun:
    suite = run.predicate.parameters.suite.model_copy(update={"prefix_cache_disabled": disabled})
    params = run.predicate.parameters.model_copy(update={"suite": suite})
    return LoadedRun(run.path, run.predicate.model_copy(update={"parameters": params}), "k")


def test_the_cache_pair_is_compared_by_cache_and_never_mixed_otherwise() -> None:
    """One model with the prefix cache allowed (faster) and defeated, three runs each."""
    allowed = [_cached(_run("m", 1.0 + i / 100), False) for i in range(3)]
    defeated = [_cached(_run("m", 2.0 + i / 100), True) for i in range(3)]
    by_cache = compare(Corpus(runs=allowed + defeated), by="cache")
    (pair,) = by_cache.pairs
    assert (pair.a, pair.b) == ("cache allowed", "cache defeated")
    assert (pair.runs_a, pair.runs_b) == (3, 3)
    assert _metric(pair, "ttft").difference.significant
    # compared by model, the two settings are different points, not repeats of one
    other = _cached(_run("n", 1.0), False)
    by_model = compare(Corpus(runs=[*allowed, *defeated, other]), by="model")
    (model_pair,) = by_model.pairs
    assert (model_pair.runs_a, model_pair.runs_b) == (3, 1)


def _sent(run: LoadedRun, extra: dict[str, Any] | None = None,
          trace_sha256: str | None = None) -> LoadedRun:  # fmt: skip
    """The run as if sent with this extra body, or replaying a trace of this digest."""
    params = run.predicate.parameters
    update: dict[str, Any] = {}
    if extra is not None:
        update["passthrough"] = PassthroughInfo(extra_body=extra)
    if trace_sha256 is not None:
        trace = TraceInfo(file_name="t.jsonl", sha256=trace_sha256, format="tokenbench",
                          requests=200, block_tokens=512, speedup=1.0, span_s=10.0)  # fmt: skip
        update["workload"] = params.workload.model_copy(update={"trace": trace})
    predicate = run.predicate.model_copy(update={"parameters": params.model_copy(update=update)})
    return LoadedRun(run.path, predicate, "k")


def test_other_workloads_are_never_paired_and_the_same_one_is() -> None:
    """Thinking on and off are two points, not repeats of one: each pairs a with b alone."""
    on, off = ({"chat_template_kwargs": {"enable_thinking": flag}} for flag in (True, False))
    runs = [_sent(_run(model, 1.0 + i / 100 + (model == "b") * 0.5 + (extra is off) * 3), extra)
            for model in ("a", "b") for extra in (on, off) for i in range(2)]  # fmt: skip
    result = compare(Corpus(runs=runs))
    assert sorted((p.runs_a, p.runs_b) for p in result.pairs) == [(2, 2), (2, 2)]
    for pair in result.pairs:  # b is slower at both; pooled, the points' gap would swamp it
        assert _metric(pair, "ttft").difference.significant
    labels = sorted(p.point for p in result.pairs)  # two pairs a reader can tell apart
    assert labels[0] != labels[1]
    assert all(label.startswith("concurrency 4, workload ") for label in labels)
    keys = {workload_key(r.predicate) for r in runs}
    assert len(keys) == 2
    shown = keys.pop()
    assert shown is not None
    assert len(compare(Corpus(runs=runs), at=parse_at([f"workload={shown}"])).pairs) == 1


def test_by_workload_compares_each_model_with_itself() -> None:
    """Thinking on against off, for two models: each model's own pair, never the pooled runs
    of both (the comparability key does not hold the model)."""
    off = {"chat_template_kwargs": {"enable_thinking": False}}
    runs = [_sent(_run(model, base + i / 100), extra)
            for model, slow in (("a", 1.0), ("b", 4.0))
            for extra, base in ((None, slow), (off, slow * 0.8))
            for i in range(3)]  # fmt: skip
    result = compare(Corpus(runs=runs), by="workload")
    assert len(result.pairs) == 2
    for pair in result.pairs:
        assert (pair.runs_a, pair.runs_b) == (3, 3)
        assert {pair.a, pair.b} == {"workload plain", f"workload {workload_key(runs[3].predicate)}"}
        ttft = _metric(pair, "ttft").difference
        assert ttft.significant  # 20% faster with thinking off, for each model
        assert ttft.relative == pytest.approx(-0.2 if pair.a == "workload plain" else 0.25,
                                              abs=0.01)  # fmt: skip
    points = sorted(p.point for p in result.pairs)
    assert points[0].startswith("a, ")
    assert points[1].startswith("b, ")


def test_by_cache_never_pools_two_models_runs() -> None:
    runs = [_cached(_run(model, speed * (2.0 if defeated else 1.0) + i / 100), defeated)
            for model, speed in (("a", 1.0), ("b", 3.0)) for defeated in (False, True)
            for i in range(3)]  # fmt: skip
    result = compare(Corpus(runs=runs), by="cache")
    assert sorted((p.runs_a, p.runs_b) for p in result.pairs) == [(3, 3), (3, 3)]
    for pair in result.pairs:  # each model twice as slow defeated; pooled, b's speed swamps it
        assert _metric(pair, "ttft").difference.relative == pytest.approx(1.0, abs=0.02)
    assert sorted(p.point.split(",")[0] for p in result.pairs) == ["a", "b"]
    one = compare(Corpus(runs=[r for r in runs if r.predicate.target.model.model_id == "a"]),
                  by="cache")  # fmt: skip
    assert one.pairs[0].point == "concurrency 4"  # one setup: no need to name it


def test_replays_of_two_traces_are_not_paired() -> None:
    runs = [
        _sent(_run("a", 1.0), trace_sha256="a" * 64),
        _sent(_run("b", 1.0), trace_sha256="b" * 64),
    ]
    result = compare(Corpus(runs=runs))
    assert result.pairs == []
    key_a, key_b = (workload_key(r.predicate) for r in runs)
    assert result.notes == [
        f"s: runs of a and b sent different work (workload {key_a} vs "
        f"{key_b}, differing in the trace): not paired; measure both with the same trace"
    ]
    same = [_sent(_run(m, 1.0), trace_sha256="a" * 64) for m in ("a", "b")]
    (pair,) = compare(Corpus(runs=same)).pairs
    assert pair.point == "concurrency 4"  # one workload: named by its load alone


THINKING_OFF = {"chat_template_kwargs": {"enable_thinking": False}}


def test_thinking_off_against_no_extra_body_is_not_paired_and_says_so() -> None:
    """Model a told not to think, b sent nothing extra: no pair, but a note naming both keys,
    what differs and what to do; --force compares unlike setups, never unlike points."""
    runs = [_sent(_run("a", 1.0), THINKING_OFF), _sent(_run("a", 1.01), THINKING_OFF),
            _run("b", 1.2), _run("b", 1.21)]  # fmt: skip
    key = workload_key(runs[0].predicate)
    for force in (False, True):
        result = compare(Corpus(runs=runs), force=force)
        assert result.pairs == []
        (note,) = result.notes
        assert note == (f"s: runs of a and b sent different work "
                        f"(workload {key} vs plain, differing in the extra body): not paired; "
                        "measure both with the same extra body")  # fmt: skip
    both = [*runs, _sent(_run("b", 1.2), THINKING_OFF)]  # b at a's workload too: a pair there
    result = compare(Corpus(runs=both))
    (pair,) = result.pairs
    assert pair.point == f"concurrency 4, workload {key}"
    assert result.notes == []


def test_the_plain_workload_is_selected_by_at_workload_plain() -> None:
    runs = [_sent(_run(m, 1.0 + i / 10), THINKING_OFF) for m in ("a", "b") for i in range(2)]
    runs += [_run(m, 2.0 + i / 10) for m in ("a", "b") for i in range(2)]
    key = workload_key(runs[0].predicate)
    points = sorted(p.point for p in compare(Corpus(runs=runs)).pairs)
    assert points == sorted(["concurrency 4, workload plain", f"concurrency 4, workload {key}"])
    (plain,) = compare(Corpus(runs=runs), at=parse_at(["workload=plain"])).pairs
    assert plain.point == "concurrency 4"  # the runs selected are of one workload
    assert (plain.runs_a, plain.runs_b) == (2, 2)
    assert _metric(plain, "throughput").difference.a == pytest.approx(100 / 2.05, rel=0.01)
    with pytest.raises(ConfigError, match="no run matches --at workload=None"):
        compare(Corpus(runs=runs), at=parse_at(["workload=None"]))


def test_labels_kept_apart_by_another_axis_or_by_several_are_noted() -> None:
    result = compare(Corpus(runs=[_run("a", 1.0, concurrency=4), _run("b", 1.0, concurrency=8)]))
    assert result.pairs == []
    assert result.notes == [
        "s: runs of a and b differ in concurrency "
        "alone (4 vs 8): not paired; measure both at the same concurrency"
    ]
    two_axes = [_run("a", 1.0, concurrency=4), _sent(_run("b", 1.0, concurrency=8), THINKING_OFF)]
    result = compare(Corpus(runs=two_axes))
    assert result.notes == ["s: runs of a, b share no workload point (they differ in two axes "
                            "or more) with another model's: not paired; `bench summary PATH` "
                            "lists each run's point"]  # fmt: skip
    by_load = compare(Corpus(runs=[_run("a", 1.0, concurrency=1), _run("b", 1.0)]), by="load")
    (note,) = by_load.notes  # levels of two models: never paired, whatever their points
    assert note.startswith("s: runs of concurrency 1, concurrency 4 share no setup (model, ")
    # a third model at no shared point: the pair of a and b stands, c is named
    three = [_run("a", 1.0), _run("b", 1.1), _sent(_run("c", 1.0, concurrency=8), THINKING_OFF)]
    result = compare(Corpus(runs=three))
    assert [(p.a, p.b) for p in result.pairs] == [("a", "b")]
    (note,) = result.notes
    assert note.startswith("s: runs of c share no workload point")
    # one label alone, or every label paired: nothing to say
    assert compare(Corpus(runs=[_run("a", 1.0), _run("a", 1.1, concurrency=8)])).notes == []
    assert compare(Corpus(runs=[_run("a", 1.0), _run("b", 1.1)])).notes == []
