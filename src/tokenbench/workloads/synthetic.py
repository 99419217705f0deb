"""Synthetic prompts of an exact input token count, built against the server's own tokenizer.

Each prompt is seeded random English words, so prompts differ from their first token (no prefix
cache hits between requests). Lengths are fixed up with `/tokenize` where the server has it; the
chat template's overhead is measured with one calibration request and subtracted.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson

from tokenbench.engines.http import ConnectFailed, HttpClient
from tokenbench.engines.profile import Tokenizer
from tokenbench.engines.profiles import KNOWN_TOKENIZERS
from tokenbench.errors import ServerLost
from tokenbench.workloads.prompt import Prompt, prompt_id

# Common English words, most of them one token in any BPE vocabulary.
_WORDS = tuple(
    """
the of and to in is that it for was on are as with his they at be this from have or by one
had not but what all were when we there can an your which their said if do will each about
how up out them then she many some so these would other into has more her two like him see
time could no make than first been its who now people my made over did down only way find
use may water long little very after words called just where most know get through back much
go good new write our me man too any day same right look think also around another came come
work three word must because does part even place well such here take why help put different
away again off went old number great tell men say small every found still between name
should home big give air line set own under read last never us left end along while might
next sound below saw something thought both few those always show large often together asked
house world going want school important until form food keep children feet land side without
boy once animal life enough took four head above kind began almost live page got earth need
far hand high year mother light country father let night picture being study second soon
story since white ever paper hard near sentence better best across during today however sure
knew try told young sun thing whole hear example heard several change answer room sea
against top turned learn point city play toward five himself usually money seen car morning
table river
""".split()  # noqa: SIM905 - a word list reads better as prose
)

TokenCounter = Callable[[str], Awaitable[int | None]]
TOKENIZE_TIMEOUT_S = 30.0  # the longest a /tokenize request waits (a shorter --timeout bounds it)


def server_tokenizer(
    client: HttpClient,
    model: str | None,
    tokenizers: Sequence[Tokenizer] = KNOWN_TOKENIZERS,
    timeout_s: float = TOKENIZE_TIMEOUT_S,
) -> TokenCounter:
    """Count tokens with the server's tokenize endpoint, trying each engine profile's shape in
    turn (by default every known engine's: the server may be any); None if it has none. A
    request waits at most `timeout_s` (and never longer than TOKENIZE_TIMEOUT_S)."""
    timeout_s = min(timeout_s, TOKENIZE_TIMEOUT_S)
    state: dict[str, bool] = {"available": bool(tokenizers)}

    async def count(text: str) -> int | None:
        if not state["available"]:
            return None
        for tokenizer in tokenizers:
            payload = tokenizer.body(text, model)
            try:
                resp = await client.request(
                    "POST", tokenizer.path, payload, timeout_s=timeout_s, slot=-1
                )
            except ConnectFailed as exc:  # the server is gone: not a server without /tokenize
                raise ServerLost(f"the server became unreachable: {exc}") from None
            except (TimeoutError, OSError):
                break
            if resp.status != 200:
                continue
            try:
                body = orjson.loads(resp.body)
            except orjson.JSONDecodeError:
                continue
            n = tokenizer.count(body)
            if n is not None:
                return n
        state["available"] = False
        return None

    return count


async def exact_text(
    rng: random.Random, tokens: int, count: TokenCounter
) -> tuple[str, int | None]:
    """Random words whose tokenization is exactly `tokens` long, when the counter allows it.

    Returns the text and its measured count (None when no tokenizer is available).
    """
    words = [rng.choice(_WORDS) for _ in range(tokens + 64)]
    k = tokens
    best: tuple[int, str, int] | None = None
    for _ in range(12):
        while k > len(words):
            words.append(rng.choice(_WORDS))
        text = " ".join(words[:k])
        n = await count(text)
        if n is None:
            return text, None
        if best is None or abs(n - tokens) < best[0]:
            best = (abs(n - tokens), text, n)
        if n == tokens:
            break
        k = max(1, k + tokens - n)
    assert best is not None
    return best[1], best[2]


@dataclass(frozen=True, slots=True)
class WordTable:
    """What each word costs in the server's tokenizer: at the start of a text, and after a
    space. Tokenizers split on spaces before merging (BPE pre-tokenization, SentencePiece's
    whitespace pieces), so a text's count is the sum of its words': a prompt of exact length
    needs no server round trip of its own."""

    first: tuple[int, ...]  # tokens of _WORDS[i] at the start of a text
    later: tuple[int, ...]  # tokens it adds after a space

    @property
    def one_token(self) -> tuple[str, ...]:
        return tuple(w for w, n in zip(_WORDS, self.later, strict=True) if n == 1)


async def word_table(counter: TokenCounter) -> WordTable | None:
    """Tokenize the word list once (two requests a word); None without a tokenizer."""
    base = await counter("the")
    if base is None:
        return None
    first, later = [], []
    for word in _WORDS:
        alone, after = await counter(word), await counter(f"the {word}")
        if alone is None or after is None:
            return None
        first.append(alone)
        later.append(after - base)
    return WordTable(tuple(first), tuple(later))


# Prompts re-tokenized to check the word table's sums, spread over the point.
_CHECKED = 16


async def synthetic_prompts(
    count: int,
    content_tokens: int,
    namespace: str,
    counter: TokenCounter,
    table: WordTable | None = None,
) -> list[Prompt]:
    """`count` prompts seeded by `namespace` and their index: the same namespace gives the same
    prompts; different namespaces (sweep points) give different ones. With a word table they
    are assembled to length locally and a sample is checked against the server (100k prompts
    in seconds, not one round trip each); where a sum proves wrong, every prompt is fitted
    with the server's tokenizer instead."""
    return await synthetic_texts([content_tokens] * count, namespace, counter, table)


async def synthetic_texts(
    lengths: Sequence[int],
    namespace: str,
    counter: TokenCounter,
    table: WordTable | None = None,
) -> list[Prompt]:
    """One prompt per length (tokens of its text alone), as `synthetic_prompts` makes them."""
    if table is not None and (assembled := _assemble(lengths, namespace, table)):
        step = max(1, len(assembled) // _CHECKED)
        for prompt in assembled[::step][:_CHECKED]:
            if await counter(prompt.text) != prompt.content_tokens:
                break
        else:
            return assembled
    prompts: list[Prompt] = []
    for i, tokens in enumerate(lengths):
        rng = random.Random(f"{namespace}:{i}")
        text, n = await exact_text(rng, tokens, counter)
        prompts.append(Prompt(text, prompt_id(text), n))
    return prompts


def _assemble(lengths: Sequence[int], namespace: str, table: WordTable) -> list[Prompt] | None:
    """A random first word (prompts differ from their first token, so no prefix cache hit),
    then one-token words up to the length; None when the table cannot reach it."""
    ones = table.one_token
    if not ones:
        return None
    # a random byte picks each word (C speed: 100k prompts in a second); the slight skew of
    # 256 mod len(ones) does not matter for filler text
    by_byte = [ones[b % len(ones)] for b in range(256)]
    prompts = []
    rng = random.Random(f"{namespace}:assembled")  # one stream a point: same namespace, same text
    for content_tokens in lengths:
        k = rng.randrange(len(_WORDS))
        rest = content_tokens - table.first[k]
        if rest < 0:
            return None
        text = " ".join([_WORDS[k], *map(by_byte.__getitem__, rng.randbytes(rest))])
        prompts.append(Prompt(text, prompt_id(text), content_tokens))
    return prompts
