"""The generic registry: lookup with close names, order, duplicates, deferred discovery."""

from __future__ import annotations

import pytest

from tokenbench.errors import ConfigError
from tokenbench.registry import Registry


def _colours() -> Registry[int]:
    registry: Registry[int] = Registry("colour")
    registry.register("red", 1)
    registry.register("green", 2)
    registry.register("blue", 3)
    return registry


def test_lookup_order_and_membership() -> None:
    registry = _colours()
    assert registry.get("green") == 2
    assert registry.names() == ["red", "green", "blue"]  # registration order
    assert list(registry) == ["red", "green", "blue"]
    assert registry.items() == [("red", 1), ("green", 2), ("blue", 3)]
    assert registry.values() == [1, 2, 3]
    assert "blue" in registry
    assert "mauve" not in registry
    assert len(registry) == 3


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown colour 'gren'; did you mean 'green'"):
        _colours().get("gren")


def test_unknown_name_lists_all_when_none_is_close() -> None:
    with pytest.raises(ConfigError, match="unknown colour 'zzz'; known: blue, green, red"):
        _colours().get("zzz")


def test_duplicate_name_is_refused() -> None:
    registry = _colours()
    with pytest.raises(ConfigError, match="colour 'red' is registered twice"):
        registry.register("red", 9)
    assert registry.get("red") == 1


def test_decorator_registers_and_returns_the_item() -> None:
    registry: Registry[type[object]] = Registry("class")

    @registry.add("thing")
    class Thing:
        pass

    assert registry.get("thing") is Thing


def test_discovery_runs_once_before_the_first_lookup() -> None:
    calls: list[int] = []

    def discover(registry: Registry[int]) -> None:
        calls.append(1)
        registry.register("plugin", 7)

    registry: Registry[int] = Registry("number", discover=discover)
    registry.register("builtin", 1)
    assert calls == []  # registering is not a lookup
    assert registry.names() == ["builtin", "plugin"]
    assert registry.get("plugin") == 7
    assert "plugin" in registry
    assert calls == [1]


def test_a_failed_discovery_keeps_what_registered_and_is_told_on_a_miss() -> None:
    def discover(registry: Registry[int]) -> None:
        registry.register("good", 1)
        raise ConfigError("plugin 'bad' failed to load")

    registry: Registry[int] = Registry("number", discover=discover)
    assert registry.names() == ["good"]
    assert registry.get("good") == 1
    with pytest.raises(ConfigError, match="unknown number 'bad', and plugin 'bad' failed to load"):
        registry.get("bad")
