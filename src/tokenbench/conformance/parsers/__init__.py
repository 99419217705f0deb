"""Result-file parsers, one module per load generator, registered by tool name in `PARSERS`.

A parser turns the tool's own result file into `Figures`; `pattern` finds that file in the
output directory when the tool chose its name itself (AIPerf's artifact directory)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenbench.conformance.figures import Figures, ResultUnreadable
from tokenbench.registry import Registry


@dataclass(frozen=True)
class ResultParser:
    tool: str  # the name --tool takes
    pattern: str  # glob (recursive) for its result file under the output directory
    parse: Callable[[Path], Figures]
    source: str  # where its field names come from, for the docs and --help


PARSERS: Registry[ResultParser] = Registry("load generator")


def load_json(path: Path, tool: str) -> Any:
    """The file's JSON; ResultUnreadable naming the file when it is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultUnreadable(f"cannot read {tool}'s result file {path}: {exc}") from None


def number(obj: Any, path: str, tool: str, *, required: bool = True) -> float | None:
    """The number at a dotted `path` in `obj` (None when absent and not `required`)."""
    here = obj
    for key in path.split("."):
        if not isinstance(here, dict) or here.get(key) is None:
            if required:
                raise ResultUnreadable(f"{tool}'s result file has no {path!r}")
            return None
        here = here[key]
    if isinstance(here, bool) or not isinstance(here, int | float):
        raise ResultUnreadable(f"{tool}'s result file: {path!r} is not a number ({here!r})")
    return float(here)


def _register_builtins() -> None:
    from tokenbench.conformance.parsers import aiperf, guidellm, vllm

    for module in (guidellm, vllm, aiperf):
        PARSERS.register(module.PARSER.tool, module.PARSER)


_register_builtins()
