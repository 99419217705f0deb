"""The sandbox survives hostile programs, each ending as a failed sample with the host unharmed."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import psutil
import pytest

from tokenbench.evals.sandbox import CheckCall, SandboxLimits, run_sandboxed

LIMITS = SandboxLimits(wall_s=5.0, cpu_s=3)


def _no_leftovers() -> None:
    """Nothing the sandbox started is still alive."""
    for child in psutil.Process().children(recursive=True):
        cmd = " ".join(child.cmdline())
        assert "tokenbench-sandbox-" not in cmd, f"left running: {cmd}"


def test_a_correct_program_passes() -> None:
    result = run_sandboxed("assert sum([1, 2]) == 3\nprint('ok')\n", LIMITS)
    assert result.passed
    assert result.exit_code == 0


def test_fork_bomb() -> None:
    result = run_sandboxed("import os\nwhile True:\n    os.fork()\n", LIMITS)
    assert result.outcome == "failed"
    assert "os.fork is not allowed" in result.stderr_tail
    _no_leftovers()


def test_subprocess_is_refused() -> None:
    result = run_sandboxed("import subprocess\nsubprocess.run(['true'])\n", LIMITS)
    assert result.outcome == "failed"
    assert "not allowed" in result.stderr_tail


def test_infinite_loop_is_killed() -> None:
    started = time.monotonic()
    result = run_sandboxed("while True:\n    pass\n", LIMITS)
    assert not result.passed
    assert time.monotonic() - started < LIMITS.wall_s + 3
    _no_leftovers()


def test_sleeping_forever_hits_the_wall_timeout() -> None:
    result = run_sandboxed("import time\ntime.sleep(600)\n", SandboxLimits(wall_s=1.0))
    assert result.outcome == "timeout"
    assert result.exit_code is None
    assert result.duration_s < 5
    _no_leftovers()


def test_8gb_allocation() -> None:
    before = psutil.virtual_memory().available
    result = run_sandboxed("x = bytearray(8 * 1024**3)\nx[-1] = 1\n", LIMITS)
    assert result.outcome == "failed"
    assert "MemoryError" in result.stderr_tail
    assert psutil.virtual_memory().available > before - (1 << 30)


def test_outbound_socket_never_connects() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            try:
                accepted.append(listener.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        result = run_sandboxed(code, LIMITS)
    finally:
        thread.join()
        listener.close()
    assert result.outcome == "failed"
    assert "not allowed" in result.stderr_tail
    assert accepted == []


@pytest.mark.parametrize(
    "code",
    [
        "open({path!r}, 'w').write('x')",
        "import os\nos.open({path!r}, os.O_WRONLY | os.O_CREAT)",
        "import shutil\nshutil.copyfile('/etc/hostname', {path!r})",
    ],
)
def test_writes_outside_the_scratch_directory_fail(tmp_path: Path, code: str) -> None:
    target = tmp_path / "escaped.txt"
    result = run_sandboxed(code.format(path=str(target)), LIMITS)
    assert result.outcome == "failed"
    assert "outside the scratch" in result.stderr_tail
    assert not target.exists()


def test_deleting_outside_the_scratch_directory_fails(tmp_path: Path) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    result = run_sandboxed(f"import os\nos.remove({str(victim)!r})\n", LIMITS)
    assert result.outcome == "failed"
    assert victim.read_text() == "precious"


def test_scratch_directory_is_writable_and_removed() -> None:
    code = "import os\nopen('note.txt', 'w').write('x')\nprint(os.getcwd())\n"
    result = run_sandboxed(code, LIMITS)
    assert result.passed


def test_no_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    result = run_sandboxed(
        "import os\nassert 'OPENAI_API_KEY' not in os.environ, 'leaked'\n", LIMITS
    )
    assert result.passed


CHECK = CheckCall(test="def check(f):\n    assert f(2) == 4\n", entry_point="double")


def test_a_check_call_passes_when_check_returns() -> None:
    result = run_sandboxed("def double(x):\n    return 2 * x\n", LIMITS, CHECK)
    assert result.passed
    assert result.exit_code == 0


@pytest.mark.parametrize(
    "exit_call",
    ["import sys\nsys.exit(0)", "raise SystemExit", "import os\nprint('OK')\nos._exit(0)"],
)
def test_a_check_call_never_passes_by_exiting_early(exit_call: str) -> None:
    result = run_sandboxed(f"def double(x):\n    return x\n\n{exit_call}\n", LIMITS, CHECK)
    assert result.outcome == "failed"


def test_a_check_call_runs_the_program_as_a_module() -> None:
    code = "def double(x):\n    return 2 * x\n\nif __name__ == '__main__':\n    assert False\n"
    assert run_sandboxed(code, LIMITS, CHECK).passed
    assert not run_sandboxed(code, LIMITS).passed  # as a plain program it is __main__
