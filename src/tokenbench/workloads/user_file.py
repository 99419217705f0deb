"""Benchmark on your data: prompts from a JSONL file, one request body per line.

Each line is `{"prompt": "..."}` or `{"messages": [{"role": ..., "content": ...}, ...]}`, with an
optional `"max_tokens"`. A bad line stops the run before anything is sent, naming the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenbench.errors import ConfigError
from tokenbench.workloads.datasets import MAX_FILE_BYTES, jsonl_rows
from tokenbench.workloads.prompt import Prompt, messages_prompt, prompt_id


def _line_prompt(obj: Any, where: str) -> Prompt:
    if not isinstance(obj, dict):
        raise ConfigError(f'{where}: expected a JSON object with "prompt" or "messages"')
    unknown = set(obj) - {"prompt", "messages", "max_tokens"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    max_tokens = obj.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise ConfigError(f"{where}: max_tokens must be a positive integer")
    if ("prompt" in obj) == ("messages" in obj):
        raise ConfigError(f'{where}: give exactly one of "prompt" or "messages"')
    if "prompt" in obj:
        text = obj["prompt"]
        if not isinstance(text, str) or not text:
            raise ConfigError(f'{where}: "prompt" must be a non-empty string')
        return Prompt(text, prompt_id(text), None, None, max_tokens)
    messages = obj["messages"]
    if (
        not isinstance(messages, list)
        or not messages
        or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m
            for m in messages
        )
    ):
        raise ConfigError(f'{where}: "messages" must be a list of {{role, content}} objects')
    return messages_prompt(messages, max_tokens)


def load_prompts_file(path: Path) -> list[Prompt]:
    if path.is_dir():
        raise ConfigError(f"--prompts {path} is a directory; name a JSONL file of prompts")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"--prompts {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ConfigError(f"--prompts {path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    prompts = [_line_prompt(obj, where) for where, obj in jsonl_rows(path)]
    if not prompts:
        raise ConfigError(f"--prompts {path} has no prompts")
    return prompts
