"""`bench completion bash|zsh|fish`: each script names every command, is valid for its shell,
and (bash, run for real) completes commands, a command's flags and a flag's choices."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import bench
from tokenbench.cli.main import COMMANDS


@pytest.fixture(scope="module")
def scripts() -> dict[str, str]:
    out = {}
    for shell in ("bash", "zsh", "fish"):
        proc = bench("completion", shell)
        assert proc.returncode == 0, proc.stderr
        out[shell] = proc.stdout
    return out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_script_names_every_command_and_its_flags(scripts: dict[str, str], shell: str) -> None:
    script = scripts[shell]
    for name, _module, _help in COMMANDS:
        assert name in script, (shell, name)
    assert "find-max-rate" in script  # a command's own flag
    for hidden in ("corpus", "gpus"):  # hidden spellings stay hidden
        assert f"--{hidden}" not in script
        assert f"-l {hidden} " not in script


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_script_is_valid_for_its_shell(
    scripts: dict[str, str], shell: str, tmp_path: Path
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    path = tmp_path / f"bench.{shell}"
    path.write_text(scripts[shell])
    flag = "--no-execute" if shell == "fish" else "-n"
    proc = subprocess.run([shell, flag, str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def _complete(script: Path, *words: str) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    probe = (f"source {script}\nCOMP_WORDS=(bench {line})\nCOMP_CWORD={len(words)}\n"
             "_bench\nprintf '%s\\n' \"${COMPREPLY[@]}\"")  # fmt: skip
    proc = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    return proc.stdout.split()


def test_bash_completes_commands_flags_and_choices(scripts: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "bench.bash"
    script.write_text(scripts["bash"])
    assert _complete(script, "comp") == ["compare", "completion"]
    assert "--report" in _complete(script, "compare", "./corpus", "--rep")
    assert _complete(script, "compare", "--report", "") == ["table", "json", "csv", "md", "html"]
    assert _complete(script, "completion", "") == ["bash", "zsh", "fish"]
    assert _complete(script, "keys", "") == ["generate", "show"]


def test_fish_completes_commands_and_choices(scripts: dict[str, str], tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    script = tmp_path / "bench.fish"
    script.write_text(scripts["fish"])

    def complete(line: str) -> list[str]:
        probe = f"source {script}; complete -C '{line}'"
        proc = subprocess.run(["fish", "-c", probe], capture_output=True, text=True, check=True)
        return [row.split("\t")[0] for row in proc.stdout.splitlines()]

    assert complete("bench comp") == ["compare", "completion"]
    assert set(complete("bench compare --report ")) == {"table", "json", "csv", "md", "html"}
