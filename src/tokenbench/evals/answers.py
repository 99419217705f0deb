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


def choice_letter(text: str, letters: str) -> str | None:
    """The chosen option letter: a first line that is just a letter ("B", "(B)", "B.", "**B**",
    "B) Paris"), then an "Answer: B" / "answer is B" statement, then the last standalone
    letter. Only letters of this item's options count."""
    cls = f"[{re.escape(letters)}]"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    m = re.match(rf"^[\s(*\[]*({cls})(?:[).\]:*]+|$)", first)
    if m:
        return m.group(1)
    m = re.search(rf"(?i:answer)(?:\s+(?i:is))?\s*:?\s*[(*\[]*({cls})(?![A-Za-z0-9])", text)
    if m:
        return m.group(1)
    found = re.findall(rf"(?<![A-Za-z0-9])({cls})(?![A-Za-z0-9])", text)
    return found[-1] if found else None


def fenced_code(text: str, prefer: tuple[str, ...] = ("python", "py", "")) -> str | None:
    """The first fenced block whose language is one of `prefer` (in that order of preference);
    an unclosed block at the end of a cut-off output counts."""
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    for lang in prefer:
        for block_lang, body in blocks:
            if block_lang == lang:
                return body
    return blocks[0][1] if blocks else None
