"""The optional config file: defaults for flags, so a lab's base URL, model, trusted keys and
output directory need not be typed on every command line. Flags given on the command line win.

The first of these that exists is read (TOML, top-level keys only):
  1. `$TOKENBENCH_CONFIG` (it must exist when set),
  2. `./tokenbench.toml`,
  3. `$XDG_CONFIG_HOME/tokenbench/config.toml` (`~/.config/tokenbench/config.toml`).

A key applies to the commands that have its flag (`model` to run and eval, `report` to the
commands that render); an unknown key is a one-line error naming it and the file. The API key
is never read from it: a config file is shared and committed, and the key would leak."""

from __future__ import annotations

import argparse
import difflib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tokenbench.errors import ConfigError

ENV = "TOKENBENCH_CONFIG"


@dataclass(frozen=True, slots=True)
class Setting:
    dest: str  # the flag's attribute on the parsed namespace
    flag: str
    help: str
    commands: tuple[str, ...] = ()  # the commands it applies to; () every one with the flag
    many: bool = False  # a list of strings (a single string is a list of one)


_TARGET = ("run", "eval")  # the commands that measure a target
SETTINGS: dict[str, Setting] = {
    "base_url": Setting("base_url", "--base-url", "OpenAI-compatible server", _TARGET),
    "model": Setting("model", "--model", "model name, .gguf path or served name", _TARGET),
    "engine": Setting("engine", "--engine", "engine name to record", _TARGET),
    "quant": Setting("quant", "--quant", "quantization to record", _TARGET),
    "output_dir": Setting("output", "-o/--output", "directory for envelopes", _TARGET),
    "data": Setting("data", "--data", "local eval data: a file or a datasets directory", ("eval",)),
    "report": Setting("report", "--report", "output format, where the command offers it"),
    "key": Setting("key", "--key", "public keys to trust (PEM paths), beside any --key", many=True),
}
# never read from a file, whatever its spelling
_SECRETS = ("api_key", "api-key", "apikey", "token", "openai_api_key", "tokenbench_api_key")


def config_path(cwd: Path | None = None) -> Path | None:
    """The config file in force, or None."""
    named = os.environ.get(ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"${ENV} names {path}, which is not a file; fix or unset it")
        return path
    local = (cwd or Path.cwd()) / "tokenbench.toml"
    if local.is_file():
        return local
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    user = Path(xdg) / "tokenbench" / "config.toml"
    return user if user.is_file() else None


def load_config(path: Path) -> dict[str, str | list[str]]:
    """The file's settings by key, checked: known keys, string values (`key`: a list too)."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: not valid TOML ({exc})") from None
    out: dict[str, str | list[str]] = {}
    for name, value in doc.items():
        if name.lower() in _SECRETS:
            raise ConfigError(
                f"config {path}: {name!r} is not read from a file, which is easily shared or "
                "committed; set $TOKENBENCH_API_KEY or $OPENAI_API_KEY"
            )
        if name not in SETTINGS:
            near = difflib.get_close_matches(name, SETTINGS, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ConfigError(f"config {path}: unknown key {name!r}; {hint}"
                              f"known: {', '.join(SETTINGS)}")  # fmt: skip
        many = SETTINGS[name].many
        if isinstance(value, list) and many and all(isinstance(v, str) for v in value):
            out[name] = [str(v) for v in value]
        elif isinstance(value, str):
            out[name] = [value] if many else value
        else:
            kind = "a string or a list of strings" if many else "a string"
            raise ConfigError(f'config {path}: {name!r} must be {kind}, e.g. {name} = "..."')
    return out


def apply_config(
    parser: argparse.ArgumentParser, command: str, path: Path | None
) -> dict[str, object]:
    """Set the settings of the file at `path` as the defaults of `command`'s `parser`, where
    the setting applies to the command and the command has the flag (and, for --report, offers
    the format); the defaults set, by dest."""
    if path is None:
        return {}
    settings = load_config(path)
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    defaults: dict[str, object] = {}
    for name, value in settings.items():
        setting = SETTINGS[name]
        action = actions.get(setting.dest)
        if setting.commands and command not in setting.commands:
            continue
        if action is None or (action.choices is not None and value not in action.choices):
            continue
        if isinstance(value, list):
            defaults[action.dest] = [action.type(v) if callable(action.type) else v
                                     for v in value]  # fmt: skip
        else:
            defaults[action.dest] = action.type(value) if callable(action.type) else value
    parser.set_defaults(**defaults)
    if defaults:
        parser.set_defaults(config_file=str(path), config_defaults=defaults)
    return defaults


def without_config(args: argparse.Namespace, dests: tuple[str, ...]) -> argparse.Namespace:
    """A copy of `args` in which those of `dests` that hold the config file's value are None:
    for `bench run --rerun`, whose envelope's recorded settings win over the file's (a flag
    given on the command line still wins over both)."""
    defaults: dict[str, object] = getattr(args, "config_defaults", {})
    copy = argparse.Namespace(**vars(args))
    for dest in dests:
        if dest in defaults and getattr(copy, dest) == defaults[dest]:
            setattr(copy, dest, None)
    return copy
