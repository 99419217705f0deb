"""The corpus index: verified once, brought up to date incrementally, never trusted over the
signed files, and giving the same answers as reading the files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.envelopes import write_run_envelope
from tokenbench.compare.summary import summary_table
from tokenbench.corpus.filters import Filters
from tokenbench.corpus.selection import index_path, load_corpus, selected
from tokenbench.envelope import keys
from tokenbench.errors import ConfigError
from tokenbench.records import RequestRecord


def _records(ttft_ms: float, n: int = 4) -> list[RequestRecord]:
    first = int(ttft_ms * 1e6)
    return [RequestRecord(index=i, worker=0, slot=0, warmup=False, prompt_id=f"p{i}",
                          scheduled_ns=0, send_ns=0, first_token_ns=first + i,
                          chunk_ns=[first + i, first + 2_000_000, first + 4_000_000],
                          end_ns=first + 4_000_000, input_tokens=8, output_tokens=3)
            for i in range(n)]  # fmt: skip


def _at(day: int, concurrency: int = 1, valid: bool = True) -> Any:
    def edit(body: dict[str, Any]) -> None:
        body["timing"]["started_at"] = f"2026-11-{day:02d}T10:00:00Z"
        body["timing"]["finished_at"] = f"2026-11-{day:02d}T10:01:00Z"
        body["parameters"]["load"]["concurrency"] = concurrency
        body["run_id"] = f"01ARZ3NDEKTSV4RRFFQ69G{day:02d}{concurrency:02d}"
        if not valid:
            body["validity"] = {"valid": False, "reasons": ["made invalid by the test"]}

    return edit


def _corpus(root: Path) -> None:
    """Model a: three repeats at c1 (TTFT 10, 20, 30 ms; the last invalid) and one at c2;
    model b: one run at c1."""
    for day, ttft, valid in ((1, 10.0, True), (2, 20.0, True), (3, 30.0, False)):
        write_run_envelope(root / "a", _records(ttft), model_id="a", name=f"a-c1-{day}",
                           edit=_at(day, 1, valid))  # fmt: skip
    write_run_envelope(root / "a", _records(5.0), model_id="a", name="a-c2", edit=_at(4, 2))
    write_run_envelope(root / "b", _records(7.0), model_id="b", name="b-c1", edit=_at(5, 1))


def _summary(root: Path, use_index: bool = True, **kwargs: Any) -> dict[str, Any]:
    with selected([str(root)], keys.trusted_keys(), use_index=use_index) as sel:
        return summary_table(sel, **kwargs).model_dump(mode="json")


def test_the_index_and_the_files_give_the_same_answers(tmp_path: Path) -> None:
    _corpus(tmp_path)
    (tmp_path / "broken.json").write_text("{")
    cold = _summary(tmp_path)
    assert index_path(tmp_path).is_file()
    warm = _summary(tmp_path)
    files = _summary(tmp_path, use_index=False)
    assert cold == warm == files
    assert _summary(tmp_path, every=True) == _summary(tmp_path, use_index=False, every=True)
    with selected([str(tmp_path)], keys.trusted_keys()) as sel:
        indexed = sel.corpus()
    plain = load_corpus([str(tmp_path)], keys.trusted_keys())
    assert [(r.path, r.predicate, r.signer, r.raw_path) for r in indexed.runs] == [
        (r.path, r.predicate, r.signer, r.raw_path) for r in plain.runs
    ]
    assert indexed.skipped == plain.skipped
    assert [len(r.records()) for r in indexed.runs] == [4] * 5


def test_groups_show_the_median_of_valid_repeats_and_their_range(tmp_path: Path) -> None:
    _corpus(tmp_path)
    view = _summary(tmp_path)
    assert view["view"] == "groups"
    rows = {(r["model_id"], r["concurrency"]): r for r in view["runs"]}
    assert set(rows) == {("a", 1), ("a", 2), ("b", 1)}
    a1 = rows["a", 1]
    assert (a1["group_runs"], a1["group_valid"]) == (3, 2)
    # the invalid 30 ms run is left out: the median of 10 and 20, and their range
    assert a1["ttft_p50_ms"] == pytest.approx(15.0, abs=1e-3)
    assert (a1["ttft_p50_min_ms"], a1["ttft_p50_max_ms"]) == pytest.approx((10.0, 20.0), abs=1e-3)
    assert a1["started_at"] == "2026-11-02T10:00:00Z"  # the latest valid run represents it
    assert rows["b", 1]["group_runs"] == 1
    assert rows["b", 1]["ttft_p50_ms"] == pytest.approx(7.0, abs=1e-3)
    every = _summary(tmp_path, every=True)
    assert len(every["runs"]) == 5
    assert every["view"] == "runs"


def test_where_and_since_select_runs(tmp_path: Path) -> None:
    _corpus(tmp_path)

    def models(*where: str, since: str | None = None) -> list[tuple[str, int]]:
        view = _summary(tmp_path, filters=Filters.parse(list(where), since), every=True)
        return sorted((r["model_id"], r["concurrency"]) for r in view["runs"])

    assert models("model=b") == [("b", 1)]
    assert models("model=a,b", "c>=2") == [("a", 2)]
    assert models("model!=a") == [("b", 1)]
    assert models("valid=false") == [("a", 1)]
    assert models(since="2026-11-04") == [("a", 2), ("b", 1)]
    with pytest.raises(ConfigError, match="unknown --where field 'modl'; did you mean"):
        Filters.parse(["modl=a"], None)
    with pytest.raises(ConfigError, match="not a number"):
        Filters.parse(["concurrency>=x"], None)
    with pytest.raises(ConfigError, match="expected FIELD=VALUE"):
        Filters.parse(["model"], None)
    with pytest.raises(ConfigError, match="--since 'yesterday'"):
        Filters.parse([], "yesterday")


def _refresh(root: Path, trusted: list[Any] | None = None) -> Any:
    with selected([str(root)], trusted if trusted is not None else keys.trusted_keys()) as sel:
        (refresh,) = sel.refreshes
        return refresh, sel.corpus()


def test_only_new_and_changed_envelopes_are_verified_again(tmp_path: Path) -> None:
    _corpus(tmp_path)
    first, _ = _refresh(tmp_path)
    assert (first.added, first.changed, first.unchanged) == (5, 0, 0)
    again, _ = _refresh(tmp_path)
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 5)
    touched = tmp_path / "b" / "b-c1.json"
    os.utime(touched, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))  # same bytes
    same, _ = _refresh(tmp_path)
    assert (same.changed, same.unchanged) == (0, 5)
    write_run_envelope(tmp_path / "c", _records(3.0), model_id="c", edit=_at(6))
    (tmp_path / "a" / "a-c2.json").unlink()
    write_run_envelope(tmp_path / "b", _records(9.0), model_id="b", name="b-c1", edit=_at(7))
    step, corpus = _refresh(tmp_path)
    assert (step.added, step.changed, step.removed, step.unchanged) == (1, 1, 1, 3)
    assert sorted(r.predicate.target.model.model_id for r in corpus.runs) == [
        "a", "a", "a", "b", "c"]  # fmt: skip
    b = next(r for r in corpus.runs if r.predicate.target.model.model_id == "b")
    assert b.predicate.timing.started_at.startswith("2026-11-07")


def test_a_tampered_envelope_is_reported_and_skipped(tmp_path: Path) -> None:
    _corpus(tmp_path)
    _refresh(tmp_path)
    path = tmp_path / "b" / "b-c1.json"
    doc = orjson.loads(path.read_bytes())
    doc["signatures"][0]["sig"] = doc["signatures"][0]["sig"][::-1]
    path.write_bytes(orjson.dumps(doc))
    step, corpus = _refresh(tmp_path)
    assert step.changed == 1
    assert any("b-c1.json: changed since it was indexed and no longer verifies" in n
               for n in step.notes)  # fmt: skip
    assert [p.name for p, _ in corpus.skipped] == ["b-c1.json"]
    assert "b" not in {r.predicate.target.model.model_id for r in corpus.runs}


def test_a_new_trusted_key_admits_envelopes_it_signed(tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    write_run_envelope(tmp_path, _records(4.0), model_id="x", key=other, edit=_at(8))
    _, without = _refresh(tmp_path)
    assert len(without.skipped) == 1
    assert without.runs == []
    step, with_key = _refresh(tmp_path, [*keys.trusted_keys(), other.public_key()])
    assert step.retrusted == 1
    assert [r.predicate.target.model.model_id for r in with_key.runs] == ["x"]
    step, _ = _refresh(tmp_path, [*keys.trusted_keys(), other.public_key()])
    assert (step.retrusted, step.unchanged) == (0, 1)
    _, dropped = _refresh(tmp_path)  # the key no longer given: no longer trusted
    assert dropped.runs == []


@pytest.mark.parametrize("damage", [b"not a database at all" * 100, b""])
def test_a_corrupt_index_is_rebuilt_from_the_envelopes(tmp_path: Path, damage: bytes) -> None:
    _corpus(tmp_path)
    before = _summary(tmp_path)
    index_path(tmp_path).write_bytes(damage)
    notes: list[str] = []
    with selected([str(tmp_path)], keys.trusted_keys(), notify=notes.append) as sel:
        after = summary_table(sel).model_dump(mode="json")
    assert after == before
    if damage:
        assert len(notes) == 1
        assert "the index could not be used" in notes[0]
        assert "rebuilt from the envelopes" in notes[0]


def test_an_index_of_another_version_is_rebuilt(tmp_path: Path) -> None:
    _corpus(tmp_path)
    before = _summary(tmp_path)
    import duckdb

    con = duckdb.connect(str(index_path(tmp_path)))
    con.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    con.execute("DELETE FROM runs")  # what an old index lacks is never read from it
    con.close()
    notes: list[str] = []
    with selected([str(tmp_path)], keys.trusted_keys(), notify=notes.append) as sel:
        assert summary_table(sel).model_dump(mode="json") == before
    assert any("index version 0" in n for n in notes)


def test_raw_records_enter_the_index_only_when_their_digest_matches(tmp_path: Path) -> None:
    _corpus(tmp_path)
    raw = next((tmp_path / "b").glob("*.records.jsonl"))
    raw.write_bytes(raw.read_bytes().replace(b'"prompt_id":"p0"', b'"prompt_id":"px"'))
    with selected([str(tmp_path)], keys.trusted_keys()) as sel:
        counts = dict(sel.con.execute(
            "SELECT model_id, count(q.path) FROM runs r LEFT JOIN requests q USING (path) "
            "GROUP BY ALL").fetchall())  # fmt: skip
        first = sel.con.execute(
            "SELECT ttft_ms, itl_ms, tpot_ms, e2e_ms FROM requests WHERE path LIKE '%a-c2.json' "
            "ORDER BY index LIMIT 1").fetchone()  # fmt: skip
    assert counts == {"a": 16, "b": 0}
    assert first is not None
    ttft, itl, tpot, e2e = first
    assert ttft == pytest.approx(5.0)
    assert itl == pytest.approx([2.0, 2.0])  # one token per chunk
    assert tpot == pytest.approx((e2e - ttft) / 2)


_HOLDER = textwrap.dedent("""
    import sys, time
    from tokenbench.corpus.selection import selected
    from tokenbench.envelope import keys
    with selected([sys.argv[1]], keys.trusted_keys()):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_a_second_command_waits_for_the_index(tmp_path: Path) -> None:
    _corpus(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path), "2"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        notes: list[str] = []
        started = time.monotonic()
        view = None
        with selected([str(tmp_path)], keys.trusted_keys(), notify=notes.append) as sel:
            waited = time.monotonic() - started
            view = summary_table(sel)
        assert any("another bench command is using this index" in n for n in notes)
        assert waited > 0.5  # it waited for the holder instead of failing
        assert len(view.runs) == 3
    finally:
        assert holder.wait(timeout=60) == 0
        if holder.stdout is not None:
            holder.stdout.close()


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tests.support.envelopes import write_run_envelope
    from tests.unit.corpus.test_index import _records, _at
    root = Path(sys.argv[1])
    for i in range(int(sys.argv[2])):
        write_run_envelope(root / "w", _records(1.0 + i), model_id="w", name=f"w{i}",
                           edit=_at(10 + i % 15, 1 + i))
""")


def test_indexing_while_runs_write_envelopes_stays_consistent(tmp_path: Path) -> None:
    _corpus(tmp_path)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), "30"],
                              cwd=Path(__file__).parents[3])  # fmt: skip
    try:
        while writer.poll() is None:
            with selected([str(tmp_path)], keys.trusted_keys()) as sel:
                corpus = sel.corpus()
            assert corpus.skipped == []  # a half-written envelope is never seen
    finally:
        assert writer.wait(timeout=120) == 0
    indexed = _summary(tmp_path, every=True)
    assert indexed == _summary(tmp_path, use_index=False, every=True)
    assert len(indexed["runs"]) == 35


def test_points_of_another_input_length_are_other_groups(tmp_path: Path) -> None:
    def at_length(tokens: int) -> Any:
        def edit(body: dict[str, Any]) -> None:
            _at(9)(body)
            body["run_id"] = f"01ARZ3NDEKTSV4RRFFQ69G{tokens:04d}"
            body["parameters"]["workload"]["input_tokens_target"] = tokens

        return edit

    for tokens in (512, 1536):
        write_run_envelope(tmp_path, _records(tokens / 100), model_id="a", name=f"a{tokens}",
                           edit=at_length(tokens))  # fmt: skip
    rows = _summary(tmp_path)["runs"]
    assert [(r["input_tokens_target"], r["group_runs"]) for r in rows] == [(512, 1), (1536, 1)]


def test_runs_of_other_workloads_are_other_groups(tmp_path: Path) -> None:
    """Thinking on and off (the extra body) and two traces are never repeats of one point; runs
    alike in all of it are, with or without the index."""
    thinking = {"chat_template_kwargs": {"enable_thinking": True}}
    trace = {"file_name": "t.jsonl", "format": "tokenbench", "requests": 4, "block_tokens": 512,
             "speedup": 1.0, "span_s": 1.0}  # fmt: skip

    def sent(n: int, extra: dict[str, Any] | None, sha256: str | None) -> Any:
        def edit(body: dict[str, Any]) -> None:
            _at(n)(body)
            if extra is not None:
                body["parameters"]["passthrough"] = {"extra_body": extra, "headers": {}}
            if sha256 is not None:
                body["parameters"]["workload"]["trace"] = trace | {"sha256": sha256}

        return edit

    cases: list[tuple[dict[str, Any] | None, str | None]] = [
        (thinking, None), (thinking, None), ({"chat_template_kwargs": {}}, None),
        (None, "a" * 64), (None, "a" * 64), (None, "b" * 64), (None, None),
    ]  # fmt: skip
    for n, (extra, sha256) in enumerate(cases, start=1):
        write_run_envelope(tmp_path, _records(10.0 + n), model_id="a", name=f"a{n}",
                           edit=sent(n, extra, sha256))  # fmt: skip
    cold = _summary(tmp_path)
    rows = cold["runs"]
    assert sorted(r["group_runs"] for r in rows) == [1, 1, 1, 2, 2]
    keys = [r["workload"] for r in rows]
    assert len(set(keys)) == 5
    assert "plain" in keys  # a run that sent nothing beyond its suite keeps the old grouping
    assert cold == _summary(tmp_path) == _summary(tmp_path, use_index=False)
    assert _summary(tmp_path, every=True) == _summary(tmp_path, use_index=False, every=True)
    for use_index in (True, False):  # the plain runs are selectable by name, index or not
        plain = _summary(tmp_path, use_index=use_index,
                         filters=Filters.parse(["workload=plain"], None))["runs"]  # fmt: skip
        assert [(r["workload"], r["group_runs"]) for r in plain] == [("plain", 1)]
