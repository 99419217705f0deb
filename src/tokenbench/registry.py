"""A registry: named items of one kind (tasks, scorers, metrics, renderers …), filled at import,
looked up with a "did you mean" error for unknown names. Bottom layer: imports only errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from tokenbench.errors import ConfigError, unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    """Names → items, in registration order. A name registers once: a second item under the
    same name is refused, so a plugin cannot silently replace a built-in.

    `discover`, when given, runs once before the first lookup and may register more items
    (entry points of installed distributions): deferred so that importing a registry's module
    costs no metadata scan. If it raises ConfigError (a broken plugin), what did register stays
    usable and listable; the error is told when a name is not found, since it may be the
    plugin's.
    """

    def __init__(self, kind: str, discover: Callable[[Registry[T]], None] | None = None) -> None:
        self.kind = kind  # the word in error messages: "task", "scorer", "metric" …
        self._items: dict[str, T] = {}
        self._discover = discover
        self._discover_error: ConfigError | None = None

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ConfigError(f"{self.kind} {name!r} is registered twice; rename one of them")
        self._items[name] = item
        return item

    def add(self, name: str) -> Callable[[T], T]:
        """Decorator form of `register`: `@REGISTRY.add("name")` over a function or class."""

        def decorate(item: T) -> T:
            return self.register(name, item)

        return decorate

    def get(self, name: str) -> T:
        """The item registered as `name`; ConfigError listing close names when there is none."""
        items = self._loaded()
        if name in items:
            return items[name]
        if self._discover_error is not None:
            raise ConfigError(f"unknown {self.kind} {name!r}, and {self._discover_error}")
        raise unknown_name(self.kind, name, items)

    def names(self) -> list[str]:
        return list(self._loaded())

    def items(self) -> list[tuple[str, T]]:
        return list(self._loaded().items())

    def values(self) -> list[T]:
        return list(self._loaded().values())

    def __contains__(self, name: object) -> bool:
        return name in self._loaded()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._loaded())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._items)!r})"

    def _loaded(self) -> dict[str, T]:
        if self._discover is not None:
            discover, self._discover = self._discover, None  # once, even if it fails
            try:
                discover(self)
            except ConfigError as exc:
                self._discover_error = exc
        return self._items
