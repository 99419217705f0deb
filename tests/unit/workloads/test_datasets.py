"""`--dataset FILE` with `--column` mapping: JSONL, JSON, CSV and Parquet rows into prompts."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenbench.errors import ConfigError
from tokenbench.workloads.datasets import load_dataset, parse_columns
from tokenbench.workloads.prompt import prompt_id


def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_parse_columns() -> None:
    assert parse_columns("prompt=instruction, max_tokens = n") == {
        "prompt": "instruction",
        "max_tokens": "n",
    }
    assert parse_columns("messages=chat,system=sys") == {"messages": "chat", "system": "sys"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("answer=output", "unknown role 'answer'"),
        ("prompt=a,prompt=b", "prompt is mapped twice"),
        ("prompt=", "'prompt=' is not ROLE=COLUMN"),
        ("=text", "is not ROLE=COLUMN"),
        ("prompt", "is not ROLE=COLUMN"),
        ("prompt=a,,system=b", "'' is not ROLE=COLUMN"),
        ("prompt=a,messages=b", "not both"),
    ],
)
def test_parse_columns_refusals(text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match="--column") as info:
        parse_columns(text)
    assert needle in str(info.value)


def test_jsonl_with_a_column_mapping(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "alpaca.jsonl",
        [
            {"instruction": "Name a colour.", "output": "Blue", "n": 12},
            {"instruction": "Add 2 and 2.", "output": "4", "n": 3},
        ],
    )
    prompts = load_dataset(path, parse_columns("prompt=instruction,max_tokens=n"))
    assert [p.text for p in prompts] == ["Name a colour.", "Add 2 and 2."]
    assert [p.max_tokens for p in prompts] == [12, 3]
    assert prompts[0].prompt_id == prompt_id("Name a colour.")
    assert prompts[0].messages is None


def test_default_prompt_column_order(tmp_path: Path) -> None:
    # "instruction" comes before "input" in the defaults (Alpaca has both)
    path = _jsonl(tmp_path / "a.jsonl", [{"input": "x", "instruction": "Do it", "output": "y"}])
    assert load_dataset(path)[0].text == "Do it"
    path = _jsonl(tmp_path / "b.jsonl", [{"question": "Why?", "text": "Because"}])
    assert load_dataset(path)[0].text == "Because"


def test_csv_with_a_column_mapping_and_system(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "data.csv",
        ["q", "sys", "limit"],
        [["What is 2+2?", "Be brief.", "8"], ["Say hi", "", ""]],
    )
    prompts = load_dataset(path, {"prompt": "q", "system": "sys", "max_tokens": "limit"})
    assert prompts[0].messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+2?"},
    )
    assert prompts[0].max_tokens == 8
    assert prompts[1].text == "Say hi"  # an empty system cell: no system message
    assert prompts[1].max_tokens is None


def test_json_array_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps([{"prompt": f"p{i}"} for i in range(10)]))
    assert [p.text for p in load_dataset(path, limit=3)] == ["p0", "p1", "p2"]


def test_sharegpt_conversations_end_on_the_last_user_turn(tmp_path: Path) -> None:
    turns = [
        {"from": "system", "value": "You are terse."},
        {"from": "human", "value": "Hi"},
        {"from": "gpt", "value": "Hello"},
        {"from": "human", "value": "Bye?"},
        {"from": "gpt", "value": "Bye"},
    ]
    path = _jsonl(tmp_path / "sharegpt.jsonl", [{"id": "1", "conversations": turns}])
    (prompt,) = load_dataset(path)
    assert prompt.messages == (
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye?"},
    )


def test_chat_messages_in_a_csv_cell(tmp_path: Path) -> None:
    chat = json.dumps([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}])
    path = _csv(tmp_path / "chat.csv", ["messages", "system"], [[chat, "Be kind."]])
    (prompt,) = load_dataset(path)
    assert prompt.messages == (
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi"},
    )


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "question": ["One?", "Two?", "Three?"],
            "n": [5, 6, 7],
            "conversations": [[{"from": "human", "value": "Hi"}]] * 3,
        }
    )
    path = tmp_path / "data.parquet"
    pq.write_table(table, path)
    prompts = load_dataset(path, {"prompt": "question", "max_tokens": "n"}, limit=2)
    assert [(p.text, p.max_tokens) for p in prompts] == [("One?", 5), ("Two?", 6)]
    (first, *_) = load_dataset(path, {"messages": "conversations"})
    assert first.messages == ({"role": "user", "content": "Hi"},)
    with pytest.raises(ConfigError, match=r"data.parquet row 1: column 'missing'"):
        load_dataset(path, {"prompt": "missing"})


def test_parquet_without_pyarrow_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match=r"pip install 'tokenbench\[data\]'"):
        load_dataset(path)


def test_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(ConfigError, match="not a readable Parquet file"):
        load_dataset(path)


@pytest.mark.parametrize(
    ("rows", "columns", "needle"),
    [
        ([{"prompt": "a"}, {"other": "b"}], None, "d.jsonl:2: column 'prompt' (prompt) is missing"),
        ([{"prompt": ""}], None, "d.jsonl:1: the prompt column 'prompt' is empty"),
        ([{"prompt": 5}], None, "d.jsonl:1: the prompt column 'prompt' is empty or not text"),
        ([{"prompt": "a", "max_tokens": 0}], None, "d.jsonl:1: max_tokens 0"),
        ([{"prompt": "a", "max_tokens": "many"}], None, "d.jsonl:1: max_tokens 'many'"),
        ([{"prompt": "a", "max_tokens": 1.5}], None, "d.jsonl:1: max_tokens 1.5"),
        ([{"prompt": "a", "max_tokens": True}], None, "max_tokens True"),
        ([{"prompt": "a", "system": 3}], None, "d.jsonl:1: the system column"),
        ([{"body": "a"}], None, "no prompt column (looked for prompt, text"),
        ([{"body": "a"}], {"prompt": "text"}, "d.jsonl:1: column 'text' (prompt) is missing"),
        (["just text"], None, "d.jsonl:1: expected a JSON object"),
        ([{"messages": "x"}], None, "d.jsonl:1: column 'messages' is not a JSON list"),
        ([{"messages": []}], None, "must be a non-empty list of turns"),
        ([{"messages": [3]}], None, "d.jsonl:1: turn 1 of 'messages' is not an object"),
        ([{"messages": [{"from": "robot", "value": "x"}]}], None, "speaker 'robot'"),
        ([{"messages": [{"role": "user"}]}], None, "turn 1 of 'messages' has no text"),
        ([{"messages": [{"from": "gpt", "value": "x"}]}], None, "no user turn to answer"),
    ],
)
def test_row_refusals_name_the_file_and_line(
    tmp_path: Path, rows: list[Any], columns: dict[str, str] | None, needle: str
) -> None:
    path = _jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(ConfigError) as info:
        load_dataset(path, columns)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_csv_refusals_name_the_line(tmp_path: Path) -> None:
    path = _csv(tmp_path / "d.csv", ["prompt", "max_tokens"], [["a", "1"], ["b", "x"]])
    with pytest.raises(ConfigError, match=r"d.csv:3: max_tokens 'x'"):
        load_dataset(path)
    path.write_text("prompt\na\nb,extra\n")
    with pytest.raises(ConfigError, match=r"d.csv:3: more fields than the header"):
        load_dataset(path)
    path.write_bytes(b"prompt\n\xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_dataset(path)
    path.write_text("prompt\n" + "x" * (csv.field_size_limit() + 1) + "\n")
    with pytest.raises(ConfigError, match=r"d.csv:2: not valid CSV"):
        load_dataset(path)


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("empty.jsonl", "", "has no rows"),
        ("empty.csv", "", "has no rows"),
        ("header.csv", "prompt\n", "has no rows"),
        ("empty.json", "[]", "has no rows"),
        ("obj.json", '{"prompt": "a"}', "expected a JSON array"),
        ("bad.json", "[", "not JSON"),
        ("bad.jsonl", '{"prompt": "a"}\n{oops\n', "bad.jsonl:2: not JSON"),
        ("data.txt", "hello", "unknown format '.txt'"),
    ],
)
def test_file_refusals(tmp_path: Path, name: str, content: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_dataset(path)
    assert needle in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        load_dataset(tmp_path / "nope.jsonl")
    folder = tmp_path / "dir.jsonl"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_dataset(folder)
    with pytest.raises(ConfigError, match="limit must be at least 1"):
        load_dataset(tmp_path / "x.jsonl", limit=0)


# -- properties --------------------------------------------------------------------------------

_texts = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "")


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(_texts, st.none() | st.integers(1, 10**6)), min_size=1, max_size=10))
def test_rows_round_trip_through_every_text_format(
    tmp_path: Path, rows: list[tuple[str, int | None]]
) -> None:
    objs = [{"text": t} if n is None else {"text": t, "max_tokens": n} for t, n in rows]
    jsonl = _jsonl(tmp_path / "p.jsonl", objs)
    array = tmp_path / "p.json"
    array.write_text(json.dumps(objs))
    table = _csv(tmp_path / "p.csv", ["text", "max_tokens"], [[t, str(n or "")] for t, n in rows])
    for path in (jsonl, array, table):
        prompts = load_dataset(path)
        assert [(p.text, p.max_tokens) for p in prompts] == rows


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=200), st.sampled_from([".jsonl", ".json", ".csv"]))
def test_garbage_files_give_config_errors_only(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"g{suffix}"
    path.write_bytes(data)
    message = ""
    try:
        assert load_dataset(path)
    except ConfigError as exc:
        message = str(exc)
    assert "\n" not in message
