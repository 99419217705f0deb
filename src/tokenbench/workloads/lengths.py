"""Seeded distributions for input/output lengths and times: `512`, `uniform(256,1024)`,
`normal(512,128,min=1,max=2048)`, `lognormal(mean,sd)`, or `file(path)` of observed values
(recorded by name and sha256)."""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Literal, cast

import orjson

from tokenbench.errors import ConfigError

Kind = Literal["fixed", "uniform", "normal", "lognormal", "file"]
KINDS: tuple[Kind, ...] = ("fixed", "uniform", "normal", "lognormal", "file")
_ARITY = {"fixed": 1, "uniform": 2, "normal": 2, "lognormal": 2}
# Bounds holding less probability than this are refused: inverse-CDF sampling there is
# numerically meaningless and the user almost certainly mistyped a bound.
MIN_MASS = 1e-6
MAX_FILE_BYTES = 64 * 1024 * 1024
_CALL = re.compile(r"^\s*([A-Za-z_]\w*)\s*\((.*)\)\s*$", re.DOTALL)
_STD = NormalDist()


def _num(x: float) -> str:
    """The shortest text that parses back to exactly `x`."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


@dataclass(frozen=True, slots=True)
class Distribution:
    """A bounded distribution; `text` is its canonical spelling, recorded in envelopes.

    Normal and lognormal are truncated to [low, high] and sampled by inverse CDF between the
    bounds' CDF values, so every draw is in bounds with no rejection loop. For lognormal,
    `params` are the mean and standard deviation of the (untruncated) result, not of its log.
    """

    kind: Kind
    params: tuple[float, ...]
    low: float | None
    high: float | None
    values: tuple[float, ...] | None = None
    text: str = ""

    def _log_normal(self) -> NormalDist:
        mean, sd = self.params
        sigma2 = math.log1p((sd / mean) ** 2)
        return NormalDist(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))

    def _underlying(self) -> tuple[NormalDist, float, float]:
        """The normal sampled from and the bounds on its scale (log scale for lognormal)."""
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        if self.kind == "normal":
            return NormalDist(*self.params), lo, hi
        log_lo = -math.inf if lo <= 0 else math.log(lo)
        return self._log_normal(), log_lo, math.log(hi) if hi < math.inf else math.inf

    def _cdf_range(self) -> tuple[float, float]:
        dist, lo, hi = self._underlying()
        p_lo = 0.0 if lo == -math.inf else dist.cdf(lo)
        p_hi = 1.0 if hi == math.inf else dist.cdf(hi)
        return p_lo, p_hi

    def sample(self, n: int, seed: str) -> list[float]:
        """`n` draws, exactly reproducible from `seed`."""
        rng = random.Random(f"{seed}")
        if self.kind == "fixed":
            return [self.params[0]] * n
        if self.kind == "uniform":
            a, b = self.params
            return [rng.uniform(a, b) for _ in range(n)]
        if self.kind == "file":
            assert self.values is not None
            return [rng.choice(self.values) for _ in range(n)]
        dist, _, _ = self._underlying()
        p_lo, p_hi = self._cdf_range()
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        # inv_cdf is undefined at exactly 0 and 1; the clamp below absorbs the nudge.
        tiny = 1e-300
        out = []
        for _ in range(n):
            p = min(max(p_lo + rng.random() * (p_hi - p_lo), tiny), 1 - 2**-53)
            x = dist.inv_cdf(p)
            out.append(min(max(math.exp(x) if self.kind == "lognormal" else x, lo), hi))
        return out

    def sample_int(self, n: int, seed: str) -> list[int]:
        """`n` draws rounded to whole numbers, still within the bounds."""
        lo = -math.inf if self.low is None else math.ceil(self.low)
        hi = math.inf if self.high is None else math.floor(self.high)
        return [int(min(max(round(x), lo), hi)) for x in self.sample(n, seed)]

    def mean(self) -> float:
        """The mean of the bounded distribution (exact for the continuous draws; rounding by
        `sample_int` can move it by up to half a unit)."""
        if self.kind == "fixed":
            return self.params[0]
        if self.kind == "uniform":
            return (self.params[0] + self.params[1]) / 2
        if self.kind == "file":
            assert self.values is not None
            return math.fsum(self.values) / len(self.values)
        dist, lo, hi = self._underlying()
        p_lo, p_hi = self._cdf_range()
        mass = p_hi - p_lo
        if self.kind == "normal":
            pdf_lo = 0.0 if lo == -math.inf else dist.pdf(lo)
            pdf_hi = 0.0 if hi == math.inf else dist.pdf(hi)
            return dist.mean + dist.stdev**2 * (pdf_lo - pdf_hi) / mass
        # The partial expectation of a lognormal: shift the log-scale normal by sigma².
        mu, s = dist.mean, dist.stdev
        shifted = NormalDist(mu + s * s, s)
        q_lo = 0.0 if lo == -math.inf else shifted.cdf(lo)
        q_hi = 1.0 if hi == math.inf else shifted.cdf(hi)
        return math.exp(mu + s * s / 2) * (q_hi - q_lo) / mass


def parse_distribution(
    text: str, flag: str, *, integer: bool = True, minimum: float = 1
) -> Distribution:
    """Parse `--input-len`-style text; every mistake is one ConfigError naming `flag`."""
    where = f"{flag} {text!r}"
    minimum = float(minimum)
    stripped = text.strip()
    if not stripped:
        raise ConfigError(f"{flag} is empty; give e.g. 512 or 'normal(512,128)'")
    if _is_number(stripped):
        return _bounded("fixed", (_number(stripped, where),), None, None, where, integer, minimum)
    match = _CALL.match(stripped)
    if match is None:
        raise ConfigError(f"{where}: not a number or kind(args); e.g. 'uniform(256,1024)'")
    kind, inside = match.group(1), match.group(2)
    if kind == "file":
        return _file_distribution(inside.strip(), where, minimum)
    if kind not in _ARITY:
        raise ConfigError(f"{where}: unknown distribution {kind!r}; use one of {', '.join(KINDS)}")
    args, low, high = _arguments(inside, where)
    if len(args) != _ARITY[kind]:
        raise ConfigError(
            f"{where}: {kind} takes {_ARITY[kind]} number(s), got {len(args)}; "
            f"e.g. {_EXAMPLES[kind]}"
        )
    return _bounded(cast(Kind, kind), tuple(args), low, high, where, integer, minimum)


_EXAMPLES = {
    "fixed": "fixed(512)",
    "uniform": "uniform(256,1024)",
    "normal": "normal(512,128,min=1,max=2048)",
    "lognormal": "lognormal(512,256,max=4096)",
}


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _number(s: str, where: str) -> float:
    try:
        x = float(s.strip())
    except ValueError:
        raise ConfigError(f"{where}: {s.strip()!r} is not a number") from None
    if not math.isfinite(x):
        raise ConfigError(f"{where}: {s.strip()!r} is not a finite number")
    return x


def _arguments(inside: str, where: str) -> tuple[list[float], float | None, float | None]:
    args: list[float] = []
    bounds: dict[str, float] = {}
    for part in inside.split(","):
        name, eq, value = part.partition("=")
        if not eq:
            if bounds:
                raise ConfigError(f"{where}: numbers must come before min=/max=")
            args.append(_number(part, where))
            continue
        key = name.strip()
        if key not in ("min", "max"):
            raise ConfigError(f"{where}: unknown option {key!r}; the options are min= and max=")
        if key in bounds:
            raise ConfigError(f"{where}: {key}= is given twice")
        bounds[key] = _number(value, where)
    return args, bounds.get("min"), bounds.get("max")


def _bounded(
    kind: Kind,
    params: tuple[float, ...],
    low: float | None,
    high: float | None,
    where: str,
    integer: bool,
    minimum: float,
) -> Distribution:
    """Check the numbers and bounds of a parametric kind and normalise them for `text`."""
    unit = "whole number" if integer else "number"
    for name, bound in (("min", low), ("max", high)):
        if bound is not None and bound < minimum:
            raise ConfigError(f"{where}: {name}={_num(bound)} is below {_num(minimum)}; raise it")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{where}: min={_num(low)} is above max={_num(high)}; swap them")
    lo = minimum if low is None else low
    if kind == "fixed":
        (value,) = params
        if integer and not value.is_integer():
            raise ConfigError(f"{where}: {_num(value)} is not a {unit}")
        if value < lo or (high is not None and value > high):
            top = "" if high is None else f", max {_num(high)}"
            raise ConfigError(
                f"{where}: {_num(value)} is outside the bounds (min {_num(lo)}{top}); change it"
            )
        return Distribution("fixed", params, value, value, text=f"fixed({_num(value)})")
    if kind == "uniform":
        return _uniform(params, lo, high, where, integer, minimum)
    mean, sd = params
    if sd <= 0:
        raise ConfigError(f"{where}: the standard deviation must be above 0")
    if kind == "lognormal" and mean <= 0:
        raise ConfigError(f"{where}: a lognormal's mean must be above 0")
    bounds = f",min={_num(lo)}" + ("" if high is None else f",max={_num(high)}")
    text = f"{kind}({_num(mean)},{_num(sd)}{bounds})"
    dist = Distribution(kind, params, lo, high, text=text)
    p_lo, p_hi = dist._cdf_range()
    if p_hi - p_lo < MIN_MASS:
        raise ConfigError(
            f"{where}: almost no draws fall within the bounds; widen them or move the mean"
        )
    if integer and high is not None and math.ceil(lo) > math.floor(high):
        raise ConfigError(f"{where}: no {unit} lies between the bounds; widen them")
    return dist


def _uniform(
    params: tuple[float, ...],
    lo: float,
    high: float | None,
    where: str,
    integer: bool,
    minimum: float,
) -> Distribution:
    a, b = params
    if a > b:
        raise ConfigError(
            f"{where}: the low end {_num(a)} is above the high end {_num(b)}; swap them"
        )
    if a < minimum:
        raise ConfigError(f"{where}: the low end {_num(a)} is below {_num(minimum)}; raise it")
    a, b = max(a, lo), b if high is None else min(b, high)
    if a > b:
        raise ConfigError(f"{where}: the range lies outside the bounds; widen them")
    if integer and math.ceil(a) > math.floor(b):
        raise ConfigError(f"{where}: no whole number lies in the range; widen it")
    return Distribution("uniform", (a, b), a, b, text=f"uniform({_num(a)},{_num(b)})")


def _file_distribution(inside: str, where: str, minimum: float) -> Distribution:
    """`file(PATH)`, or `file(PATH,sha256=HEX)` as an envelope records it (the digest is then
    checked): the text names the file by its name and content digest, not by a local path."""
    name, comma, option = inside.rpartition(",")
    key, eq, expected = option.partition("=")
    if not (comma and eq and key.strip() == "sha256"):
        name, expected = inside, ""
    name, expected = name.strip(), expected.strip().lower()
    data = _read_file(Path(name), where, recorded=bool(expected))
    digest = hashlib.sha256(data).hexdigest()
    if expected and expected != digest:
        raise ConfigError(f"{where}: {name} changed since its sha256 was recorded "
                          f"({digest} now, {expected} then); give the file as it was, "
                          "or drop sha256=")  # fmt: skip
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: cannot read {name}: not UTF-8 text") from None
    values = _json_values(raw, name, where, minimum) if raw.lstrip()[:1] in ("[", "{") else None
    if values is None:
        values = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                values.append(_file_value(line.strip(), f"{where}: {name}:{number}", minimum))
    if not values:
        raise ConfigError(f"{where}: {name} holds no numbers; give one per line")
    text = f"file({Path(name).name},sha256={digest})"
    return Distribution("file", (), min(values), max(values), tuple(values), text)


def _read_file(path: Path, where: str, recorded: bool) -> bytes:
    """The file's bytes. `recorded`: sha256= was given, the form an envelope keeps, whose bare
    name `--rerun` can only look for in the current directory."""
    if not path.name or path.is_dir():
        raise ConfigError(f"{where}: name a file of numbers, one per line or a JSON array")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{where}: the file is over {MAX_FILE_BYTES // 2**20} MiB")
        return path.read_bytes()
    except FileNotFoundError:
        if recorded and path.parent == Path("."):
            raise ConfigError(f"{where}: no {path} in this directory, and the run recorded the "
                              "file's name only; run from the file's folder or give its path "
                              "in file(...)") from None  # fmt: skip
        raise ConfigError(f"{where}: cannot read {path}: no such file") from None
    except OSError as exc:  # strerror is None when the error was raised without an errno
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{where}: cannot read {path}: {reason}") from None


def _json_values(raw: str, name: str, where: str, minimum: float) -> list[float]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{where}: {name} is not a JSON array ({exc})") from None
    if not isinstance(data, list):
        raise ConfigError(f"{where}: {name} is not a JSON array of numbers")
    return [_file_value(v, f"{where}: {name} item {i}", minimum) for i, v in enumerate(data, 1)]


def _file_value(raw: object, where: str, minimum: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ConfigError(f"{where}: {raw!r} is not a number")
    x = _number(str(raw), where)
    if x < minimum:
        raise ConfigError(f"{where}: {_num(x)} is below {_num(minimum)}")
    return x
