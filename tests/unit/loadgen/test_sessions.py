"""The session runner against the scripted SSE server: every turn resends the whole history
with the model's real earlier answers, waits its pause, stops its session at a failed turn, and
concurrency counts sessions in flight."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ScriptedServer
from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.openai import Api, GenerationParams
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.sessions import SessionPlan, run_sessions
from tokenbench.loadgen.worker import WorkerContext
from tokenbench.records import ErrorKind, RequestRecord
from tokenbench.urls import Endpoint
from tokenbench.workloads.conversations import SessionScript, Turn

OVERHEAD = 7  # the scripted server's chat template tokens (its "tokenizer" counts words)
# The scripted model answers by what the prompt (the whole history) holds: the first turn gets
# "echo-one done"; a prompt holding that answer gets "echo-two done", and so on. A turn sent
# without the earlier answers would get "echo-one done" again.
ANSWERS = {"*": [["echo-two", "echo-three done"], ["echo-one", "echo-two done"],
                 ["", "echo-one done"]]}  # fmt: skip
REPLIES = ["echo-one done", "echo-two done", "echo-three done"]
FAST = "ttft_ms=5;itl_ms=1"


def _server(factory: Callable[..., ScriptedServer], tmp_path: Path) -> ScriptedServer:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS))
    return factory("--template-overhead", str(OVERHEAD), "--answers", str(answers))


def _script(session: int, pauses: tuple[float, ...] = (0.0, 0.0, 0.0), system: str | None = None
            ) -> SessionScript:  # fmt: skip
    texts = [f"s{session} alpha first question", f"s{session} beta second", f"s{session} gamma"]
    return SessionScript(session, tuple(Turn(t, 16, p) for t, p in zip(texts, pauses, strict=True)),
                         system)  # fmt: skip


def _run(
    server: ScriptedServer, plan: SessionPlan, model: str = FAST
) -> tuple[list[RequestRecord], dict[int, str], RunControl]:
    """Run the plan; the records in the order they ended, and each measured record's answer."""
    records: list[RequestRecord] = []
    samples: list[tuple[RequestRecord, list[str]]] = []
    control = RunControl(drain_s=5)

    async def go() -> None:
        client = HttpClient(Endpoint.parse(server.base_url))
        try:
            ctx = WorkerContext(
                worker_id=0, client=client, api=Api.CHAT, bodies=[], prompt_ids=[],
                timeouts=Timeouts(10.0), anchor_ns=time.perf_counter_ns(),
                on_record=records.append, output_samples=samples, sample_limit=1000,
            )  # fmt: skip
            await run_sessions(ctx, GenerationParams(Api.CHAT, model), plan, control)
        finally:
            await client.aclose()

    asyncio.run(go())
    return records, {r.index: "".join(text) for r, text in samples}, control


def _of(records: list[RequestRecord], session: int) -> list[RequestRecord]:
    return sorted((r for r in records if r.session == session and not r.warmup),
                  key=lambda r: r.turn or 0)  # fmt: skip


def _words(text: str) -> int:
    return len(text.split())


def test_each_turn_resends_the_history_with_the_real_answers(
    scripted_server_factory: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = _server(scripted_server_factory, tmp_path)
    system = "You are terse."
    script = _script(0, system=system)
    records, answers, control = _run(server, SessionPlan(1, (), (script,)))
    assert control.status == "complete"
    turns = _of(records, 0)
    assert [r.turn for r in turns] == [0, 1, 2]
    assert all(r.ok for r in turns)
    assert [answers[r.index].strip() for r in turns] == REPLIES  # each saw the answer before
    # The server's count of the prompt: system, every user turn so far and every answer before.
    history = _words(system)
    for k, r in enumerate(turns):
        history += _words(script.turns[k].text)
        assert r.input_tokens == history + OVERHEAD
        history += _words(REPLIES[k])
    assert all(r.prompt_id != turns[0].prompt_id for r in turns[1:])


def test_pauses_come_after_the_previous_answer(
    scripted_server_factory: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = _server(scripted_server_factory, tmp_path)
    pauses = (0.0, 0.3, 0.2)
    records, _, _ = _run(server, SessionPlan(1, (), (_script(0, pauses),)))
    turns = _of(records, 0)
    assert len(turns) == 3
    for k in (1, 2):
        before = turns[k - 1].end_ns
        assert before is not None
        assert turns[k].scheduled_ns >= before + int(pauses[k] * 1e9)
        sent = turns[k].send_ns
        assert sent is not None
        assert sent >= turns[k].scheduled_ns


def test_a_failed_turn_ends_its_session(
    scripted_server_factory: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = _server(scripted_server_factory, tmp_path)
    # Every second request fails (503): each session's second turn, one session at a time.
    plan = SessionPlan(1, (), (_script(0), _script(1)))
    records, _, control = _run(server, plan, f"{FAST};fail_every=2")
    assert control.status == "complete"  # an HTTP error is the server's answer, not a lost one
    for session in (0, 1):
        turns = _of(records, session)
        assert [r.turn for r in turns] == [0, 1]  # turn 2 never sent
        assert [r.ok for r in turns] == [True, False]
        assert turns[1].error_kind is ErrorKind.HTTP
    assert len(records) == 4


def test_concurrency_counts_sessions_in_flight(
    scripted_server_factory: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = _server(scripted_server_factory, tmp_path)
    scripts = tuple(_script(s, (0.0, 0.05, 0.05)) for s in range(5))
    warm = (SessionScript(99, (Turn("warm up", 4),)),)
    records, _, _ = _run(server, SessionPlan(2, warm, scripts), "ttft_ms=20;itl_ms=2")
    warmups = [r for r in records if r.warmup]
    assert len(warmups) == 1
    assert warmups[0].session is None  # warmup belongs to no measured session
    measured = [r for r in records if not r.warmup]
    assert len(measured) == 5 * 3
    assert {r.slot for r in measured} == {0, 1}
    spans = {}
    for s in range(5):
        turns = _of(records, s)
        assert [r.turn for r in turns] == [0, 1, 2]
        assert len({r.slot for r in turns}) == 1  # a session keeps its slot
        first, last = turns[0].send_ns, turns[-1].end_ns
        assert first is not None
        assert last is not None
        spans[s] = (first, last, turns[0].slot)
    for s, (start, _, _) in spans.items():  # sessions in flight when each one starts
        in_flight = [t for t, (a, b, _) in spans.items() if a <= start < b]
        assert s in in_flight
        assert len(in_flight) <= 2
    for slot in (0, 1):  # a slot takes its next session only when its last one ended
        mine = sorted((a, b) for a, b, sl in spans.values() if sl == slot)
        assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(mine))
