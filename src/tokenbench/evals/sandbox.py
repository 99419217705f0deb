"""Running generated code: a separate Python process with no network, resource limits, a wall
timeout that kills its whole process group, and a scratch directory as the only writable place.

Layers, each enough for the common case and together for the rest:
- a fresh network namespace (unprivileged user namespace) when the kernel allows one;
- an audit hook, installed before the code runs and impossible to remove from Python, refusing
  sockets, new processes, ctypes, and writes, deletes or renames outside the scratch directory;
- rlimits: CPU seconds, address space, file size, open files, no new processes, no core dumps;
- its own session (process group), killed with SIGKILL at the wall timeout;
- stdout/stderr to size-limited files, an environment with nothing from ours (no API keys).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tokenbench.errors import ConfigError

_TAIL_CHARS = 600

# Runs in the sandboxed interpreter (python -I -S -c): argv = scratch, program, limits, and for
# a check call the test file and entry point (the pass marker comes on stdin, not in any file).
_BOOT = r"""
import os, sys, resource
scratch, program = os.path.realpath(sys.argv[1]), sys.argv[2]
cpu_s, mem, fsize, nofile = (int(x) for x in sys.argv[3:7])
test_file, entry = (sys.argv[7], sys.argv[8]) if len(sys.argv) > 8 else (None, None)
marker = sys.stdin.readline().strip() if entry else ""
netns = False
try:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    netns = libc.unshare(0x10000000 | 0x40000000) == 0  # CLONE_NEWUSER | CLONE_NEWNET
    del libc
except Exception:
    pass
sys.modules.pop("ctypes", None)
for lim, val in ((resource.RLIMIT_CPU, cpu_s), (resource.RLIMIT_AS, mem),
                 (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_NOFILE, nofile),
                 (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, 0)):
    try:
        resource.setrlimit(lim, (val, val))
    except (ValueError, OSError):
        pass
with open(program, encoding="utf-8") as f:
    source = f.read()
test = ""
if test_file:
    with open(test_file, encoding="utf-8") as f:
        test = f.read()
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
DENY = ("socket.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
        "os.forkpty", "os.system", "os.kill", "os.killpg", "pty.", "ctypes.", "os.add_dll",
        "winreg.", "_winapi.", "signal.pthread_kill", "webbrowser.", "urllib.Request")
PATHS = ("os.remove", "os.unlink", "os.rename", "os.replace", "os.rmdir", "os.mkdir",
         "os.chmod", "os.chown", "os.link", "os.symlink", "os.truncate", "os.utime",
         "shutil.rmtree", "shutil.move", "shutil.copyfile", "os.chdir")
def inside(p):
    if isinstance(p, int):
        return True
    p = os.path.realpath(os.fsdecode(p))
    return p == scratch or p.startswith(scratch + os.sep)
def hook(event, args):
    if event.startswith(DENY):
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open":
        path, mode, flags = args
        writing = (mode and any(c in mode for c in "wax+")) or (flags or 0) & WRITE
        if writing and path is not None and not inside(path):
            raise PermissionError(f"sandbox: writing outside the scratch directory: {path}")
    elif event in PATHS:
        for a in args[:2]:
            if isinstance(a, (str, bytes, os.PathLike)) and not inside(a):
                raise PermissionError(f"sandbox: {event} outside the scratch directory")
sys.stderr.write(f"[sandbox netns={int(netns)}]\n")
sys.stderr.flush()
sys.addaudithook(hook)
del hook
if entry is None:
    exec(compile(source, "program.py", "exec"), {"__name__": "__main__"})
else:
    # The program is a module, not __main__ (its demo block never runs); check() must return
    # and the marker follow. SystemExit, whatever its code, is no pass.
    ns = {"__name__": "solution"}
    try:
        exec(compile(source, "solution.py", "exec"), ns)
        exec(compile(test, "test.py", "exec"), ns)
        ns["check"](ns[entry])
    except SystemExit as exc:
        sys.stderr.write(f"sandbox: SystemExit({exc.code!r}) is a failure\n")
        sys.stderr.flush()
        os._exit(3)
    sys.stdout.write("\n" + marker + "\n")
    sys.stdout.flush()
    os._exit(0)
"""


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    wall_s: float = 10.0
    cpu_s: int = 10
    memory_bytes: int = 1 << 30
    file_bytes: int = 16 << 20
    open_files: int = 64

    def __post_init__(self) -> None:
        if self.wall_s <= 0:  # named by its flag: `bench eval` is where it is usually set
            raise ConfigError("--sandbox-timeout must be positive")


Outcome = Literal["passed", "failed", "timeout"]


@dataclass(frozen=True, slots=True)
class CheckCall:
    """Run the program as a module, then the test source in its namespace, then
    `check(<entry_point>)`: how HumanEval's tests are meant to run."""

    test: str
    entry_point: str


@dataclass(frozen=True, slots=True)
class SandboxResult:
    outcome: Outcome
    exit_code: int | None  # negative: killed by that signal
    duration_s: float
    network_isolated: bool  # ran in its own network namespace (else the audit hook alone)
    stderr_tail: str

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


def run_sandboxed(
    program: str, limits: SandboxLimits | None = None, check: CheckCall | None = None
) -> SandboxResult:
    """Run `program` (Python source) as `__main__`; it passes when it exits 0 within the limits.
    With `check`: it passes only when check() returned and printed a fresh random marker after
    it, so an exit(0) from the program itself is no pass."""
    limits = limits or SandboxLimits()
    marker = secrets.token_hex(16) if check else ""
    with tempfile.TemporaryDirectory(prefix="tokenbench-sandbox-") as tmp:
        scratch = Path(tmp)
        prog = scratch / "program.py"
        prog.write_text(program, encoding="utf-8")
        extra: list[str] = []
        if check is not None:
            (scratch / "test.py").write_text(check.test, encoding="utf-8")
            extra = [str(scratch / "test.py"), check.entry_point]
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}  # fmt: skip
        argv = [
            sys.executable, "-I", "-S", "-c", _BOOT, tmp, str(prog),
            str(limits.cpu_s), str(limits.memory_bytes), str(limits.file_bytes),
            str(limits.open_files), *extra,
        ]  # fmt: skip
        started = time.perf_counter()
        with (scratch / "stdout").open("wb") as out, (scratch / "stderr").open("wb") as err:
            proc = subprocess.Popen(
                argv, cwd=tmp, env=env, stdin=subprocess.PIPE, stdout=out, stderr=err,
                start_new_session=True, close_fds=True,
            )  # fmt: skip
            _hand_over(proc, marker)
            timed_out = False
            try:
                proc.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)  # also whatever it left running
                proc.wait()
        duration = time.perf_counter() - started
        stderr = (scratch / "stderr").read_bytes()[-8192:].decode("utf-8", "replace")
        stdout = (scratch / "stdout").read_bytes()[-256:].decode("utf-8", "replace")
    isolated = "[sandbox netns=1]" in stderr
    tail = stderr.replace("[sandbox netns=1]\n", "").replace("[sandbox netns=0]\n", "")
    code = proc.returncode
    passed = code == 0 and (not marker or stdout.rstrip().endswith(marker))
    outcome: Outcome = "timeout" if timed_out else "passed" if passed else "failed"
    return SandboxResult(outcome, None if timed_out else code, duration, isolated,
                         tail[-_TAIL_CHARS:])  # fmt: skip


def _hand_over(proc: subprocess.Popen[bytes], marker: str) -> None:
    """The marker goes through stdin, read before the program runs, then stdin is at its end
    (as /dev/null was): it is in no file and no argument the program could read."""
    if proc.stdin is None:
        return
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(marker.encode() + b"\n" if marker else b"")
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
