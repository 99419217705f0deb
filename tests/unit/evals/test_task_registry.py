"""Eval tasks by name: built-ins registered explicitly, plugins through entry points."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pytest

from tokenbench.errors import ConfigError
from tokenbench.evals import tasks
from tokenbench.evals.data import DataSource
from tokenbench.evals.task import Judgement, Task, TaskData, TaskOptions
from tokenbench.registry import Registry


class Echo(Task):
    name = "echo"
    version = "1"
    variants = ("exact",)
    primary = "exact"
    max_tokens = 8

    def load(self, source: DataSource, options: TaskOptions) -> TaskData:
        return TaskData([], [], 0)

    def score(self, output: str, expected: Any, meta: dict[str, Any] | None) -> Judgement:
        return Judgement(parsed={"exact": output}, correct={"exact": output == expected})


class OtherGsm8k(Echo):
    name = "gsm8k"


def _plugins(monkeypatch: pytest.MonkeyPatch, *entries: tuple[str, str]) -> Registry[type[Task]]:
    """A task registry as a fresh process would see it with these entry points installed."""
    found = metadata.EntryPoints(
        metadata.EntryPoint(name, value, tasks.ENTRY_POINT_GROUP) for name, value in entries
    )

    def entry_points(**select: str) -> metadata.EntryPoints:
        assert select == {"group": tasks.ENTRY_POINT_GROUP}
        return found

    monkeypatch.setattr(tasks.metadata, "entry_points", entry_points)
    return tasks._registry()


def test_builtin_tasks_are_registered_under_their_names() -> None:
    assert tasks.task_names() == sorted(cls.name for cls in tasks.BUILTIN)
    assert {"gsm8k", "mmlu", "ifeval", "humaneval", "custom"} <= set(tasks.task_names())
    assert tasks.get_task("gsm8k").name == "gsm8k"


def test_unknown_task_suggests_close_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown task 'gsm8'; did you mean 'gsm8k'\?"):
        tasks.get_task("gsm8")


def test_entry_point_adds_a_task(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = _plugins(monkeypatch, ("echo", f"{__name__}:Echo"))
    assert registry.get("echo") is Echo
    assert "gsm8k" in registry


def test_entry_point_must_name_a_task_class(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = _plugins(monkeypatch, ("echo", f"{__name__}:_plugins"))
    with pytest.raises(ConfigError, match=r"not a subclass of tokenbench\.evals\.task\.Task"):
        registry.get("echo")


def test_entry_point_name_must_match_the_class(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = _plugins(monkeypatch, ("echo2", f"{__name__}:Echo"))
    assert "echo2" not in registry.names()
    with pytest.raises(ConfigError, match="must set name = 'echo2'"):
        registry.get("echo2")


def test_entry_point_may_not_replace_a_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = _plugins(monkeypatch, ("gsm8k", f"{__name__}:OtherGsm8k"))
    assert registry.get("gsm8k").__name__ == "Gsm8k"  # the built-in stays
    with pytest.raises(ConfigError, match=r"'gsm8k' .* takes the name of a task already"):
        registry.get("other")


def test_broken_plugin_fails_with_its_name_and_leaves_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = _plugins(
        monkeypatch, ("broken", "no_such_module_xyz:Task"), ("echo", f"{__name__}:Echo")
    )
    # listing (bench eval --help) and the working tasks are not taken down by the broken one
    assert {"gsm8k", "echo"} <= set(registry.names())
    assert registry.get("echo") is Echo
    with pytest.raises(
        ConfigError,
        match=r"unknown task 'broken', and eval task plugin 'broken' \(no_such_module_xyz:Task\) "
        "failed to load",
    ):
        registry.get("broken")
