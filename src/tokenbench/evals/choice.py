"""Multiple-choice tasks asked as text: MMLU (per subject), ARC-Challenge, ARC-Easy and
TruthfulQA MC1. The model is told to answer with the option's letter; no logprobs needed."""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

import orjson

from tokenbench.errors import ConfigError
from tokenbench.evals.answers import choice_letter
from tokenbench.evals.data import DataFile, DataSource, HubSpec
from tokenbench.evals.task import EvalItem, Judgement, Task, TaskData, TaskOptions, limited

LETTERS = "ABCDEFGHIJKLMNOP"


def choice_prompt(question: str, options: list[str], topic: str | None = None) -> str:
    about = f" about {topic}" if topic else ""
    lines = [
        f"The following is a multiple choice question{about}. Answer with the letter of the "
        "correct option only.",
        "",
        question.strip(),
        *(f"{LETTERS[i]}. {opt.strip()}" for i, opt in enumerate(options)),
        "",
        "Answer:",
    ]
    return "\n".join(lines)


def choice_item(
    item_id: str, question: str, options: list[str], answer: int, subject: str | None = None
) -> EvalItem:
    if not 2 <= len(options) <= len(LETTERS) or not 0 <= answer < len(options):
        raise ConfigError(f"item {item_id}: needs 2-16 options and an answer among them")
    topic = subject.replace("_", " ") if subject else None
    return EvalItem(
        item_id=item_id,
        messages=[{"role": "user", "content": choice_prompt(question, options, topic)}],
        expected=LETTERS[answer],
        subject=subject,
        meta={"letters": LETTERS[: len(options)]},
    )


class ChoiceTask(Task):
    variants = ("letter",)
    primary = "letter"
    max_tokens = 32
    methods = ("generate", "letter-logprobs")

    def score(self, output: str, expected: Any, meta: dict[str, Any] | None) -> Judgement:
        letters = (meta or {}).get("letters", "ABCD")
        got = choice_letter(output, letters)
        return Judgement(parsed={"letter": got}, correct={"letter": got == expected})

    def score_letter_logprobs(
        self, letter_logprobs: dict[str, float], expected: Any, meta: dict[str, Any] | None
    ) -> Judgement:
        """The option letter most likely as the first answer token; none among the returned
        alternatives → unparsed."""
        letters = (meta or {}).get("letters", "ABCD")
        options = {k: v for k, v in letter_logprobs.items() if k in letters}
        got = max(options, key=lambda k: options[k]) if options else None
        return Judgement(parsed={"letter": got}, correct={"letter": got == expected})


def letter_logprobs(chunks: list[Any]) -> dict[str, float]:
    """Per capital letter, the highest log-probability among the first generated token's
    alternatives (OpenAI chat `logprobs.content[0].top_logprobs`); " B", "(B" and "B." count."""
    out: dict[str, float] = {}
    for chunk in chunks:
        content = chunk.get("content") if isinstance(chunk, dict) else None
        if not content or not isinstance(content, list) or not isinstance(content[0], dict):
            continue
        for alt in content[0].get("top_logprobs") or []:
            token = str(alt.get("token", "")).strip().strip("(*.)")
            logprob = alt.get("logprob")
            if len(token) == 1 and token.isupper() and isinstance(logprob, int | float):
                out[token] = max(float(logprob), out.get(token, float("-inf")))
        break  # only the first token
    return out


class Mmlu(ChoiceTask):
    """57 subjects; --limit applies per subject, so a limited run still covers every subject."""

    name = "mmlu"
    version = "2"  # 2: no bare-letter fallback; "A"/"I" as words are no answer
    hub_spec = HubSpec("cais/mmlu", "all", "test")

    def load(self, source: DataSource, options: TaskOptions) -> TaskData:
        folder = source.local(["mmlu/test"])
        items: list[EvalItem] = []
        available = 0
        if folder is not None and folder.is_dir():
            files = sorted(folder.glob("*_test.csv"))
            if not files:
                raise ConfigError(f"{folder}: no <subject>_test.csv files")
            data = [DataFile.of(f, "local") for f in files]
            for f in files:
                subject = f.name.removesuffix("_test.csv")
                subject_items = [
                    choice_item(f"{subject}/{n}", q, opts, ans, subject)
                    for n, (q, opts, ans) in enumerate(_mmlu_csv(f))
                ]
                available += len(subject_items)
                items.extend(limited(subject_items, options.limit))
            return TaskData(items, data, available)
        rows, file = source.hub(self.hub_spec, self.name)
        by_subject: dict[str, list[EvalItem]] = {}
        for n, row in enumerate(rows):
            subject = str(row["subject"])
            by_subject.setdefault(subject, []).append(
                choice_item(
                    f"{subject}/{n}", row["question"], row["choices"], row["answer"], subject
                )
            )
        for subject in sorted(by_subject):
            available += len(by_subject[subject])
            items.extend(limited(by_subject[subject], options.limit))
        return TaskData(items, [file], available)


def _mmlu_csv(path: Path) -> list[tuple[str, list[str], int]]:
    """The cais/mmlu export (header question,choice0..3,answer as 0-3) or the original headerless
    layout (question, four options, answer letter)."""
    out = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for n, row in enumerate(csv.reader(f)):
            if n == 0 and row and row[0] == "question":
                continue
            if len(row) != 6:
                raise ConfigError(f"{path}:{n + 1}: expected 6 columns, got {len(row)}")
            answer = row[5].strip()
            index = int(answer) if answer.isdigit() else LETTERS.find(answer.upper())
            if not 0 <= index < 4:
                raise ConfigError(f"{path}:{n + 1}: answer {answer!r} is not 0-3 or A-D")
            out.append((row[0], row[1:5], index))
    return out


class Arc(ChoiceTask):
    version = "2"
    folder: str
    hub_config: str

    def load(self, source: DataSource, options: TaskOptions) -> TaskData:
        stem = self.hub_config
        rows, file = source.jsonl_rows(
            [f"arc/{stem}-Test.jsonl", f"arc/{stem}/{stem}-Test.jsonl", f"{stem}-Test.jsonl"],
            HubSpec("allenai/ai2_arc", stem, "test"),
            self.name,
        )
        items = [_arc_item(row, n, file.path) for n, row in enumerate(rows)]
        return TaskData(limited(items, options.limit), [file], len(items))


def _arc_item(row: dict[str, Any], n: int, path: Path) -> EvalItem:
    """ARC's release JSONL ({question: {stem, choices: [{label, text}]}, answerKey}) or the hub
    layout ({question: str, choices: {label: [...], text: [...]}, answerKey}). Labels may be
    1-4 instead of A-D; they are shown as letters."""
    q = row.get("question")
    try:
        if isinstance(q, dict):
            stem = q["stem"]
            labels = [str(c["label"]) for c in q["choices"]]
            texts = [str(c["text"]) for c in q["choices"]]
        else:
            stem = str(q)
            labels = [str(x) for x in row["choices"]["label"]]
            texts = [str(x) for x in row["choices"]["text"]]
        answer = labels.index(str(row["answerKey"]))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{path}: row {n + 1} is not an ARC question with an answerKey") from None
    return choice_item(str(row.get("id", n)), stem, texts, answer)


class ArcChallenge(Arc):
    name = "arc-challenge"
    hub_config = "ARC-Challenge"


class ArcEasy(Arc):
    name = "arc-easy"
    hub_config = "ARC-Easy"


class TruthfulQaMc1(ChoiceTask):
    """The correct option is first in the source data, so options are shuffled (seeded per
    item) before they are lettered."""

    name = "truthfulqa-mc1"
    version = "2"
    hub_spec = HubSpec("truthfulqa/truthful_qa", "multiple_choice", "validation")

    def load(self, source: DataSource, options: TaskOptions) -> TaskData:
        path = source.local(["truthfulqa/v0/mc_task.json", "truthfulqa/mc_task.json"])
        if path is not None:
            file = DataFile.of(path, "local")
            try:
                rows = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError as exc:
                raise ConfigError(f"{path}: not valid JSON ({exc})") from None
            pairs = [(r["question"], list(r["mc1_targets"].items())) for r in rows]
        else:
            rows, file = source.hub(self.hub_spec, self.name)
            pairs = [
                (
                    r["question"],
                    list(zip(r["mc1_targets"]["choices"], r["mc1_targets"]["labels"], strict=True)),
                )
                for r in rows
            ]
        items = []
        for n, (question, targets) in enumerate(pairs):
            shuffled = list(targets)
            random.Random(f"{options.seed}:truthfulqa:{n}").shuffle(shuffled)
            answer = next(i for i, (_, label) in enumerate(shuffled) if label == 1)
            items.append(choice_item(str(n), question, [t for t, _ in shuffled], answer))
        return TaskData(limited(items, options.limit), [file], len(items))
