"""Seeded length and time distributions: parsing, canonical text, bounded sampling, refusals."""

from __future__ import annotations

import hashlib
import math
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenbench.errors import ConfigError
from tokenbench.workloads.lengths import Distribution, parse_distribution

FLAG = "--input-len"


def test_a_bare_number_is_fixed() -> None:
    d = parse_distribution("512", FLAG)
    assert d == parse_distribution("fixed(512)", FLAG)
    assert d.kind == "fixed"
    assert d.text == "fixed(512)"
    assert d.sample_int(3, "s") == [512, 512, 512]
    assert d.mean() == 512


def test_canonical_text_names_the_default_lower_bound() -> None:
    assert parse_distribution("normal(512, 128, max=2048)", FLAG).text == (
        "normal(512,128,min=1,max=2048)"
    )
    assert parse_distribution("uniform(256,1024)", FLAG).text == "uniform(256,1024)"
    assert parse_distribution("lognormal(2.5,1.5)", "--think", integer=False, minimum=0).text == (
        "lognormal(2.5,1.5,min=0)"
    )


@pytest.mark.parametrize(
    ("text", "mean", "sd"),
    [("normal(512,128)", 512, 128), ("lognormal(512,256)", 512, 256), ("uniform(0,10)", 5, None)],
)
def test_samples_match_the_parameters(text: str, mean: float, sd: float | None) -> None:
    d = parse_distribution(text, "--think", integer=False, minimum=0)
    xs = d.sample(20_000, "seed")
    assert statistics.fmean(xs) == pytest.approx(mean, rel=0.03)
    assert d.mean() == pytest.approx(mean, rel=0.01)
    if sd is not None:  # lognormal's sd is of the result, not of its log
        assert statistics.stdev(xs) == pytest.approx(sd, rel=0.05)


@pytest.mark.parametrize(
    "text",
    ["normal(100,50,min=80,max=2000)", "lognormal(512,256,max=1000)", "normal(10,40,max=30)"],
)
def test_mean_is_the_bounded_mean(text: str) -> None:
    d = parse_distribution(text, FLAG)
    assert statistics.fmean(d.sample(50_000, "m")) == pytest.approx(d.mean(), rel=0.02)


def test_bounded_tails_are_sampled_without_rejection() -> None:
    d = parse_distribution("normal(100,10,min=130,max=131)", FLAG)  # a 3-sd tail
    xs = d.sample(1000, "tail")
    assert all(130 <= x <= 131 for x in xs)
    assert set(d.sample_int(1000, "tail")) <= {130, 131}


def test_sample_int_rounds_within_bounds() -> None:
    d = parse_distribution("uniform(1.2,2.8)", FLAG)
    assert set(d.sample_int(500, "r")) <= {2}
    assert all(isinstance(x, int) for x in d.sample_int(5, "r"))


def test_file_values_are_sampled_with_replacement(tmp_path: Path) -> None:
    lines = tmp_path / "lengths.txt"
    lines.write_text("10\n\n20\n30.5\n")
    d = parse_distribution(f"file({lines})", FLAG)
    assert d.kind == "file"
    assert d.values == (10, 20, 30.5)
    assert (d.low, d.high) == (10, 30.5)
    assert set(d.sample(200, "f")) == {10, 20, 30.5}
    assert d.mean() == pytest.approx(20.1666, rel=1e-3)
    array = tmp_path / "lengths.json"
    array.write_text("[5, 6, 7]")
    assert parse_distribution(f"file({array})", FLAG).values == (5, 6, 7)


def test_a_file_is_recorded_by_name_and_digest_not_by_its_path(tmp_path: Path) -> None:
    """The envelope identifies the draws: the same name with other numbers gives another text,
    and the recorded text, given again with the file's path, checks the digest."""
    path = tmp_path / "lengths.txt"
    path.write_text("10\n20\n")
    digest = hashlib.sha256(b"10\n20\n").hexdigest()
    d = parse_distribution(f"file({path})", FLAG)
    assert d.text == f"file(lengths.txt,sha256={digest})"
    assert str(tmp_path) not in d.text
    assert parse_distribution(f"file({path}, sha256={digest.upper()})", FLAG) == d
    path.write_text("10\n30\n")
    assert parse_distribution(f"file({path})", FLAG).text != d.text
    with pytest.raises(ConfigError, match="changed since its sha256 was recorded") as info:
        parse_distribution(f"file({path},sha256={digest})", FLAG)
    assert "lengths.txt changed" in str(info.value)
    assert "give the file as it was, or drop sha256=" in str(info.value)
    assert "\n" not in str(info.value)
    odd = tmp_path / "a,b.txt"  # a comma in the name is not an option
    odd.write_text("5\n")
    assert parse_distribution(f"file({odd})", FLAG).values == (5,)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("gamma(1,2)", "unknown distribution 'gamma'"),
        ("normal(1,2,3)", "normal takes 2 number(s), got 3"),
        ("uniform(5)", "uniform takes 2"),
        ("fixed()", "'' is not a number"),
        ("normal(a,1)", "'a' is not a number"),
        ("normal(5,inf)", "not a finite number"),
        ("normal(512,0)", "standard deviation must be above 0"),
        ("normal(512,-3)", "standard deviation must be above 0"),
        ("lognormal(-5,3)", "mean must be above 0"),
        ("uniform(1024,256)", "low end 1024 is above the high end 256"),
        ("uniform(0,256)", "low end 0 is below 1"),
        ("normal(512,128,min=900,max=100)", "min=900 is above max=100"),
        ("normal(512,128,min=0)", "min=0 is below 1"),
        ("normal(512,128,max=0.5)", "max=0.5 is below 1"),
        ("normal(100,1,min=1000)", "almost no draws fall within the bounds"),
        ("normal(512,128,min=1,min=2)", "min= is given twice"),
        ("normal(512,128,low=2)", "unknown option 'low'"),
        ("normal(min=2,512,128)", "numbers must come before"),
        ("fixed(0)", "outside the bounds"),
        ("fixed(5000,max=4096)", "outside the bounds"),
        ("uniform(10,20,min=30)", "outside the bounds"),
        ("normal(5,1,min=5.2,max=5.8)", "no whole number"),
        ("12.5", "not a whole number"),
        ("512 tokens", "not a number or kind(args)"),
        ("", "is empty"),
    ],
)
def test_refusals_name_the_flag_and_the_problem(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_distribution(text, FLAG)
    message = str(info.value)
    assert message.startswith(FLAG)
    assert needle in message
    assert "\n" not in message


def test_times_allow_zero_but_not_negative_bounds() -> None:
    assert parse_distribution("normal(2,1,min=0)", "--think", integer=False, minimum=0).low == 0
    with pytest.raises(ConfigError, match="min=-1 is below 0"):
        parse_distribution("normal(2,1,min=-1)", "--think", integer=False, minimum=0)
    assert parse_distribution("0.5", "--think", integer=False, minimum=0).params == (0.5,)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "holds no numbers"),
        ("10\nabc\n", "lengths.txt:2: 'abc' is not a number"),
        ("10\n0\n", "lengths.txt:2: 0 is below 1"),
        ("[1, true]", "item 2"),
        ('{"a": 1}', "not a JSON array"),
        ("[1, 2", "not a JSON array"),
    ],
)
def test_file_refusals_name_the_line(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "lengths.txt"
    path.write_text(content)
    with pytest.raises(ConfigError, match=FLAG) as info:
        parse_distribution(f"file({path})", FLAG)
    assert needle in str(info.value)


def test_a_missing_or_binary_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*nope\.txt: no such file"):
        parse_distribution(f"file({tmp_path / 'nope.txt'})", FLAG)
    with pytest.raises(ConfigError, match="name a file"):
        parse_distribution(f"file({tmp_path})", FLAG)
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_distribution(f"file({binary})", FLAG)


def test_a_recorded_name_not_found_here_says_where_to_run_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--rerun gives the envelope's file(NAME,sha256=...): NAME is looked for in the current
    directory, so the refusal says to run from the file's folder or give its path."""
    monkeypatch.chdir(tmp_path)
    recorded = f"file(lengths.txt,sha256={'0' * 64})"
    with pytest.raises(ConfigError) as info:
        parse_distribution(recorded, FLAG)
    message = str(info.value)
    assert message.startswith(f"{FLAG} {recorded!r}: no lengths.txt in this directory")
    assert "run from the file's folder or give its path" in message
    assert "\n" not in message
    (tmp_path / "lengths.txt").write_text("10\n20\n")  # found here, then the digest is checked
    with pytest.raises(ConfigError, match="changed since its sha256 was recorded"):
        parse_distribution(recorded, FLAG)


def test_an_os_error_without_a_reason_names_its_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lengths.txt"
    path.write_text("10\n")

    def fail(self: Path) -> bytes:
        raise PermissionError  # no errno, so no strerror: the message must not say None

    monkeypatch.setattr(Path, "read_bytes", fail)
    with pytest.raises(ConfigError) as info:
        parse_distribution(f"file({path})", FLAG)
    assert str(info.value).endswith(f"cannot read {path}: PermissionError")


# -- properties --------------------------------------------------------------------------------

_pos = st.floats(min_value=1, max_value=1e5, allow_nan=False)
_sd = st.floats(min_value=0.01, max_value=1e4, allow_nan=False)


@st.composite
def specs(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["fixed", "uniform", "normal", "lognormal"]))
    if kind == "fixed":
        return str(draw(st.integers(1, 10**6)))
    if kind == "uniform":
        a, b = sorted((draw(_pos), draw(_pos)))
        return f"uniform({a!r},{b!r})"
    text = f"{kind}({draw(_pos)!r},{draw(_sd)!r}"
    low = draw(st.none() | _pos)
    high = draw(st.none() | _pos)
    if low is not None:
        text += f",min={low!r}"
    if high is not None:
        text += f",max={high!r}"
    return text + ")"


def _parsed(text: str) -> Distribution | None:
    try:
        return parse_distribution(text, FLAG)
    except ConfigError:
        return None  # an impossible combination drawn at random: refusing it is the contract


@settings(max_examples=300, deadline=None)
@given(specs(), st.text(max_size=8), st.integers(0, 50))
def test_samples_stay_in_bounds_and_repeat_by_seed(text: str, seed: str, n: int) -> None:
    d = _parsed(text)
    if d is None:
        return
    xs = d.sample(n, seed)
    assert xs == d.sample(n, seed)
    lo = -math.inf if d.low is None else d.low
    hi = math.inf if d.high is None else d.high
    assert all(lo <= x <= hi for x in xs)
    ints = d.sample_int(n, seed)
    assert all(lo <= x <= hi for x in ints)
    assert math.isfinite(d.mean())


@settings(max_examples=300, deadline=None)
@given(specs())
def test_canonical_text_reparses_to_an_equal_distribution(text: str) -> None:
    d = _parsed(text)
    if d is None:
        return
    assert parse_distribution(d.text, FLAG) == d


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_garbage_is_a_config_error_or_a_distribution(text: str) -> None:
    if "file" in text:
        return  # would read files named by random text
    d = _parsed(text)
    assert d is None or isinstance(d, Distribution)
