"""The eval tasks by name: the built-in ones, registered here explicitly, and any that installed
distributions offer under the entry-point group `tokenbench.eval_tasks`."""

from __future__ import annotations

from importlib import metadata

from tokenbench.errors import ConfigError
from tokenbench.evals import choice, custom, gsm8k, humaneval, ifeval
from tokenbench.evals.task import Task
from tokenbench.registry import Registry

ENTRY_POINT_GROUP = "tokenbench.eval_tasks"

BUILTIN: tuple[type[Task], ...] = (
    gsm8k.Gsm8k,
    choice.Mmlu,
    choice.ArcChallenge,
    choice.ArcEasy,
    choice.TruthfulQaMc1,
    humaneval.HumanEval,
    ifeval.IfEval,
    custom.Custom,
)


def _discover(registry: Registry[type[Task]]) -> None:
    """Register the tasks of installed plugins (`name = "package.module:TaskClass"` entries);
    one that cannot be used is left out, and all such are named in one ConfigError after the
    others registered."""
    problems = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            registry.register(ep.name, _plugin_task(ep, registry))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))


def _plugin_task(ep: metadata.EntryPoint, registry: Registry[type[Task]]) -> type[Task]:
    where = f"eval task plugin {ep.name!r} ({ep.value})"
    if ep.name in registry:
        raise ConfigError(f"{where} takes the name of a task already registered; rename it")
    try:
        cls = ep.load()
    except Exception as exc:  # any import failure of third-party code is the plugin's
        raise ConfigError(f"{where} failed to load: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise ConfigError(f"{where} is not a subclass of tokenbench.evals.task.Task")
    # The class name is what envelopes record and verification looks up again.
    if getattr(cls, "name", None) != ep.name:
        raise ConfigError(f"{where} must set name = {ep.name!r} on its class")
    return cls


def _registry() -> Registry[type[Task]]:
    registry: Registry[type[Task]] = Registry("task", discover=_discover)
    for cls in BUILTIN:
        registry.register(cls.name, cls)
    return registry


TASKS = _registry()


def get_task(name: str) -> Task:
    """A fresh instance of the task registered as `name`; ConfigError with close names if none."""
    return TASKS.get(name)()


def task_names() -> list[str]:
    return sorted(TASKS)
