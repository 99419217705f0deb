"""Eval envelopes in memory (predicate and items sidecar) for tests of what reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.envelopes import minimal_statement
from tokenbench.corpus.loader import LoadedEval
from tokenbench.envelope.schema import EvalPredicate
from tokenbench.metrics.quality import summarize_eval
from tokenbench.records import ErrorKind, ItemRecord, RequestRecord

VARIANT = "letter"
SECOND = 1_000_000_000


def _request(i: int, failed: bool, timed: bool) -> RequestRecord:
    if failed:
        return RequestRecord(i, 0, 0, False, "p", 0, send_ns=0 if timed else None,
                             end_ns=SECOND if timed else None, error_kind=ErrorKind.TIMEOUT,
                             error="timed out")  # fmt: skip
    return RequestRecord(i, 0, 0, False, "p", 0, send_ns=0 if timed else None,
                         first_token_ns=SECOND // 2 if timed else None,
                         chunk_ns=[SECOND // 2] if timed else [], end_ns=SECOND if timed else None,
                         output_tokens=10, tokens_from_usage=True, http_status=200)  # fmt: skip


def items(correct: list[bool], failed: set[int] | None = None,
          timed: bool = True) -> list[ItemRecord]:  # fmt: skip
    failed = failed or set()
    return [ItemRecord("mmlu", f"q{i}", 0, None, "A", None, None if i in failed else "A",
                       {VARIANT: None if i in failed else "A"},
                       {VARIANT: ok and i not in failed}, None, _request(i, i in failed, timed))
            for i, ok in enumerate(correct)]  # fmt: skip


def base_predicate(model: str, fingerprint: str | None, engine: str) -> dict[str, Any]:
    """A run predicate's fields (a valid run on this machine) for `model` on `engine`."""
    body: dict[str, Any] = minimal_statement()["predicate"]
    body["target"]["model"]["model_id"] = model
    body["target"]["engine"]["name"] = engine
    if fingerprint is not None:
        body["hardware"]["fingerprint"] = fingerprint
    return body


def loaded_eval(tmp: Path, model: str, its: list[ItemRecord], valid: bool = True,
                started: str = "1", status: str = "complete", concurrency: int = 1,
                temperature: float = 0.0) -> LoadedEval:  # fmt: skip
    """An eval of `model` on "mmlu" (0-shot, generated) over `its`, started at `started`, at
    `concurrency`."""
    body = base_predicate(model, None, "x")
    pred = EvalPredicate.model_validate({
        "run_id": body["run_id"], "eval_id": body["run_id"], "status": status,
        "validity": {"valid": valid, "reasons": [] if valid else ["made invalid"]},
        "task": {"name": "mmlu", "version": "1", "variants": [VARIANT], "primary": VARIANT,
                 "data": [], "items_available": len(its), "items": len(its), "limit": None},
        "parameters": {"temperature": temperature, "max_tokens": 8, "samples": 1,
                       "concurrency": concurrency,
                       "timeout_s": 1.0, "seed": 0},
        "target": body["target"], "hardware": body["hardware"], "software": body["software"],
        "timing": {**body["timing"], "started_at": started},
        "metrics": summarize_eval(its, [VARIANT], VARIANT).model_dump(),
        "comparability": {"key": "k", "task": "mmlu", "task_version": "1", "data_digest": "d",
                          "settings_digest": "s"},
        "privacy": body["privacy"],
    })  # fmt: skip
    path = tmp / f"{model}-{started}-c{concurrency}.items.jsonl"
    path.write_bytes(b"".join(it.to_json() + b"\n" for it in its))
    return LoadedEval(tmp / f"{model}-{started}-c{concurrency}.json", pred, None, path)
