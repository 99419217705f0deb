"""Evals run in-process against the scripted model: a custom task of numbered questions, a
progress that can stop the run after k answers, and the items as an item-by-item pairing
reads them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.conftest import ScriptedServer
from tests.support.envelopes import open_run, sidecar
from tokenbench.envelope.schema import ITEMS_SUFFIX, EvalPredicate
from tokenbench.evals.data import DataSource
from tokenbench.evals.load import Level
from tokenbench.evals.runner import EvalSettings, run_eval
from tokenbench.loadgen.control import RunControl
from tokenbench.records import ItemRecord, read_items
from tokenbench.session.target import TargetSpec

ITEMS = 8


class Progress:
    """Records what the runner reports; `stop_after` stops the run (as Ctrl-C does) once that
    many answers are in."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.started: list[tuple[str, int, str]] = []
        self.done = 0
        self.stop_after = stop_after
        self.control: RunControl | None = None

    def phase(self, message: str) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def task_started(self, task: str, total: int, level: str) -> None:
        self.started.append((task, total, level))

    def item_done(self, item: ItemRecord) -> None:
        self.done += 1
        if self.control is not None and self.done == self.stop_after:
            self.control.interrupt()

    def task_finished(self, path: Path, predicate: EvalPredicate) -> None:
        pass


def answer_table(tmp: Path, n: int = ITEMS) -> Path:
    """The scripted model: right on the even questions, a different wrong answer on each odd."""
    table = {"*": [[f"Question number {i}?", f"a{i}" if i % 2 == 0 else f"wrong {i} answer"]
                   for i in range(n)]}  # fmt: skip
    path = tmp / "answers.json"
    path.write_text(json.dumps(table))
    return path


def custom_data(tmp: Path, n: int = ITEMS) -> Path:
    data = tmp / "mine.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Question number {i}?", "answer": f"a{i}",
                                        "id": f"q{i}"}) + "\n" for i in range(n)))  # fmt: skip
    return data


def settings_for(server: ScriptedServer, tmp: Path, out: Path, *levels: Level) -> EvalSettings:
    """The custom task over `custom_data(tmp)` at `levels`, written to `out`."""
    return EvalSettings(
        tasks=("custom",), output=out,
        target=TargetSpec("scripted", server.base_url, None, None, None, out),
        data=DataSource(custom_data(tmp)), levels=levels, scorer="exact",
    )  # fmt: skip


def run(settings: EvalSettings, progress: Progress | None = None) -> list[Path]:
    progress = progress or Progress()

    async def main() -> list[Path]:
        control = RunControl()
        progress.control = control
        return await run_eval(settings, progress, control)

    return asyncio.run(main())


def eval_of(path: Path) -> tuple[EvalPredicate, list[ItemRecord]]:
    opened = open_run(path)
    assert isinstance(opened.predicate, EvalPredicate)
    return opened.predicate, read_items(sidecar(opened, ITEMS_SUFFIX).read_bytes())


def answers(items: list[ItemRecord]) -> list[tuple[str, int, object, str | None]]:
    """What an item-by-item comparison pairs, in plan order: id, sample, expected, output."""
    in_order = sorted(items, key=lambda it: it.request.index)
    return [(it.item_id, it.sample, it.expected, it.output) for it in in_order]
