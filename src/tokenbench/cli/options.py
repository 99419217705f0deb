"""Options that several commands share, defined once so they read the same everywhere: the
target under test (`bench run`, `bench eval`), where its API key comes from, and passthrough."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from tokenbench.engines.passthrough import Passthrough, check_recorded

# the key is read from these, in order, when --api-key is not given (a flag shows in `ps`)
API_KEY_ENVS = ("TOKENBENCH_API_KEY", "OPENAI_API_KEY")


def add_target_options(p: argparse.ArgumentParser) -> None:
    """--model, --base-url, --api-key, --engine, --quant, --threads: what is measured, where."""
    p.add_argument("--model", metavar="MODEL",
                   help="bundled model name, path to a .gguf, or a remote served name")  # fmt: skip
    p.add_argument("--base-url", metavar="URL",
                   help="OpenAI-compatible server, e.g. http://host:8000/v1")  # fmt: skip
    p.add_argument(
        "--api-key",
        metavar="KEY",
        help="API key (prefer $TOKENBENCH_API_KEY or $OPENAI_API_KEY: a flag is visible in ps); "
        "never written anywhere",
    )
    p.add_argument("--engine", metavar="NAME",
                   help="engine name to record (skips detection): vllm, sglang, ...")  # fmt: skip
    p.add_argument("--quant", metavar="Q", help="quantization to record, e.g. fp16, int4, Q4_K_M")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for the embedded llama-server")  # fmt: skip


def api_key(args: argparse.Namespace) -> str | None:
    """--api-key, else the first of API_KEY_ENVS that is set and not empty."""
    flag: str | None = args.api_key
    return flag or next((os.environ[k] for k in API_KEY_ENVS if os.environ.get(k)), None)


def add_passthrough_options(p: argparse.ArgumentParser) -> None:
    """--extra-body and --header: what every request carries besides tokenbench's own fields."""
    p.add_argument("--extra-body", metavar="JSON",
                   help="JSON object (or @FILE.json) merged into every request body, e.g. "
                   """'{"chat_template_kwargs": {"enable_thinking": false}}'; recorded in the """
                   "envelope; not stream, stream_options, model, messages or prompt, nor a "
                   "field the command records from its flags (max_tokens, temperature, seed, "
                   "...)")  # fmt: skip
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                   help="HTTP header sent with every request (repeatable); recorded with "
                   "credential-like values redacted")  # fmt: skip


def passthrough(args: argparse.Namespace, recorded: Mapping[str, str], command: str) -> Passthrough:
    """The checked --extra-body and --header values, the body holding no field `command`
    records from its own settings (a ConfigError names what is wrong)."""
    checked = Passthrough.from_flags(args.extra_body, args.header)
    check_recorded(checked.extra_body, recorded, command)
    return checked


def add_corpus_paths(p: argparse.ArgumentParser) -> None:
    """Envelopes as positional PATHs, as in every command that reads them; `--corpus PATH...`
    is the old spelling, still accepted but no longer shown."""
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="envelopes with measured results (files, directories, globs)")  # fmt: skip
    p.add_argument("--corpus", nargs="+", action="extend", default=[], metavar="PATH",
                   help=argparse.SUPPRESS)  # fmt: skip


def corpus_paths(args: argparse.Namespace) -> list[str]:
    """The positional PATHs and any given with the old --corpus."""
    return [*args.paths, *args.corpus]
