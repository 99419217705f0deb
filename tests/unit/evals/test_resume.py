"""Resuming an interrupted eval against the scripted model: only the unanswered items are asked,
and the one new envelope holds what an uninterrupted run would have; what cannot be resumed is
refused in one line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.envelopes import envelope_paths, open_run, sidecar
from tests.support.eval_runs import ITEMS, Progress, answers, eval_of, run, settings_for
from tokenbench.envelope import keys
from tokenbench.envelope.schema import CONFIG_SUFFIX, ITEMS_SUFFIX
from tokenbench.errors import ConfigError
from tokenbench.evals.load import Level
from tokenbench.evals.resume import ResumeOptions, resume_settings
from tokenbench.verification import verify_file

STOP_AFTER = 3


def interrupted(server: ScriptedServer, tmp: Path, level: Level) -> Path:
    """An eval stopped (as by Ctrl-C) after STOP_AFTER answers, sealed `interrupted`."""
    [path] = run(settings_for(server, tmp, tmp / "out", level), Progress(STOP_AFTER))
    return path


def requests_seen(server: ScriptedServer) -> int:
    return len(server.log_entries())


@pytest.mark.parametrize("level", [Level(1), Level(None, 50.0)], ids=["c1", "r50"])
def test_resume_asks_only_the_missing_items_and_matches_one_run(
    scripted_model: ScriptedServer, tmp_path: Path, level: Level
) -> None:
    old_path = interrupted(scripted_model, tmp_path, level)
    old, old_items = eval_of(old_path)
    assert old.status == "interrupted"
    kept = len(old_items)
    assert STOP_AFTER <= kept < ITEMS
    old_bytes = old_path.read_bytes()

    settings = resume_settings(old_path, keys.trusted_keys(), ResumeOptions())
    assert settings.levels == (level,)
    before = requests_seen(scripted_model)
    progress = Progress()
    [new_path] = run(settings, progress)
    assert requests_seen(scripted_model) - before == 1 + ITEMS - kept  # the probe, then the rest
    assert progress.started == [("custom", ITEMS - kept, level.label)]

    new, new_items = eval_of(new_path)
    assert new_path.parent == old_path.parent
    assert old_path.read_bytes() == old_bytes  # the old envelope is left as it was
    assert (new.status, new.resumed_from, new.eval_id) == ("complete", old.run_id, old.eval_id)
    assert new.run_id != old.run_id
    assert new.validity.valid
    assert any("resumed from" in w for w in new.validity.warnings)
    assert new.timing.started_at == old.timing.started_at
    assert new.timing.wall_anchor_us == old.timing.wall_anchor_us
    assert new.comparability == old.comparability
    assert (new.parameters.rate_rps, new.metrics.samples) == (level.rate_rps, ITEMS)
    kept_lines = sidecar(open_run(old_path), ITEMS_SUFFIX).read_bytes()
    assert sidecar(open_run(new_path), ITEMS_SUFFIX).read_bytes().startswith(kept_lines)
    resumed_times = [it.request.send_ns or 0 for it in new_items[kept:]]
    kept_end = max(it.request.end_ns or 0 for it in old_items)
    assert min(resumed_times) >= kept_end  # timed on from the kept answers, no overlap

    whole = run(settings_for(scripted_model, tmp_path, tmp_path / "whole", level))
    _, whole_items = eval_of(whole[0])
    assert answers(new_items) == answers(whole_items)
    assert [it.request.index for it in sorted(new_items, key=lambda it: it.request.index)] == list(
        range(ITEMS)
    )
    assert verify_file(new_path, keys.trusted_keys()).predicate.kind == "eval"


def test_a_resumed_eval_can_itself_be_resumed(
    scripted_model: ScriptedServer, tmp_path: Path
) -> None:
    first = interrupted(scripted_model, tmp_path, Level(1))
    settings = resume_settings(first, keys.trusted_keys(), ResumeOptions())
    [second] = run(settings, Progress(2))  # stopped again, two answers later
    middle, _ = eval_of(second)
    assert (middle.status, middle.resumed_from) == ("interrupted", eval_of(first)[0].run_id)
    [third] = run(resume_settings(second, keys.trusted_keys(), ResumeOptions()))
    last, items = eval_of(third)
    assert (last.status, last.resumed_from, last.metrics.samples) == ("complete", middle.run_id,
                                                                      ITEMS)  # fmt: skip
    assert sorted(it.item_id for it in items) == sorted(f"q{i}" for i in range(ITEMS))


def test_what_cannot_be_resumed_is_refused(scripted_model: ScriptedServer, tmp_path: Path) -> None:
    [complete] = run(settings_for(scripted_model, tmp_path, tmp_path / "done", Level(2)))
    with pytest.raises(ConfigError, match="is complete: every item was answered"):
        resume_settings(complete, keys.trusted_keys(), ResumeOptions())

    path = interrupted(scripted_model, tmp_path, Level(1))
    with pytest.raises(ConfigError, match="no trusted key"):
        resume_settings(path, [], ResumeOptions())

    config = sidecar(open_run(path), CONFIG_SUFFIX)
    config.write_bytes(config.read_bytes().replace(b'"exact"', b'"contains"'))
    with pytest.raises(ConfigError, match="does not match its digest"):
        resume_settings(path, keys.trusted_keys(), ResumeOptions())

    (tmp_path / "again").mkdir()
    path = interrupted(scripted_model, tmp_path / "again", Level(1))
    sidecar(open_run(path), ITEMS_SUFFIX).unlink()
    with pytest.raises(ConfigError, match="sidecar file is missing"):
        resume_settings(path, keys.trusted_keys(), ResumeOptions())


def test_changed_data_or_model_is_refused_before_any_answer(
    scripted_model: ScriptedServer, tmp_path: Path
) -> None:
    path = interrupted(scripted_model, tmp_path, Level(1))
    settings = resume_settings(path, keys.trusted_keys(), ResumeOptions())
    data = settings.data.root
    assert data is not None
    original = data.read_bytes()
    data.write_bytes(original + b'{"prompt": "one more", "answer": "x"}\n')
    before = requests_seen(scripted_model)
    with pytest.raises(ConfigError, match="data differs from what the envelope was asked with"):
        run(settings)
    data.write_bytes(original)
    other = replace(settings, target=replace(settings.target, model="another-model"))
    with pytest.raises(ConfigError, match="the envelope asked model 'scripted'"):
        run(other)
    assert requests_seen(scripted_model) == before  # refused before the probe
    assert envelope_paths(tmp_path / "out") == [path]
