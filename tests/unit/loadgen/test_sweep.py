"""File and ShareGPT prompts across the points of one sweep: each point draws fresh prompts, so a
prefix-caching engine never serves a point from what an earlier point sent; when the source runs
out, the point says so. And whether a point scrapes the engine's metrics, or why not."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tokenbench.engines.passthrough import Passthrough
from tokenbench.envelope.schema import ScrapeInfo
from tokenbench.errors import ConfigError
from tokenbench.loadgen.sweep import RunSettings, _scrape
from tokenbench.suites.suite import load_suite
from tokenbench.workloads.prompt import Prompt, prompt_id
from tokenbench.workloads.sharegpt import ShareGptSampler
from tokenbench.workloads.sources import PromptPool


async def _words(text: str) -> int | None:
    return len(text.split())


def _file_prompts(n: int) -> list[Prompt]:
    return [Prompt(f"prompt {i}", prompt_id(f"prompt {i}"), None) for i in range(n)]


def _ids(prompts: list[Prompt]) -> list[str]:
    return [p.prompt_id for p in prompts]


def test_points_continue_through_the_file_and_say_when_it_runs_out() -> None:
    per_point, points = 3, 3
    pool = PromptPool(_file_prompts(per_point * (points - 1)))

    async def sweep() -> list[tuple[list[Prompt], list[str]]]:
        return [await pool.take(per_point, cache_disabled=False) for _ in range(points)]

    drawn = asyncio.run(sweep())
    first, second, third = drawn
    assert not first[1]
    assert not second[1]
    assert not set(_ids(first[0])) & set(_ids(second[0]))  # no point re-sends another's
    assert _ids(third[0]) == _ids(first[0])  # the file ran out: it starts over …
    assert any("ran out" in n and "prefix cache" in n for n in third[1])  # … and says so


def test_a_reused_pool_notes_the_disabled_prefix_cache() -> None:
    pool = PromptPool(_file_prompts(2))

    async def sweep() -> list[str]:
        await pool.take(2, cache_disabled=True)
        return (await pool.take(2, cache_disabled=True))[1]

    assert any("told not to use its prefix cache" in n for n in asyncio.run(sweep()))


def test_sharegpt_points_draw_fresh_conversations(tmp_path: Path) -> None:
    convs = [{"id": str(i), "conversations": [
        {"from": "human", "value": f"question number {i} with some words"},
        {"from": "gpt", "value": "answer " * 6},
    ]} for i in range(30)]  # fmt: skip
    path = tmp_path / "sg.json"
    path.write_text(json.dumps(convs))
    per_point = 8

    async def sweep() -> list[tuple[list[Prompt], list[str]]]:
        sampler = ShareGptSampler(0, _words, path=path)
        pool = PromptPool(await sampler.take(per_point), sampler)
        return [await pool.take(per_point, cache_disabled=False) for _ in range(3)]

    drawn = asyncio.run(sweep())
    seen = [pid for prompts, _ in drawn for pid in _ids(prompts)]
    assert len(seen) == len(set(seen)) == 3 * per_point  # every point its own conversations
    assert not any(notes for _, notes in drawn)


def test_run_settings_refuse_a_recorded_extra_body_field_for_library_callers() -> None:
    """The envelope records the cache setting from --prefix-cache: an extra body may not undo it."""
    suite = load_suite("llm.inference.chatbot-short")
    with pytest.raises(ConfigError, match="use --prefix-cache"):
        RunSettings(suite, Path("unused"), passthrough=Passthrough({"cache_prompt": True}))
    RunSettings(suite, Path("unused"), passthrough=Passthrough({"chat_template_kwargs": {}}))


def _sweep(engine: str, interval_s: float | None) -> Any:
    """The parts of a sweep `_scrape` reads: the settings' interval, the target's engine."""
    info = SimpleNamespace(engine=SimpleNamespace(name=engine))
    return SimpleNamespace(settings=SimpleNamespace(scrape_interval_s=interval_s),
                           session=SimpleNamespace(target=SimpleNamespace(info=info)))  # fmt: skip


def test_a_point_records_its_scrape_interval_or_why_it_did_not_scrape() -> None:
    assert _scrape(_sweep("llama.cpp", 0.5)) == ScrapeInfo(interval_s=0.5)
    assert _scrape(_sweep("vllm", None)) == ScrapeInfo(interval_s=None, reason="--no-scrape")
    for engine in ("ollama", "my-own-server"):  # a profile without /metrics; the generic one
        assert _scrape(_sweep(engine, 1.0)) == ScrapeInfo(
            interval_s=None, reason=f"the engine profile for {engine} names no /metrics endpoint"
        )
