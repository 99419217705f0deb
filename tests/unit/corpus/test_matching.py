"""The workload key: what a run sent beyond its suite, as a short stable digest, absent for
envelopes that record none of it."""

from __future__ import annotations

from typing import Any

from tests.support.envelopes import minimal_statement
from tokenbench.corpus.matching import PLAIN, workload_key
from tokenbench.envelope.schema import RunPredicate

TRACE = {"file_name": "t.jsonl", "sha256": "a" * 64, "format": "mooncake", "requests": 10,
         "block_tokens": 512, "speedup": 1.0, "span_s": 3.0}  # fmt: skip


def _key(**workload: Any) -> str:
    body = minimal_statement()["predicate"]
    extra = workload.pop("extra_body", None)
    if extra is not None:
        body["parameters"]["passthrough"] = {"extra_body": extra, "headers": {"X-Team": "a"}}
    body["parameters"]["workload"].update(workload)
    return workload_key(RunPredicate.model_validate(body))


def test_an_envelope_recording_none_of_it_has_no_key() -> None:
    assert _key() == PLAIN
    body = minimal_statement()["predicate"]
    body["parameters"]["passthrough"] = {"extra_body": {}, "headers": {"X-Team": "a"}}
    assert workload_key(RunPredicate.model_validate(body)) == PLAIN  # headers are not sent work


def test_each_part_gives_its_own_stable_key() -> None:
    keys = [
        _key(extra_body={"chat_template_kwargs": {"enable_thinking": True}}),
        _key(extra_body={"chat_template_kwargs": {"enable_thinking": False}}),
        _key(distributions={"input_len": "uniform(256,1024)"}),
        _key(distributions={"input_len": "normal(512,128,min=1)"}),
        _key(trace=TRACE),
        _key(trace=TRACE | {"sha256": "b" * 64}),
        _key(trace=TRACE | {"speedup": 2.0}),
        _key(prompt_file={"file_name": "d.csv", "sha256": "c" * 64, "columns": {}}),
        _key(
            prompt_file={
                "file_name": "d.csv",
                "sha256": "c" * 64,
                "columns": {"prompt": "instruction"},
            }
        ),
        _key(prompt_file={"file_name": "d.csv", "sha256": "d" * 64, "columns": {}}),
    ]
    assert None not in keys
    assert len(set(keys)) == len(keys)
    assert all(len(k or "") == 12 for k in keys)
    # the same parts give the same key; a trace's request count and span are the load's
    assert _key(trace=TRACE) == _key(trace=TRACE | {"requests": 5, "span_s": 1.0})
    assert (
        _key(prompt_file={"file_name": "other.csv", "sha256": "c" * 64, "columns": {}}) == keys[7]
    )
