"""Your own data: JSONL lines {"prompt" | "messages", "answer", optional "scorer", "id",
"subject"}, scored by exact, contains, regex, numeric or json-schema."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from tokenbench.errors import ConfigError
from tokenbench.evals.answers import fenced_code, last_number, to_decimal
from tokenbench.evals.data import DataFile, DataSource, read_jsonl
from tokenbench.evals.task import EvalItem, Judgement, Task, TaskData, TaskOptions, limited
from tokenbench.registry import Registry

# scorer(output, answer) -> (parsed answer or None when unparsed, correct)
Scorer = Callable[[str, Any], tuple[str | None, bool]]
SCORERS: Registry[Scorer] = Registry("scorer")
scorer = SCORERS.add


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


@scorer("exact")
def _exact(output: str, answer: Any) -> tuple[str | None, bool]:
    """Equal after trimming, collapsing whitespace and case-folding."""
    got = output.strip()
    return got, _normal(got) == _normal(str(answer))


@scorer("contains")
def _contains(output: str, answer: Any) -> tuple[str | None, bool]:
    """The answer appears in the output (whitespace- and case-insensitive)."""
    return output.strip(), _normal(str(answer)) in _normal(output)


@scorer("regex")
def _regex(output: str, answer: Any) -> tuple[str | None, bool]:
    """The answer is a Python regular expression searched for in the output."""
    m = re.search(str(answer), output)
    return (m.group(0) if m else None), m is not None


@scorer("numeric")
def _numeric(output: str, answer: Any) -> tuple[str | None, bool]:
    """The output's last number equals the answer (relative tolerance 1e-6)."""
    got = last_number(output)
    if got is None:
        return None, False
    x, y = to_decimal(got), to_decimal(str(answer))
    if x is None or y is None:
        return got, False
    return got, abs(x - y) <= Decimal("1e-6") * max(abs(y), Decimal(1))


@scorer("json-schema")
def _json_schema(output: str, answer: Any) -> tuple[str | None, bool]:
    """The output (or its first ```json block) is JSON valid against the answer, a schema."""
    import jsonschema

    text = fenced_code(output, ("json", "")) or output
    try:
        value = orjson.loads(text.strip())
    except orjson.JSONDecodeError:
        return None, False
    try:
        jsonschema.validate(value, answer)
    except jsonschema.ValidationError:
        return text.strip(), False
    return text.strip(), True


class Custom(Task):
    name = "custom"
    version = "1"
    variants = ("score",)
    primary = "score"
    max_tokens = 256

    def load(self, source: DataSource, options: TaskOptions) -> TaskData:
        if source.root is None or not source.root.is_file():
            raise ConfigError("the custom task needs --data FILE.jsonl with prompt/answer lines")
        path = source.root
        default = options.scorer or "exact"
        SCORERS.get(default)  # an unknown default fails here, with close names
        items = []
        for n, row in enumerate(read_jsonl(path)):
            where = f"{path}:{n + 1}"
            if "answer" not in row:
                raise ConfigError(f'{where}: needs an "answer"')
            if isinstance(row.get("messages"), list):
                messages = row["messages"]
                if not all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in messages):
                    raise ConfigError(f'{where}: each message needs "role" and "content"')
            elif isinstance(row.get("prompt"), str):
                messages = [{"role": "user", "content": row["prompt"]}]
            else:
                raise ConfigError(f'{where}: needs "prompt" (a string) or "messages" (a list)')
            name = row.get("scorer", default)
            SCORERS.get(str(name))
            if name == "json-schema":
                _check_schema(row["answer"], where)
            if name == "regex":
                try:
                    re.compile(str(row["answer"]))
                except re.error as exc:
                    raise ConfigError(f"{where}: answer is not a valid regex ({exc})") from None
            items.append(
                EvalItem(
                    item_id=str(row.get("id", n)),
                    messages=messages,
                    expected=row["answer"],
                    subject=row.get("subject"),
                    meta={"scorer": name},
                )
            )
        if not items:
            raise ConfigError(f"{path}: no items")
        return TaskData(limited(items, options.limit), [DataFile.of(path, "local")], len(items))

    def score(self, output: str, expected: Any, meta: dict[str, Any] | None) -> Judgement:
        name = (meta or {}).get("scorer", "exact")
        parsed, ok = SCORERS.get(name)(output, expected)
        return Judgement(parsed={"score": parsed}, correct={"score": ok})


def _check_schema(schema: Any, where: str) -> None:
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"{where}: answer is not a valid JSON Schema ({exc.message})") from None
