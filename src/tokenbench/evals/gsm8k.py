"""GSM8K: grade-school maths, zero-shot chain of thought ending in `#### <number>`."""

from __future__ import annotations

from typing import Any

from tokenbench.errors import ConfigError
from tokenbench.evals.answers import hash_answer, last_number, same_number
from tokenbench.evals.data import DataSource, HubSpec
from tokenbench.evals.task import EvalItem, Judgement, Task, TaskData, TaskOptions, limited

PROMPT = (
    "Solve the following math problem step by step. At the end, write the final answer on its "
    "own line as '#### <number>'.\n\n{question}"
)


class Gsm8k(Task):
    name = "gsm8k"
    version = "1"
    variants = ("strict", "lenient")
    primary = "strict"
    max_tokens = 512
    hub_spec = HubSpec("openai/gsm8k", "main", "test")

    def load(self, source: DataSource, options: TaskOptions) -> TaskData:
        rows, file = source.jsonl_rows(["gsm8k/test.jsonl"], self.hub_spec, self.name)
        items = []
        for n, row in enumerate(rows):
            if not isinstance(row.get("question"), str) or not isinstance(row.get("answer"), str):
                raise ConfigError(f"{file.path}: row {n + 1} needs 'question' and 'answer' strings")
            expected = hash_answer(row["answer"])
            if expected is None:
                raise ConfigError(f"{file.path}: row {n + 1}'s answer has no '#### <number>'")
            items.append(
                EvalItem(
                    item_id=str(n),
                    messages=[{"role": "user", "content": PROMPT.format(question=row["question"])}],
                    expected=expected.replace(",", ""),
                )
            )
        return TaskData(limited(items, options.limit), [file], len(items))

    def score(self, output: str, expected: Any, meta: dict[str, Any] | None) -> Judgement:
        strict = hash_answer(output)
        lenient = last_number(output)
        return Judgement(
            parsed={"strict": strict, "lenient": lenient},
            correct={
                "strict": same_number(strict, str(expected)),
                "lenient": same_number(lenient, str(expected)),
            },
        )
