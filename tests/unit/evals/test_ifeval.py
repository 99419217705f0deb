"""IFEval parity: our checkers give the verdict google-research's reference implementation gives
(instruction_following_eval/instructions.py), on responses where they once differed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tokenbench.evals.ifeval import follows, word_tokens

PARITY = [
    orjson.loads(line)
    for line in (Path(__file__).parent / "ifeval_parity.jsonl").read_bytes().splitlines()
    if line.strip()
]


@pytest.mark.parametrize("case", PARITY, ids=lambda c: f"{c['instruction']}:{c['why'][:40]}")
def test_checkers_give_the_reference_verdict(case: dict[str, Any]) -> None:
    got = follows(case["response"], case["instruction"], case["kwargs"], loose=False)
    assert got is case["reference"], case["why"]


def test_the_parity_fixture_covers_both_verdicts_of_each_fixed_checker() -> None:
    verdicts: dict[str, set[bool]] = {}
    for case in PARITY:
        verdicts.setdefault(case["instruction"], set()).add(case["reference"])
    fixed = ("length_constraints:nth_paragraph_first_word", "startend:end_checker",
             "combination:two_responses", "change_case:capital_word_frequency",
             "length_constraints:number_sentences")  # fmt: skip
    assert all(verdicts[name] == {True, False} for name in fixed)


def test_word_tokens_split_as_word_tokenize_does() -> None:
    assert word_tokens("WELL-KNOWN AI/ML") == ["WELL-KNOWN", "AI/ML"]
    assert word_tokens("I DON'T, (SAY) 1,000") == ["I", "DO", "N'T", "SAY", "1,000"]
