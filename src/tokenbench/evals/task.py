"""A quality task: where its data comes from, how an item becomes a chat prompt, and how an
output is scored. Scorers are pure functions of the output and the stored item, so a verifier
can score an envelope's outputs again. The registry of tasks by name is `evals.tasks`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tokenbench.evals.data import DataFile, DataSource


@dataclass(frozen=True, slots=True)
class EvalItem:
    item_id: str
    messages: list[dict[str, str]]  # the chat request sent
    expected: Any  # json-serialisable reference
    subject: str | None = None
    meta: dict[str, Any] | None = None  # what the scorer needs besides `expected`


@dataclass(frozen=True, slots=True)
class Judgement:
    parsed: dict[str, str | None]  # per variant: the extracted answer; None = unparsed
    correct: dict[str, bool]  # per variant
    detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TaskData:
    items: list[EvalItem]
    files: list[DataFile]
    available: int  # items in the data before --limit
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TaskOptions:
    limit: int | None = None
    seed: int = 0
    scorer: str | None = None  # custom: the scorer for lines that do not name one


class Task(ABC):
    name: ClassVar[str]  # registry name, recorded in every envelope of the task
    version: ClassVar[str]  # changes whenever the prompt or the scoring changes
    variants: ClassVar[tuple[str, ...]]  # score variants, all reported
    primary: ClassVar[str]  # the variant headline figures use
    max_tokens: ClassVar[int]  # default generation budget
    executes_code: ClassVar[bool] = False
    # "generate": score the generated text; "letter-logprobs": the option letter with the highest
    # log-probability among the first generated token's alternatives (choice tasks only)
    methods: ClassVar[tuple[str, ...]] = ("generate",)
    # instruction-level scores (IFEval): Accuracy over detail lists, per variant
    instruction_details: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def load(self, source: DataSource, options: TaskOptions) -> TaskData: ...

    @abstractmethod
    def score(self, output: str, expected: Any, meta: dict[str, Any] | None) -> Judgement: ...

    def score_letter_logprobs(
        self, letter_logprobs: dict[str, float], expected: Any, meta: dict[str, Any] | None
    ) -> Judgement:
        raise NotImplementedError(f"{self.name} is scored from generated text only")


def limited(items: list[EvalItem], limit: int | None) -> list[EvalItem]:
    return items if limit is None else items[:limit]
