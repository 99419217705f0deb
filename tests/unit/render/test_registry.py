"""Renderers by (format, view): what `--report` offers, dispatch, and JSON as the model dump."""

from __future__ import annotations

import io

import orjson
import pytest
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console

from tokenbench.compare.summary import SummaryTable
from tokenbench.compare.views import ComparisonView
from tokenbench.errors import ConfigError
from tokenbench.render.formats import Output, formats_for, render
from tokenbench.render.registry import renderer


class Greeting(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    shout: bool = Field(serialization_alias="loud")
    note: str = Field(default="", exclude=True)


class LoudGreeting(Greeting):
    pass


@renderer("table", Greeting)
def _greeting_table(view: Greeting, out: Output) -> None:
    out.console.print(f"hello {view.name}")


@renderer("shout", LoudGreeting)
def _greeting_shout(view: LoudGreeting, out: Output) -> None:
    out.write(f"HELLO {view.name.upper()}\n")


def _output() -> tuple[Output, io.StringIO, io.BytesIO]:
    text, raw = io.StringIO(), io.BytesIO()
    return Output(Console(file=text, width=80), raw), text, raw


def test_formats_come_from_the_registry_in_a_fixed_order() -> None:
    assert formats_for(ComparisonView) == ["table", "json", "csv", "md", "html"]
    assert formats_for(SummaryTable) == ["table", "json"]
    # json is registered once for every view; a subclass inherits its base's renderers
    assert formats_for(Greeting) == ["table", "json"]
    assert formats_for(LoudGreeting) == ["table", "json", "shout"]


def test_render_dispatches_on_format_and_view() -> None:
    out, text, raw = _output()
    render(Greeting(name="ada", shout=False), "table", out)
    assert text.getvalue() == "hello ada\n"
    render(LoudGreeting(name="ada", shout=True), "shout", out)
    assert raw.getvalue() == b"HELLO ADA\n"


def test_json_is_the_model_dump_with_aliases_and_without_excluded_fields() -> None:
    out, _, raw = _output()
    render(Greeting(name="ada", shout=True, note="internal"), "json", out)
    assert orjson.loads(raw.getvalue()) == {"name": "ada", "loud": True}
    assert raw.getvalue().endswith(b"}\n")


def test_unknown_format_names_the_ones_there_are() -> None:
    out, _, _ = _output()
    known = r"unknown format for Greeting 'shout'; known: json, table"
    with pytest.raises(ConfigError, match=known):
        render(Greeting(name="ada", shout=False), "shout", out)


def test_a_renderer_registers_once() -> None:
    with pytest.raises(ConfigError, match="registered twice"):
        renderer("table", Greeting)(_greeting_table)
