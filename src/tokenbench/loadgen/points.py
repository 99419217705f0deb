"""Load points and where they come from: a fixed sweep (concurrencies, rates or input lengths,
repeated and interleaved as asked) or a rate search that picks each next rate from the last."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tokenbench.envelope.schema import RepeatInfo, RunPredicate, StageInfo, load_label
from tokenbench.errors import ConfigError
from tokenbench.loadgen.search import RateSearch


@dataclass(frozen=True, slots=True)
class LoadPoint:
    concurrency: int  # closed loop: requests in flight; open loop: the cap on them
    rate_rps: float | None = None  # open loop: the offered request rate
    input_length: int | None = None  # a context sweep's input tokens
    repeat: RepeatInfo | None = None  # one of --repeat N runs of this point
    duration_s: float | None = None  # a rate-search probe: its own minimum length (not a count)
    stage: StageInfo | None = None  # a stage of --stages / --ramp (duration_s is its length)
    start_s: float | None = None  # --stages windows: when the stage starts, from the first's

    @property
    def label(self) -> str:
        """The point on screen: "2.5 req/s", "input 1024 tokens", "concurrency 4"."""
        label = load_label(self.concurrency, self.rate_rps, long=True,
                           input_length=self.input_length)  # fmt: skip
        if self.stage is not None:
            return f"stage {self.stage.index + 1}/{self.stage.count}: {label}"
        return label

    @property
    def name(self) -> str:
        """The point in file names and prompt namespaces: c4, r2, in1024-c1, c4-rep2."""
        name = f"r{self.rate_rps:g}" if self.rate_rps is not None else f"c{self.concurrency}"
        if self.input_length is not None:
            name = f"in{self.input_length}-{name}"
        if self.repeat is not None:  # its own file and its own prompts
            name = f"{name}-rep{self.repeat.index}"
        if self.stage is not None:
            name = f"s{self.stage.index}-{name}"
        return name


class PointSource(Protocol):
    """The points of one `bench run`, in the order they run; each run point is reported back
    (None when it was skipped), so a search can choose the next one."""

    def next_point(self) -> LoadPoint | None: ...
    def record(self, point: LoadPoint, predicate: RunPredicate | None) -> None: ...


class FixedPoints:
    """A sweep known in advance."""

    def __init__(self, points: list[LoadPoint]) -> None:
        self._points = list(points)

    def next_point(self) -> LoadPoint | None:
        return self._points.pop(0) if self._points else None

    def record(self, point: LoadPoint, predicate: RunPredicate | None) -> None:
        return None


class SearchPoints:
    """`--find-max-rate`: open-loop probes at the rates the search asks for, under one cap."""

    def __init__(
        self, search: RateSearch, cap: int, min_requests: int | None = None,
        min_duration_s: float | None = None,
    ) -> None:  # fmt: skip
        self.search = search
        self.cap = cap
        self.min_requests = min_requests  # --requests: at least this many per probe
        self.min_duration_s = min_duration_s  # --duration: each probe at least this long

    def next_point(self) -> LoadPoint | None:
        """The next probe, long enough to reach a steady state (RateSearch.probe_duration_s)."""
        rate = self.search.next_rate()
        if rate is None:
            return None
        duration = self.search.probe_duration_s(rate, self.min_requests, self.min_duration_s)
        return LoadPoint(self.cap, rate, duration_s=duration)

    def record(self, point: LoadPoint, predicate: RunPredicate | None) -> None:
        assert point.rate_rps is not None
        assert predicate is not None
        self.search.record(point.rate_rps, predicate)


Point = tuple[int, float | None, int | None]


def repeat_order(points: list[Point], repeat: int, interleave: bool) -> list[tuple[int, Point]]:
    """(repeat index, point) in the order they run. Back to back by default; with
    `--interleave` every point runs once per round, the direction alternating each round
    (1 2 3, 3 2 1, 1 2 3 …), so a slow drift of the server or host cancels between points."""
    if repeat < 1:
        raise ConfigError(f"--repeat must be at least 1, got {repeat}")
    if not interleave:
        return [(i, p) for p in points for i in range(repeat)]
    order = []
    for i in range(repeat):
        order += [(i, p) for p in (points if i % 2 == 0 else points[::-1])]
    return order


def fixed_points(points: list[Point], repeat: int, interleave: bool, sweep_id: str) -> FixedPoints:
    """The sweep's points, each `repeat` times; repeats of one point share a repeat group."""
    out = []
    for index, (concurrency, rate, length) in repeat_order(points, repeat, interleave):
        info = None
        if repeat > 1:
            info = RepeatInfo(group=f"{sweep_id}:{concurrency}:{rate}:{length}", index=index,
                              count=repeat, interleaved=interleave)  # fmt: skip
        out.append(LoadPoint(concurrency, rate, length, info))
    return FixedPoints(out)
