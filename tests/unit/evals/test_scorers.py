"""Every scorer on hand-made good, bad and malformed outputs."""

from __future__ import annotations

from typing import Any

import pytest

from tokenbench.errors import ConfigError
from tokenbench.evals.answers import choice_letter, fenced_code, hash_answer, last_number
from tokenbench.evals.choice import letter_logprobs
from tokenbench.evals.humaneval import program
from tokenbench.evals.ifeval import CHECKERS, follows, sentences
from tokenbench.evals.tasks import get_task


def test_gsm8k_strict_and_lenient() -> None:
    task = get_task("gsm8k")
    good = task.score("16 - 3 - 4 = 9 eggs, 9 * 2 = 18.\n#### 18", "18", None)
    assert good.correct == {"strict": True, "lenient": True}
    assert good.parsed == {"strict": "18", "lenient": "18"}
    lenient_only = task.score("She makes $18 every day.", "18", None)
    assert lenient_only.correct == {"strict": False, "lenient": True}
    assert lenient_only.parsed["strict"] is None
    commas = task.score("#### 1,234.", "1234", None)
    assert commas.correct["strict"]
    assert commas.correct["lenient"]
    wrong = task.score("#### 17", "18", None)
    assert wrong.correct == {"strict": False, "lenient": False}
    malformed = task.score("I cannot say.", "18", None)
    assert malformed.parsed == {"strict": None, "lenient": None}
    assert malformed.correct == {"strict": False, "lenient": False}


@pytest.mark.parametrize(
    ("output", "letter"),
    [
        ("B", "B"),
        ("(C) because", "C"),
        ("**D**", "D"),
        ("A) Paris", "A"),
        ("Let me think.\nThe answer is C.", "C"),
        ("Reasoning first.\nAnswer: (B)", "B"),
        ("Options A and B are wrong, so D", None),  # no bare-letter fallback
        ("I do not know", None),
        ("answer: e", None),  # not an option letter of this item
        ("", None),
        ("Answer: C", "C"),
        ("C.", "C"),
        ("B is correct.", "B"),
        ("The answer is **D** because the others fail.", "D"),
        ("The answer is A because it is the largest.", "A"),
        ("Is the answer A? Maybe.\nThe answer is C.", "C"),  # the last statement counts
        ("Let me check each option.\nD is too small, B too large.\n\n(C)", "C"),
    ],
)
def test_choice_letter_extraction_order(output: str, letter: str | None) -> None:
    assert choice_letter(output, "ABCD") == letter


@pytest.mark.parametrize(
    "output",
    [
        "I think so.",
        "A good answer is hard to find.",
        "I would pick the second one",
        "My answer: I think it depends.",
        "The answer is a tricky one. A careful reader sees it.",
        "Honestly, A man walked in and I left.",
        "I'm not sure. A\nlot depends on it.",
    ],
)
def test_a_and_i_used_as_words_are_never_answers(output: str) -> None:
    letters = "ABCDEFGHIJKLM"  # TruthfulQA: "I" is an option letter too
    assert choice_letter(output, letters) is None


def test_a_and_i_as_words_do_not_hide_the_stated_answer() -> None:
    assert choice_letter("I think the answer is B.", "ABCDEFGHI") == "B"
    assert choice_letter("A good answer is C.", "ABCD") == "C"
    assert choice_letter("The answer is I.", "ABCDEFGHI") == "I"


def test_choice_task_scores_letters() -> None:
    task = get_task("mmlu")
    assert task.score("B", "B", {"letters": "ABCD"}).correct == {"letter": True}
    bad = task.score("C", "B", {"letters": "ABCD"})
    assert bad.correct == {"letter": False}
    assert bad.parsed == {"letter": "C"}
    unparsed = task.score("no idea", "B", {"letters": "ABCD"})
    assert unparsed.parsed == {"letter": None}
    assert not unparsed.correct["letter"]
    beyond = task.score("F", "F", {"letters": "ABCDEF"})  # TruthfulQA has up to 13 options
    assert beyond.correct["letter"]


def test_answer_helpers() -> None:
    assert hash_answer("x\n#### -3.5") == "-3.5"
    assert last_number("1 then 2 then -7.") == "-7"
    assert last_number("none") is None
    text = "Here:\n```python\ndef f():\n    return 1\n```\nand ```js\nx\n```"
    assert fenced_code(text) == "def f():\n    return 1\n"
    assert fenced_code("```python\ndef g(): pass") == "def g(): pass"  # cut off at max_tokens
    assert fenced_code("no code") is None


def test_humaneval_program_full_definition_and_continuation() -> None:
    prompt = 'def add(a, b):\n    """Add."""\n'
    full, found = program(prompt, "```python\ndef add(a, b):\n    return a + b\n```", "add")
    assert found
    assert "return a + b" in full
    assert "check(" not in full  # the harness calls check() after the module has run
    cont, found = program(prompt, "    return a + b\n", "add")
    assert not found  # no fenced block: the raw output is used as the body
    assert cont.startswith(prompt + "    return a + b")


def test_humaneval_scores_in_the_sandbox() -> None:
    task = get_task("humaneval")
    meta = {
        "prompt": 'def add(a, b):\n    """Add."""\n',
        "test": "def check(f):\n    assert f(2, 3) == 5\n",
        "entry_point": "add",
    }
    good = task.score("```python\ndef add(a, b):\n    return a + b\n```", None, meta)
    assert good.correct == {"pass": True}
    assert good.detail
    assert good.detail["outcome"] == "passed"
    bad = task.score("```python\ndef add(a, b):\n    return a - b\n```", None, meta)
    assert bad.correct == {"pass": False}
    assert bad.detail
    assert "AssertionError" in bad.detail["stderr_tail"]
    broken = task.score("```python\ndef add(a, b) return\n```", None, meta)
    assert broken.correct == {"pass": False}
    assert broken.detail
    assert "SyntaxError" in broken.detail["stderr_tail"]


HUMANEVAL_ADD = {
    "prompt": 'import sys\n\n\ndef add(a, b):\n    """Add."""\n',
    "test": "def check(f):\n    assert f(2, 3) == 5\n",
    "entry_point": "add",
}


@pytest.mark.parametrize("code", ["0", "None", "1"])
def test_humaneval_exit_is_never_a_pass(code: str) -> None:
    task = get_task("humaneval")
    main_exit = ("```python\ndef add(a, b):\n    return a - b\n\n"
                 f"if __name__ == '__main__':\n    sys.exit({code})\n```")  # fmt: skip
    assert task.score(main_exit, None, HUMANEVAL_ADD).correct == {"pass": False}
    module_exit = f"```python\ndef add(a, b):\n    return a - b\n\nsys.exit({code})\n```"
    judged = task.score(module_exit, None, HUMANEVAL_ADD)
    assert judged.correct == {"pass": False}
    assert judged.detail
    assert "SystemExit" in judged.detail["stderr_tail"]
    in_check = f"```python\ndef add(a, b):\n    sys.exit({code})\n```"
    assert task.score(in_check, None, HUMANEVAL_ADD).correct == {"pass": False}


def test_humaneval_a_false_demo_block_does_not_fail_a_correct_function() -> None:
    task = get_task("humaneval")
    output = ("```python\ndef add(a, b):\n    return a + b\n\n"
              "if __name__ == '__main__':\n    assert add(2, 2) == 5, 'demo'\n```")  # fmt: skip
    judged = task.score(output, None, HUMANEVAL_ADD)
    assert judged.correct == {"pass": True}
    assert judged.detail
    assert judged.detail["outcome"] == "passed"


def test_humaneval_a_hard_exit_before_check_is_no_pass() -> None:
    task = get_task("humaneval")
    output = "```python\nimport os\n\ndef add(a, b):\n    return a - b\n\nos._exit(0)\n```"
    judged = task.score(output, None, HUMANEVAL_ADD)
    assert judged.correct == {"pass": False}
    assert judged.detail
    assert judged.detail["exit_code"] == 0  # exit code 0, but check() never ran


# (instruction, kwargs, a response that follows it, one that does not)
IFEVAL_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("punctuation:no_comma", {}, "No commas here.", "One, two."),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "*one* and *two*", "*one* only"),
    ("length_constraints:number_words", {"relation": "at least", "num_words": 3},
     "one two three", "one two"),
    ("length_constraints:number_words", {"relation": "less than", "num_words": 3},
     "one two", "one two three"),
    ("length_constraints:number_sentences", {"relation": "less than", "num_sentences": 3},
     "Dr. Smith came. He left.", "One. Two. Three."),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "a\n***\nb", "a\n***\n***\nb"),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "First part.\n\nThen, the second.", "First part.\n\nNext, the second."),
    ("detectable_content:number_placeholders", {"num_placeholders": 2},
     "Dear [name] at [address]", "Dear [name]"),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\nP.S. bye", "Hi. Bye."),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Hi.\nP.P.S bye", "Hi."),
    ("detectable_format:constrained_response", {}, "My answer is yes.", "Yes."),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', '{"a": 1'),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\nA\nSection 2\nB", "Section 1\nA"),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n* b", "* a\n* b\n- c"),
    ("detectable_format:title", {}, "<<My Title>>\ntext", "My Title\ntext"),
    ("change_case:capital_word_frequency", {"capital_relation": "at least",
                                            "capital_frequency": 2}, "THIS IS loud", "quiet"),
    ("change_case:english_capital", {}, "THIS IS AN ENGLISH SENTENCE.", "This is mixed."),
    ("change_case:english_lowercase", {}, "this is an english sentence.", "This is not."),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi"}, "say hi\nhi", "hi"),
    ("combination:two_responses", {}, "first\n******\nsecond", "first\n******\nfirst"),
    ("keywords:existence", {"keywords": ["apple", "pear"]}, "Apple and pear", "apple only"),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "good badge", "a bad day"),
    ("keywords:frequency", {"keyword": "cat", "frequency": 2, "relation": "at least"},
     "cat and Cat", "one cat"),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": "less than"},
     "a bus, a quiz", "buzz zz"),
    ("language:response_language", {"language": "de"},
     "Das ist ein kurzer deutscher Satz über das Wetter heute.",
     "This is a short English sentence about the weather today."),
    ("startend:end_checker", {"end_phrase": "Any other questions?"},
     "Done. Any other questions?", "Any other questions? Done."),
    ("startend:quotation", {}, '"wrapped"', "not wrapped"),
]  # fmt: skip


def test_every_ifeval_instruction_has_a_case() -> None:
    assert {c[0] for c in IFEVAL_CASES} == set(CHECKERS)


@pytest.mark.parametrize(("instruction", "kwargs", "good", "bad"), IFEVAL_CASES)
def test_ifeval_checkers(instruction: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    assert follows(good, instruction, kwargs, loose=False)
    assert not follows(bad, instruction, kwargs, loose=False)
    assert not follows("", instruction, kwargs, loose=True)  # an empty answer follows nothing


def test_ifeval_loose_accepts_a_preamble_and_markdown() -> None:
    text = "Sure, here it is:\nno commas at all"
    assert not follows(text, "punctuation:no_comma", {}, loose=False)
    assert follows(text, "punctuation:no_comma", {}, loose=True)
    task = get_task("ifeval")
    judged = task.score(
        text, None, {"instructions": ["punctuation:no_comma", "startend:quotation"],
                     "kwargs": [{}, {}]}
    )  # fmt: skip
    assert judged.correct == {"prompt_strict": False, "prompt_loose": False}
    assert judged.detail == {"strict": [False, False], "loose": [True, False]}


def test_sentences_keep_abbreviations() -> None:
    assert len(sentences("Mr. Smith met Dr. Jones. They talked! Did they agree?")) == 3


def test_ifeval_unknown_instruction_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no checker"):
        follows("x", "made:up", {}, loose=False)


@pytest.mark.parametrize(
    ("scorer", "answer", "good", "bad"),
    [
        ("exact", "Paris", "  paris ", "Paris, France"),
        ("contains", "Paris", "It is PARIS.", "It is Lyon."),
        ("regex", r"\b42\b", "the answer: 42", "420"),
        ("numeric", "3.5", "so x = 3.50", "so x = 3.6"),
        (
            "json-schema",
            {"type": "object", "required": ["a"]},
            '```json\n{"a": 1}\n```',
            '{"b": 1}',
        ),
    ],
)
def test_custom_scorers(scorer: str, answer: Any, good: str, bad: str) -> None:
    task = get_task("custom")
    assert task.score(good, answer, {"scorer": scorer}).correct == {"score": True}
    assert task.score(bad, answer, {"scorer": scorer}).correct == {"score": False}


def test_custom_malformed_outputs_are_unparsed() -> None:
    task = get_task("custom")
    assert task.score("no number", "3", {"scorer": "numeric"}).parsed == {"score": None}
    schema = {"type": "object"}
    assert task.score("{not json", schema, {"scorer": "json-schema"}).parsed == {"score": None}


def test_letter_logprobs_take_the_likeliest_option() -> None:
    chunks = [{"content": [{"token": "The", "top_logprobs": [
        {"token": "The", "logprob": -0.2}, {"token": " B", "logprob": -1.5},
        {"token": "(A", "logprob": -2.0}, {"token": "B.", "logprob": -1.0},
        {"token": "E", "logprob": -0.5}]}]}]  # fmt: skip
    found = letter_logprobs(chunks)
    assert found == {"B": -1.0, "A": -2.0, "E": -0.5}
    task = get_task("mmlu")
    judged = task.score_letter_logprobs(found, "B", {"letters": "ABCD"})  # E is not an option
    assert judged.correct == {"letter": True}
    assert task.score_letter_logprobs({}, "B", {"letters": "ABCD"}).parsed == {"letter": None}
    assert letter_logprobs([]) == {}
    with pytest.raises(NotImplementedError):
        get_task("gsm8k").score_letter_logprobs(found, "1", None)
