"""What else the host was doing while a point ran: load average, CPU steal and the CPU share of
other processes, read before the point (a short look) and over the point itself. A run that
shared its cores with other work measures the sharing as much as the engine, so it is warned
about (on screen and in the envelope's validity warnings)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import time
from dataclasses import dataclass

import psutil

from tokenbench.envelope.schema import HostLoad, HostProcess

# Other processes using more than this share of one core, on average over the point, shared
# the cores with the run (a browser tab idles well below it; a build or a second benchmark not).
SHARED_CPU_CORES = 0.25
SHARED_STEAL_SHARE = 0.05  # the hypervisor took more than 5% of the CPU time: a noisy neighbour
TOP_PROCESSES = 5  # heaviest other processes listed
LISTED_CPU_CORES = 0.05  # a process below this share of one core is not worth a line
BEFORE_LOOK_S = 0.5  # how long the look before a point lasts


@dataclass(frozen=True, slots=True)
class _Snapshot:
    at: float  # time.monotonic()
    cpu: dict[int, tuple[str, float, float]]  # other processes: pid → (name, started, CPU s)
    steal: float | None  # system-wide CPU seconds stolen by the hypervisor (Linux)
    total: float  # system-wide CPU seconds, every state
    load: list[float] | None  # 1, 5 and 15 min load averages


def _family(pids: set[int]) -> set[int]:
    """The processes and all their descendants (those still alive)."""
    out = set(pids)
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            out.update(c.pid for c in psutil.Process(pid).children(recursive=True))
    return out


def engine_pids(host: str, port: int) -> frozenset[int]:
    """The local process serving the target (listening on its port), if it can be seen: its
    CPU is the workload under test, not other work."""
    with contextlib.suppress(ValueError):
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            return frozenset()
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return frozenset()
    return frozenset(
        c.pid
        for c in conns
        if c.pid is not None and c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
    )


def _snapshot(exclude: set[int]) -> _Snapshot:
    cpu: dict[int, tuple[str, float, float]] = {}
    for proc in psutil.process_iter(["name", "cpu_times", "create_time"]):
        info = proc.info
        times = info.get("cpu_times")
        if proc.pid in exclude or times is None:
            continue
        cpu[proc.pid] = (info.get("name") or "?", info.get("create_time") or 0.0,
                         times.user + times.system)  # fmt: skip
    system = psutil.cpu_times()
    load: list[float] | None = None
    with contextlib.suppress(OSError, AttributeError):
        load = [round(x, 2) for x in psutil.getloadavg()]
    return _Snapshot(time.monotonic(), cpu, getattr(system, "steal", None), sum(system), load)


def _others(a: _Snapshot, b: _Snapshot, wall_started: float) -> dict[int, tuple[str, float]]:
    """Each other process's CPU seconds between two snapshots; one born in between counts all
    of its CPU time (it began inside the window)."""
    out = {}
    for pid, (name, started, used) in b.cpu.items():
        if pid in a.cpu and a.cpu[pid][1] == started:
            used -= a.cpu[pid][2]
        elif started < wall_started:
            continue  # existed before but unseen then (e.g. access denied): no baseline
        if used > 0:
            out[pid] = (name, used)
    return out


def judge(a: _Snapshot, b: _Snapshot, wall_started: float, cores: int) -> HostLoad:
    """The host's load between two snapshots, and whether the run shared its cores."""
    window = max(b.at - a.at, 1e-9)
    others = _others(a, b, wall_started)
    share = sum(used for _, used in others.values()) / window
    top = sorted(others.items(), key=lambda kv: -kv[1][1])[:TOP_PROCESSES]
    listed = [HostProcess(pid=pid, name=name, cpu_cores=round(used / window, 3))
              for pid, (name, used) in top if used / window >= LISTED_CPU_CORES]  # fmt: skip
    unmeasured = {}
    steal = None
    if a.steal is None or b.steal is None:
        unmeasured["steal_share"] = "this OS reports no CPU steal (Linux only)"
    elif b.total > a.total:
        steal = round((b.steal - a.steal) / (b.total - a.total), 4)
    if a.load is None:
        unmeasured["load_average"] = "this OS reports no load average"
    why = []
    if share > SHARED_CPU_CORES:
        names = ", ".join(f"{p.name} (pid {p.pid}) {p.cpu_cores:.2f}" for p in listed[:3])
        why.append(f"other processes kept {share:.2f} cores busy on average: {names}")
    if steal is not None and steal > SHARED_STEAL_SHARE:
        why.append(f"the hypervisor took {steal:.0%} of the CPU time (steal)")
    return HostLoad(
        cores=cores, window_s=round(window, 3),
        load_average=a.load, load_average_end=b.load,
        others_cpu_cores=round(share, 3), steal_share=steal, top_processes=listed,
        shared=bool(why), unmeasured=unmeasured,
        warning=("the run shared its cores with other work: " + "; ".join(why)) if why else None,
    )  # fmt: skip


class HostLoadWatch:
    """Before a point: a short look at the host (`before`); after it: the load over the point
    (`finish`). Blocking calls (psutil reads, a short sleep): run them in a thread. Processes
    that are tokenbench itself, its children (the embedded server, worker processes) or the
    local engine under test are not other work."""

    def __init__(self, engine: frozenset[int] = frozenset(), look_s: float = BEFORE_LOOK_S) -> None:
        self._own = {os.getpid(), *engine}
        self._look_s = look_s
        self.before_load: HostLoad | None = None
        self._start: _Snapshot | None = None
        self._wall_started = 0.0

    def before(self) -> HostLoad:
        self._wall_started = time.time()
        first = _snapshot(_family(self._own))
        time.sleep(self._look_s)
        self._start = _snapshot(_family(self._own))
        self.before_load = judge(first, self._start, self._wall_started, _cores())
        self._wall_started = time.time()
        return self.before_load

    def finish(self) -> HostLoad:
        """The load over the point (from the end of `before`), with the look before it."""
        assert self._start is not None, "before() first"
        during = judge(self._start, _snapshot(_family(self._own)), self._wall_started, _cores())
        return during.model_copy(update={"before": self.before_load})


def _cores() -> int:
    return psutil.cpu_count() or 1
