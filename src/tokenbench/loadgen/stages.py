"""Load shapes: `--stages "30s@1rps,60s@4rps"` (or explicit windows `0-30s@c4`) and `--ramp` from
one level to another over a time, as stages run back to back, each reported on its own."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from tokenbench.errors import ConfigError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_LEVEL = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*(?:rps|req/s)|c(\d+)|(\d+)\s*c)$")
EXAMPLE = "e.g. '30s@1rps,60s@4rps' (rates) or '30s@c2,30s@c8' (concurrencies)"


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: a rate (open loop) or a concurrency (closed loop) held for a time."""

    duration_s: float
    rate_rps: float | None = None
    concurrency: int | None = None
    start_s: float | None = None  # explicit windows: when it starts, from the run's start

    @property
    def level(self) -> str:
        return f"{self.rate_rps:g} req/s" if self.rate_rps is not None else f"c{self.concurrency}"


def _seconds(text: str, where: str) -> float:
    match = _DURATION.match(text.strip())
    if match is None:
        raise ConfigError(f"{where}: {text!r} is not a duration; write e.g. 30s, 2m or 500ms")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _level(text: str, where: str) -> tuple[float | None, int | None]:
    match = _LEVEL.match(text.strip().lower())
    if match is None:
        raise ConfigError(f"{where}: {text!r} is not a level; write 4rps (a rate) or c8 "
                          "(a concurrency)")  # fmt: skip
    rate, conc_a, conc_b = match.groups()
    if rate is not None:
        if float(rate) <= 0:
            raise ConfigError(f"{where}: a rate must be positive")
        return float(rate), None
    conc = int(conc_a or conc_b)
    if conc < 1:
        raise ConfigError(f"{where}: a concurrency must be at least 1")
    return None, conc


def parse_stages(text: str) -> tuple[Stage, ...]:
    """`DURATION@LEVEL,…` back to back, or `START-END@LEVEL,…` windows (which must not
    overlap, in time order). Every stage has a positive length."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ConfigError(f"--stages is empty; {EXAMPLE}")
    stages = [_stage(part, i) for i, part in enumerate(parts, 1)]
    windows = [s.start_s is not None for s in stages]
    if any(windows) and not all(windows):
        raise ConfigError("--stages: give every stage as DURATION@LEVEL or every one as "
                          "START-END@LEVEL, not a mix")  # fmt: skip
    if all(windows):
        for i, (a, b) in enumerate(itertools.pairwise(stages), 2):
            assert a.start_s is not None
            assert b.start_s is not None
            if b.start_s < a.start_s + a.duration_s:
                raise ConfigError(f"--stages: stage {i} starts at {b.start_s:g} s, before stage "
                                  f"{i - 1} ends at {a.start_s + a.duration_s:g} s; stages must "
                                  "not overlap")  # fmt: skip
    return tuple(stages)


def _stage(part: str, i: int) -> Stage:
    where = f"--stages stage {i} ({part!r})"
    when, sep, level = part.partition("@")
    if not sep:
        raise ConfigError(f"{where}: expected DURATION@LEVEL; {EXAMPLE}")
    rate, conc = _level(level, where)
    start: float | None = None
    if "-" in when:
        a, b = when.split("-", 1)
        unit = _DURATION.match(b.strip())
        suffix = unit.group(2) or "" if unit else ""
        start = _seconds(a + (suffix if a.strip().replace(".", "").isdigit() else ""), where)
        duration = _seconds(b, where) - start
    else:
        duration = _seconds(when, where)
    if duration <= 0:
        raise ConfigError(f"{where}: a stage needs a positive length")
    return Stage(duration, rate, conc, start)


def ramp_stages(text: str, steps: int) -> tuple[Stage, ...]:
    """`--ramp FROM:TO@DURATION` (e.g. `1rps:8rps@60s`, `c1:c16@2m`) as `steps` equal stages
    whose levels go evenly from FROM to TO (concurrencies rounded)."""
    where = f"--ramp {text!r}"
    levels, sep, when = text.partition("@")
    low_text, colon, high_text = levels.partition(":")
    if not sep or not colon:
        raise ConfigError(f"{where}: expected FROM:TO@DURATION, e.g. 1rps:8rps@60s or c1:c16@2m")
    if steps < 2:
        raise ConfigError(f"--ramp-steps must be at least 2, got {steps}")
    low, high = _level(low_text, where), _level(high_text, where)
    if (low[0] is None) != (high[0] is None):
        raise ConfigError(f"{where}: ramp between two rates or two concurrencies, not one of each")
    duration = _seconds(when, where)
    if duration <= 0:
        raise ConfigError(f"{where}: the ramp needs a positive length")
    out = []
    for k in range(steps):
        frac = k / (steps - 1)
        if low[0] is not None and high[0] is not None:
            out.append(Stage(duration / steps, rate_rps=low[0] + (high[0] - low[0]) * frac))
        else:
            a, b = low[1] or 1, high[1] or 1
            out.append(Stage(duration / steps, concurrency=max(1, round(a + (b - a) * frac))))
    return tuple(out)
