"""Renderers by (format, view): a view is a pydantic model a command outputs, a format module
registers one renderer per view it supports, and `--report` offers what is registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

from pydantic import BaseModel
from rich.console import Console

from tokenbench.errors import unknown_name
from tokenbench.registry import Registry

V = TypeVar("V", bound=BaseModel)

# `--report` lists formats in this order (the first is the default); others follow by name.
FORMAT_ORDER = ("table", "json", "csv", "md", "html")


@dataclass(frozen=True, slots=True)
class Output:
    """Where a command's output goes: tables print on `console`; documents (JSON, CSV …) are
    written to `stream` as UTF-8 bytes, exactly as rendered, whatever the locale. `wide`:
    tables show full labels (hardware) instead of short ones."""

    console: Console
    stream: BinaryIO
    wide: bool = False

    def write(self, text: str) -> None:
        self.console.file.flush()  # anything printed before stays before
        self.stream.write(text.encode("utf-8"))
        self.stream.flush()


Renderer = Callable[[V, Output], None]


@dataclass(frozen=True, slots=True)
class _Entry:
    format: str
    view: type[BaseModel]
    render: Callable[[Any, Output], None]


def _key(format: str, view: type[BaseModel]) -> str:
    return f"{format}:{view.__module__}.{view.__qualname__}"


RENDERERS: Registry[_Entry] = Registry("renderer")


def renderer(format: str, view: type[V]) -> Callable[[Renderer[V]], Renderer[V]]:
    """Register the decorated function as the `format` renderer of `view` and its subclasses
    (register on `BaseModel` to render every view)."""

    def register(fn: Renderer[V]) -> Renderer[V]:
        RENDERERS.register(_key(format, view), _Entry(format, view, fn))
        return fn

    return register


def _for(view: type[BaseModel]) -> dict[str, _Entry]:
    """Per format, the renderer of the nearest class in the view's MRO."""
    found: dict[str, _Entry] = {}
    for cls in reversed(view.__mro__):
        for entry in RENDERERS.values():
            if entry.view is cls:
                found[entry.format] = entry
    return found


def formats_for(view: type[BaseModel]) -> list[str]:
    found = _for(view)
    order = {name: n for n, name in enumerate(FORMAT_ORDER)}
    return sorted(found, key=lambda f: (order.get(f, len(order)), f))


def render(view: BaseModel, format: str, out: Output) -> None:
    entries = _for(type(view))
    if format not in entries:
        raise unknown_name(f"format for {type(view).__name__}", format, entries)
    entries[format].render(view, out)
