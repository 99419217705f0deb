"""The eval runner at several load levels, against the scripted model: the same items at each
level, one envelope per level that pairs with the others, and the open loop's schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.envelopes import envelope_paths
from tests.support.eval_runs import ITEMS, Progress, answers, eval_of, run, settings_for
from tokenbench.envelope import keys
from tokenbench.errors import ConfigError
from tokenbench.evals.load import Level, ordered
from tokenbench.verification import verify_file


def test_levels_ask_the_same_items_into_envelopes_that_pair(
    scripted_model: ScriptedServer, tmp_path: Path
) -> None:
    progress = Progress()
    out = tmp_path / "out"
    paths = run(settings_for(scripted_model, tmp_path, out, Level(4), Level(1), Level(4)), progress)
    assert len(paths) == 2  # a level given twice runs once
    assert [level for _, _, level in progress.started] == ["concurrency 1", "concurrency 4"]
    assert "__eval-custom__c1__" in paths[0].name
    assert "__eval-custom__c4__" in paths[1].name
    (one, one_items), (four, four_items) = eval_of(paths[0]), eval_of(paths[1])
    assert (one.parameters.concurrency, four.parameters.concurrency) == (1, 4)
    assert one.parameters.rate_rps is None
    assert one.comparability.key == four.comparability.key
    assert one.eval_id == four.eval_id
    assert answers(one_items) == answers(four_items)
    assert [a[0] for a in answers(one_items)] == [f"q{i}" for i in range(ITEMS)]
    assert one.metrics.scores["score"].correct == four.metrics.scores["score"].correct == 4
    assert {it.request.slot for it in one_items} == {0}
    assert {it.request.slot for it in four_items} == {0, 1, 2, 3}
    for path in paths:
        assert verify_file(path, keys.trusted_keys()).predicate.kind == "eval"


def test_an_open_loop_level_sends_on_schedule_and_pairs_with_a_closed_one(
    scripted_model: ScriptedServer, tmp_path: Path
) -> None:
    rate = 20.0
    out = tmp_path / "out"
    closed, opened = run(settings_for(scripted_model, tmp_path, out, Level(None, rate), Level(2)))
    assert "__c2__" in closed.name
    assert "__r20__" in opened.name
    (c, c_items), (o, o_items) = eval_of(closed), eval_of(opened)
    assert o.parameters.rate_rps == rate
    assert 1 <= o.parameters.concurrency <= ITEMS  # the most that were in flight at once
    assert o.comparability.key == c.comparability.key  # the rate is no part of the key
    assert answers(o_items) == answers(c_items)
    by_index = sorted(o_items, key=lambda it: it.request.index)
    first = by_index[0].request.scheduled_ns
    for i, it in enumerate(by_index):
        assert it.request.scheduled_ns - first == round(i * 1e9 / rate)  # item i at i/R s
        assert it.request.send_ns is not None
        assert it.request.send_ns >= it.request.scheduled_ns  # never before its time
    assert verify_file(opened, keys.trusted_keys()).predicate.kind == "eval"


def test_levels_are_ordered_lowest_first_and_checked() -> None:
    assert ordered([Level(None, 8), Level(32), Level(None, 2), Level(1), Level(32)]) == (
        Level(1), Level(32), Level(None, 2), Level(None, 8)
    )  # fmt: skip
    assert (Level(4).tag, Level(None, 0.5).tag) == ("c4", "r0.5")
    assert Level.recorded(3, None) == Level(3)
    assert Level.recorded(3, 2.0) == Level(None, 2.0)
    bad: list[tuple[int | None, float | None]] = [(0, None), (None, 0), (2, 2.0), (None, None)]
    for concurrency, rate in bad:
        with pytest.raises(ConfigError):
            Level(concurrency, rate)


def test_a_stopped_run_seals_what_was_answered_at_its_level(
    scripted_model: ScriptedServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    paths = run(settings_for(scripted_model, tmp_path, out, Level(1), Level(4)), Progress(3))
    assert len(paths) == 1  # the second level never started
    predicate, items = eval_of(paths[0])
    assert predicate.status == "interrupted"
    assert len(items) == 3
    assert envelope_paths(out) == paths
