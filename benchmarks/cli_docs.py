"""Write docs/cli.md from the parsers themselves: every command's arguments and flags, so the
reference never lags behind the code. tests/unit/cli/test_cli_docs.py fails when it is stale.

    .venv/bin/python benchmarks/cli_docs.py          # rewrite docs/cli.md
    .venv/bin/python benchmarks/cli_docs.py --check  # exit 1 if docs/cli.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tokenbench.cli.config import ENV, SETTINGS
from tokenbench.cli.main import COMMANDS, build_parser
from tokenbench.envelope.verify import CHECKS

# ruff: noqa: E501 (the Markdown tables below are one line per row)

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

INTRO = """# Command-line reference

`bench COMMAND --help` says the same as this page, which is generated from the parsers by
`benchmarks/cli_docs.py` (a test fails when it is out of date). `bench` alone lists the
commands; `tokenbench` is another name for `bench`.

## The same names for the same things

| name | means, in every command that has it |
|---|---|
| `PATH...` | envelopes, positional: files, directories (searched recursively) and globs (`summary`, `compare`, `report`, `cost`, `models`, `recommend`, `verify`); `--corpus PATH...` is still accepted by `models` and `recommend` |
| `--report FORMAT` | output format; the choices are the formats registered for what the command prints (`table` first, the default; docs/extending.md adds one) |
| `-o`, `--output` | where the result is written. For `run` and `eval`, a directory of envelopes (created when missing, default `corpus`); for `report`, the HTML file (default `report.html`); for every command with `--report`, a file the chosen format is written to instead of standard output. A path mistake is refused before any work starts |
| `--key PUB` | also trust this public key (PEM); repeatable; the local key is always trusted |
| `--model`, `--base-url`, `--engine`, `--quant`, `--api-key`, `--threads` | the target under test (`run`, `eval`); `bench cost --model` is the API provider's model id |
| `--catalog FILE` | another model catalog (`models`, `infra`, `recommend`) |
| `--concurrency`, `--timeout`, `--retry`, `--seed`, `--no-sign` | the same meaning in `run` and `eval` |

`compare --report html` writes a self-contained page of several megabytes: on a terminal it needs
`-o report.html` (piped, it is written to standard output). `compare --report csv` is one table
with a `section` column (`run`, `pair`, `quality`, `quality_pair`); a section's unused columns are
empty, so `df = pd.read_csv(f)` reads it and `df[df.section == "pair"].dropna(axis=1, how="all")`
is the verdicts (render/csv.py lists the columns).

Shell completion: `bench completion bash > ~/.local/share/bash-completion/completions/bench`,
`bench completion zsh > "${fpath[1]}/_bench"`, `bench completion fish >
~/.config/fish/completions/bench.fish`.
"""

EXIT_CODES = """## Exit codes

| code | meaning |
|---|---|
| 0 | done (for `run` and `eval`: read `validity` in each envelope) |
| 1 | another tokenbench error, named on one line |
| 2 | bad input: a flag, a path, the config file, or a server that cannot be reached or refuses before anything is measured |
| 3 | an envelope that does not validate (reading a corpus) |
| 4 | `run`: the server was lost during the sweep; a `partial` envelope holds what was measured |
{verify}| 130 | interrupted (Ctrl-C) |
"""


def _config_section() -> str:
    rows = "\n".join(f"| `{name}` | `{s.flag}` | {s.help} | "
                     f"{', '.join(s.commands) if s.commands else 'every command with the flag'} |"
                     for name, s in SETTINGS.items())  # fmt: skip
    return f"""## The config file

Optional. The first of these that exists is read: `${ENV}` (it must exist when set),
`./tokenbench.toml`, `$XDG_CONFIG_HOME/tokenbench/config.toml` (default
`~/.config/tokenbench/config.toml`). Its top-level keys are defaults for flags; a flag given on
the command line wins (`key` adds to any `--key`). An unknown key, a value of the wrong type or
invalid TOML is a one-line error naming the key and the file. The API key is never read from it
(a config file is easily shared or committed): use `$TOKENBENCH_API_KEY` or `$OPENAI_API_KEY`.
`bench run` records the file's path in each envelope's config sidecar (`config_file`), beside
the resolved settings its values became.

```toml
base_url = "http://gpu-box:8000/v1"
model = "meta-llama/Llama-3.1-8B-Instruct"
engine = "vllm"
output_dir = "corpus/llama8b"
report = "json"
key = ["keys/colleague.pub.pem"]
```

| key | flag | what | commands |
|---|---|---|---|
{rows}
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _flag_row(action: argparse.Action) -> str:
    if action.option_strings:
        names = ", ".join(f"`{s}`" for s in action.option_strings)
        if action.nargs != 0:
            value = action.metavar or (
                "{" + ",".join(map(str, action.choices)) + "}"
                if action.choices
                else action.dest.upper()
            )
            names += f" `{value if isinstance(value, str) else ' '.join(value)}`"
    else:
        names = f"`{action.metavar or action.dest}`"
        if action.nargs in ("*", "+"):
            names += " …"
    help_ = _cell((action.help or "").replace("%%", "%"))
    if action.choices and action.option_strings and "{" not in names:
        help_ += f" (one of {', '.join(map(str, action.choices))})"
    elif action.choices and not action.option_strings:
        help_ = _cell(f"{help_} (one of {', '.join(map(str, action.choices))})".strip())
    return f"| {names.replace('|', chr(92) + '|')} | {help_} |"


def _command(name: str, help_: str) -> str:
    parser = build_parser(name)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command: argparse.ArgumentParser = sub.choices[name]
    rows = [_flag_row(a) for a in command._actions
            if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)]  # fmt: skip
    text = f"### bench {name}\n\n{_cell(command.description or help_)}\n\n"
    usage = " ".join(command.format_usage().split())
    text += f"```\n{usage.removeprefix('usage: ')}\n```\n"
    if rows:
        text += "\n| argument | meaning |\n|---|---|\n" + "\n".join(rows) + "\n"
    return text


def render() -> str:
    verify = "".join(f"| {code} | `verify`: {what} |\n" for code, what in CHECKS.values())
    commands = "\n".join(_command(name, help_) for name, _module, help_ in COMMANDS)
    return (f"{INTRO}\n{EXIT_CODES.format(verify=verify)}\n{_config_section()}\n"
            f"## Commands\n\n{commands}")  # fmt: skip


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date: run .venv/bin/python benchmarks/cli_docs.py")
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
