"""Checking an eval envelope: score every stored output again and recompute the figures. Code
tasks are not re-executed, nor items re-scored under another task version; their stored
verdicts are aggregated again."""

from __future__ import annotations

from tokenbench.envelope.schema import EvalPredicate
from tokenbench.envelope.verify import differing_fields
from tokenbench.errors import TokenbenchError
from tokenbench.evals.tasks import get_task
from tokenbench.metrics.quality import summarize_eval
from tokenbench.records import read_items


def rescore_check(predicate: EvalPredicate, items_jsonl: bytes) -> list[str]:
    """Names of what does not match: an item whose stored score differs from a fresh scoring
    (as "item ID"), then any metric that differs from a recomputation."""
    items = read_items(items_jsonl)
    try:
        task = get_task(predicate.task.name)
    except TokenbenchError:
        return [f"task {predicate.task.name!r} is unknown to this version"]
    problems = []
    by_logprobs = predicate.task.method == "letter-logprobs"
    # Another task version scored with other rules (its own, on purpose): its verdicts are
    # aggregated again below but not re-derived, or every fixed scorer would fail old evidence.
    if not task.executes_code and predicate.task.version == task.version:
        for it in items:
            if it.output is None:
                continue
            if by_logprobs:
                found = (it.detail or {}).get("letter_logprobs", {})
                again = task.score_letter_logprobs(found, it.expected, it.meta)
            else:
                again = task.score(it.output, it.expected, it.meta)
            if again.correct != it.correct or again.parsed != it.parsed:
                problems.append(f"item {it.item_id}")
    metrics = summarize_eval(
        items, predicate.task.variants, predicate.task.primary,
        task.instruction_details, predicate.parameters.samples,
        predicate.metrics.interval_unit,
    )  # fmt: skip
    problems += differing_fields(
        predicate.metrics.model_dump(mode="json"), metrics.model_dump(mode="json")
    )
    return problems
