"""The optional config file (cli/config.py): defaults for flags from $TOKENBENCH_CONFIG,
./tokenbench.toml or $XDG_CONFIG_HOME/tokenbench/config.toml; flags win; an unknown key or an
API key is a one-line error naming the key and the file; what the file set is recorded in the
run's config sidecar like any flag."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run, sidecar
from tokenbench.cli.config import without_config
from tokenbench.cli.main import build_parser


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TOKENBENCH_CONFIG",)}
    return {**env, **extra}


def _bench_in(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tokenbench.cli.main", *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, timeout=120,
                          check=False)  # fmt: skip


INFRA = ("infra", "llama-3.1-8b-instruct")


def test_a_setting_is_a_default_and_the_flag_wins(tmp_path: Path) -> None:
    config = tmp_path / "lab.toml"
    config.write_text('report = "json"\n')
    env = _env(TOKENBENCH_CONFIG=str(config))
    proc = bench(*INFRA, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)  # the config's format
    flag = bench(*INFRA, "--report", "table", env=env)
    assert flag.returncode == 0, flag.stderr
    assert not flag.stdout.lstrip().startswith(("{", "["))  # the flag's


@pytest.mark.parametrize("where", ["cwd", "xdg"])
def test_the_file_is_found_in_the_working_directory_or_xdg(where: str, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    place = tmp_path / "tokenbench.toml" if where == "cwd" else xdg / "tokenbench" / "config.toml"
    place.parent.mkdir(parents=True, exist_ok=True)
    place.write_text('report = "json"\n')
    proc = _bench_in(tmp_path, *INFRA, env=_env(XDG_CONFIG_HOME=str(xdg)))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ('base_uri = "http://x/v1"\n', ["unknown key 'base_uri'", "did you mean 'base_url'?"]),
        ('api_key = "sk-123"\n', ["'api_key' is not read from a file", "$TOKENBENCH_API_KEY"]),
        ("report = 3\n", ["'report' must be a string"]),
        ("report = \n", ["not valid TOML"]),
    ],
)
def test_a_bad_file_is_one_line_naming_the_key_and_the_file(
    text: str, needles: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "lab.toml"
    config.write_text(text)
    proc = bench(*INFRA, env=_env(TOKENBENCH_CONFIG=str(config)))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert str(config) in proc.stderr
    for needle in needles:
        assert needle in proc.stderr
    assert "sk-123" not in proc.stderr


def test_a_missing_named_file_is_an_error(tmp_path: Path) -> None:
    proc = bench(*INFRA, env=_env(TOKENBENCH_CONFIG=str(tmp_path / "nowhere.toml")))
    assert proc.returncode == 2
    assert "$TOKENBENCH_CONFIG names" in proc.stderr


def test_help_works_whatever_the_config_says(tmp_path: Path) -> None:
    config = tmp_path / "lab.toml"
    config.write_text('nonsense = "x"\n')
    assert bench("--help", env=_env(TOKENBENCH_CONFIG=str(config))).returncode == 0


def test_run_takes_target_and_output_from_the_file_into_its_sidecar(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    out = tmp_path / "from-config"
    model = "ttft_ms=5;itl_ms=1;tokens=16"
    config = tmp_path / "lab.toml"
    config.write_text(f'base_url = "{scripted_server.base_url}"\nmodel = "{model}"\n'
                      f'engine = "vllm"\noutput_dir = "{out}"\n')  # fmt: skip
    env = _env(TOKENBENCH_CONFIG=str(config))
    proc = bench("run", "llm.inference.chatbot-short", "--sweep", "1", "--requests", "2", env=env)
    assert proc.returncode == 0, proc.stderr
    (path,) = envelope_paths(out)
    opened = open_run(path)
    resolved = json.loads(sidecar(opened, ".config.json").read_text())
    assert resolved["request"]["model"] == model
    assert resolved["run"]["target"]["base_url"] == scripted_server.base_url
    assert resolved["run"]["target"]["engine"]["name"] == "vllm"
    assert resolved["config_file"] == str(config)
    flag_out = tmp_path / "from-flag"
    proc = bench("run", "llm.inference.chatbot-short", "--sweep", "1", "--requests", "2",
                 "-o", str(flag_out), env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(envelope_paths(flag_out)) == 1
    assert len(envelope_paths(out)) == 1


def test_a_rerun_keeps_its_recorded_target_over_the_file_but_not_over_a_flag(
    tmp_path: Path,
) -> None:
    config = tmp_path / "lab.toml"
    config.write_text('model = "from-config"\nbase_url = "http://config:8000/v1"\n')
    sub = next(a for a in build_parser("run", config)._actions
               if isinstance(a, argparse._SubParsersAction)).choices["run"]  # fmt: skip
    plain = sub.parse_args(["--rerun", "x.json"])
    assert (plain.model, plain.base_url) == ("from-config", "http://config:8000/v1")
    rerun = without_config(plain, ("model", "base_url"))
    assert (rerun.model, rerun.base_url) == (None, None)  # the envelope's then apply
    flagged = without_config(sub.parse_args(["--rerun", "x.json", "--model", "flag"]), ("model",))
    assert flagged.model == "flag"
