"""A prompt as the load generator sends it: text (or chat messages) and its own length cap."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str  # the prompt, or for chat messages their canonical JSON
    prompt_id: str  # sha256 prefix: lets records name the prompt without storing it
    content_tokens: int | None  # tokens of `text` alone, per the server's tokenizer (None: unknown)
    messages: tuple[dict[str, Any], ...] | None = None  # a whole conversation (chat API only)
    max_tokens: int | None = None  # this prompt's output cap; None: the suite's


def prompt_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def messages_prompt(messages: list[dict[str, Any]], max_tokens: int | None) -> Prompt:
    text = orjson.dumps(messages, option=orjson.OPT_SORT_KEYS).decode()
    return Prompt(text, prompt_id(text), None, tuple(messages), max_tokens)
