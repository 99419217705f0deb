"""Pulling answers out of free text: numbers, option letters, fenced code and JSON."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_STRICT_GSM = re.compile(r"####\s*(-?\$?[\d,]*\.?\d+)")
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def to_decimal(text: str) -> Decimal | None:
    """A number as written in an answer ("$1,200.50", "-3", "7.") → Decimal; None if not one."""
    cleaned = text.strip().replace(",", "").replace("$", "").rstrip(".")
    if not cleaned:
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def last_number(text: str) -> str | None:
    matches = _NUMBER.findall(text)
    return matches[-1] if matches else None


def hash_answer(text: str) -> str | None:
    """The number after the first `#### ` marker (GSM8K's answer format)."""
    m = _STRICT_GSM.search(text)
    return m.group(1) if m else None


def same_number(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    x, y = to_decimal(a), to_decimal(b)
    return x is not None and y is not None and x == y


# After "A" or "I" a lowercase word makes it English ("A good answer", "I think"), except these,
# which follow an option letter ("A is right", "A because").
_AFTER_OPTION = frozenset(
    {"is", "because", "since", "as", "and", "or", "was", "would", "seems", "appears", "fits",
     "matches", "best"}
)  # fmt: skip
_CUE = (r"(?i:\b(?:answer|correct\s+(?:option|choice)))(?:\s+(?i:is|would\s+be|will\s+be))?"
        r"\s*[:=]?\s*(?:(?i:option|choice|letter)\s+)?[(*\[]*")  # fmt: skip


def choice_letter(text: str, letters: str) -> str | None:
    """The chosen option letter: a first line that starts with the letter and punctuation or
    "is" ("B", "(B)", "B.", "**B**", "B) Paris", "B is correct"), else the last "Answer: B" /
    "the answer is B" statement, else the last line that is the letter alone. A lone capital
    elsewhere is never taken: "A" and "I" are words too. Only this item's letters count."""
    cls = f"[{re.escape(letters)}]"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    m = re.match(rf"^[(*\[]*({cls})(?:[).\]:*]+|$|\s+is\b)", first)
    if m:
        return m.group(1)
    stated = [
        m.group(1)
        for m in re.finditer(_CUE + rf"({cls})(?![A-Za-z0-9'’])", text)
        if not _word_use(m.group(1), text[m.end() :])
    ]
    if stated:
        return stated[-1]
    alone = [m.group(1) for line in lines if (m := re.fullmatch(rf"[(*\[]*({cls})[).\]*]*", line))]
    return alone[-1] if alone else None


def _word_use(letter: str, after: str) -> bool:
    """Whether "A" or "I" is the article or the pronoun here, judged by the word after it."""
    if letter not in "AI":
        return False
    m = re.match(r"\s+([a-z]\w*)", after)
    return m is not None and (letter == "I" or m.group(1) not in _AFTER_OPTION)


def fenced_code(text: str, prefer: tuple[str, ...] = ("python", "py", "")) -> str | None:
    """The first fenced block whose language is one of `prefer` (in that order of preference);
    an unclosed block at the end of a cut-off output counts."""
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    for lang in prefer:
        for block_lang, body in blocks:
            if block_lang == lang:
                return body
    return blocks[0][1] if blocks else None
