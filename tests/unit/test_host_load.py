"""Host load judged from two snapshots (issue 15, problem 11): what other processes used in
between, CPU steal, and when the run counts as having shared its cores. Synthetic snapshots, so
nothing here depends on what this machine is doing."""

from __future__ import annotations

from tokenbench.session.host_load import SHARED_CPU_CORES, _Snapshot, judge


def _snap(at: float, cpu: dict[int, tuple[str, float, float]], steal: float | None = 0.0,
          total: float = 0.0) -> _Snapshot:  # fmt: skip
    return _Snapshot(at, cpu, steal, total, [0.5, 0.4, 0.3])


def test_other_work_above_a_quarter_core_is_a_shared_host() -> None:
    a = _snap(10.0, {7: ("make", 100.0, 5.0), 8: ("editor", 100.0, 1.0)}, total=100.0)
    b = _snap(12.0, {7: ("make", 100.0, 6.6), 8: ("editor", 100.0, 1.02)}, total=104.0)
    host = judge(a, b, wall_started=1000.0, cores=2)
    assert host.shared
    assert host.others_cpu_cores == 0.81  # (1.6 + 0.02) s over 2 s
    assert [(p.pid, p.name, p.cpu_cores) for p in host.top_processes] == [(7, "make", 0.8)]
    assert host.warning is not None
    assert "make (pid 7) 0.80" in host.warning
    assert host.load_average == [0.5, 0.4, 0.3]


def test_light_background_work_is_not_a_warning() -> None:
    a = _snap(0.0, {8: ("editor", 100.0, 1.0)}, total=100.0)
    b = _snap(10.0, {8: ("editor", 100.0, 1.0 + SHARED_CPU_CORES * 10 * 0.9)}, total=120.0)
    host = judge(a, b, wall_started=1000.0, cores=2)
    assert not host.shared
    assert host.warning is None


def test_a_process_born_in_the_window_counts_all_its_cpu_and_a_reused_pid_is_new() -> None:
    a = _snap(0.0, {9: ("old", 100.0, 50.0)}, total=100.0)
    b = _snap(2.0, {9: ("new", 1500.0, 1.0), 10: ("born", 1500.0, 0.5)}, total=104.0)
    host = judge(a, b, wall_started=1000.0, cores=2)
    assert {p.pid: p.cpu_cores for p in host.top_processes} == {9: 0.5, 10: 0.25}


def test_steal_is_a_share_of_cpu_time_or_null_with_a_reason() -> None:
    a = _snap(0.0, {}, steal=1.0, total=100.0)
    b = _snap(1.0, {}, steal=1.2, total=102.0)
    host = judge(a, b, wall_started=1000.0, cores=2)
    assert host.steal_share == 0.1
    assert host.shared  # the hypervisor took 10% of the CPU time
    unread = judge(_snap(0.0, {}, steal=None), _snap(1.0, {}, steal=None), 1000.0, 2)
    assert unread.steal_share is None
    assert "steal_share" in unread.unmeasured
    assert not unread.shared
