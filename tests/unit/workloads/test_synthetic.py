"""Synthetic prompts of exact length without one tokenizer round trip per prompt: the word
table is read once, prompts are assembled locally, and a sample is checked."""

from __future__ import annotations

import asyncio

from tokenbench.workloads.synthetic import synthetic_prompts, word_table

TARGET = 128
COUNT = 2000


class Words:
    """A whitespace tokenizer that counts its calls (the scripted server's tokenizer)."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, text: str) -> int | None:
        self.calls += 1
        return len(text.split())


class Merging(Words):
    """A tokenizer whose counts are not sums of words' (merges across spaces)."""

    async def __call__(self, text: str) -> int | None:
        self.calls += 1
        return max(1, len(text) // 6)


def test_prompts_are_assembled_from_the_word_table_with_few_round_trips() -> None:
    counter = Words()

    async def build() -> list[int | None]:
        table = await word_table(counter)
        assert table is not None
        before = counter.calls
        prompts = await synthetic_prompts(COUNT, TARGET, "ns", counter, table)
        assert counter.calls - before < COUNT // 10  # a sample, not one call a prompt
        return [p.content_tokens for p in prompts] + [await counter(p.text) for p in prompts]

    assert set(asyncio.run(build())) == {TARGET}


def test_points_get_different_prompts_and_a_namespace_the_same() -> None:
    counter = Words()

    async def build(namespace: str) -> list[str]:
        table = await word_table(counter)
        return [p.prompt_id for p in await synthetic_prompts(50, TARGET, namespace, counter, table)]

    a, again, b = asyncio.run(build("a")), asyncio.run(build("a")), asyncio.run(build("b"))
    assert a == again
    assert not set(a) & set(b)
    assert len(set(a)) == len(a)


def test_a_tokenizer_that_merges_across_words_falls_back_to_fitting_each_prompt() -> None:
    counter = Merging()

    async def build() -> tuple[list[int | None], list[int | None]]:
        table = await word_table(counter)
        assert table is not None
        prompts = await synthetic_prompts(20, TARGET, "ns", counter, table)
        return [p.content_tokens for p in prompts], [await counter(p.text) for p in prompts]

    stated, recounted = asyncio.run(build())
    assert stated == recounted  # every count is the server's own, not the table's guess
