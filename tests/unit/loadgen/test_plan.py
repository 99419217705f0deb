from __future__ import annotations

import pytest

from tokenbench.errors import ConfigError
from tokenbench.loadgen.plan import closed_loop_plan, split


def test_plan_puts_warmup_first_and_cycles_prompts() -> None:
    plan = closed_loop_plan(prompts=3, requests=5, warmup=2, concurrency=4)
    assert [r.warmup for r in plan.requests] == [True, True, False, False, False, False, False]
    assert [r.prompt_index for r in plan.measured] == [2, 0, 1, 2, 0]
    assert [r.index for r in plan.requests] == list(range(7))


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_split_preserves_every_request_and_the_concurrency(workers: int) -> None:
    plan = closed_loop_plan(prompts=4, requests=20, warmup=3, concurrency=5)
    shares = split(plan, workers)
    assert sum(s.concurrency for s in shares) == 5
    merged = sorted(r.index for s in shares for r in s.requests)
    assert merged == list(range(23))
    assert len(shares) == min(workers, 5)


def test_bad_plans_are_refused() -> None:
    with pytest.raises(ConfigError):
        closed_loop_plan(1, 1, 0, 0)
    with pytest.raises(ConfigError):
        closed_loop_plan(1, 0, 0, 1)
    with pytest.raises(ConfigError):
        split(closed_loop_plan(1, 1, 0, 1), 0)
