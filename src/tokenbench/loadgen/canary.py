"""`bench run --canary`: one extra stream to a local reference server of known timing through each
point's measured phase, in the measured requests' own event loop; how late it stamps the server's
writes is the client's timing error under the run's real load."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.openai import Api, GenerationParams, measure, request_body
from tokenbench.envelope.schema import ErrorBudget
from tokenbench.loadgen.selftest import error_budget
from tokenbench.records import RequestRecord
from tokenbench.reference.process import ReferenceProcess, start_reference
from tokenbench.urls import Endpoint

# Fixed timing, and enough tokens that a request spans many of the measured requests' reads
CANARY_TTFT_MS = 20.0
CANARY_ITL_MS = 5.0
CANARY_TOKENS = 64
CANARY_SCENARIO = f"ttft_ms={CANARY_TTFT_MS:g};itl_ms={CANARY_ITL_MS:g};tokens={CANARY_TOKENS}"
CANARY_PROMPT_ID = "canary"  # in no prompt manifest: the canary's prompt is not the workload's
_FAILED_PAUSE_S = 0.1  # after a failed canary request: no busy loop against a broken server


class Canary:
    """One run's reference server (started once for the whole run) and its per-point streams."""

    def __init__(self, server: ReferenceProcess) -> None:
        self.server = server
        self.body = request_body(GenerationParams(Api.CHAT, CANARY_SCENARIO), "canary",
                                 CANARY_TOKENS)  # fmt: skip

    @classmethod
    def start(cls, workdir: Path) -> Canary:
        return cls(start_reference(workdir / "canary-log"))

    def stop(self) -> None:
        self.server.stop()

    def stream(
        self, anchor_ns: int, sink: Callable[[RequestRecord], None], wall_anchor_ns: int | None
    ) -> CanaryStream:
        """A point's stream; records relative to the monotonic `anchor_ns`, written to `sink`
        on the wall-clock timeline of `wall_anchor_ns` when given (a split run's)."""
        return CanaryStream(self, anchor_ns, sink, wall_anchor_ns)


class CanaryStream:
    """Sends one canary request after another from `start()` until `stop()`, each recorded with
    `canary: True` as it ends (a request cut by the stop too)."""

    def __init__(
        self, canary: Canary, anchor_ns: int, sink: Callable[[RequestRecord], None],
        wall_anchor_ns: int | None,
    ) -> None:  # fmt: skip
        self._canary = canary
        self.anchor_ns = anchor_ns
        self._sink = sink
        self._wall_anchor_ns = wall_anchor_ns
        self._shift_ns = 0
        self.records: list[RequestRecord] = []  # on the monotonic anchor, for the budget
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._wall_anchor_ns is not None:  # monotonic → the coordinator's wall timeline
            self._shift_ns = (time.time_ns() - self._wall_anchor_ns) - (
                time.perf_counter_ns() - self.anchor_ns
            )
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """End the stream where it is: the request in flight is cancelled (and recorded)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _loop(self) -> None:
        client = HttpClient(Endpoint.parse(self._canary.server.base_url))
        try:
            for index in itertools.count():
                record = RequestRecord(
                    index=index, worker=0, slot=0, warmup=False, prompt_id=CANARY_PROMPT_ID,
                    scheduled_ns=time.perf_counter_ns() - self.anchor_ns, canary=True,
                )  # fmt: skip
                try:
                    await measure(client, Api.CHAT, self._canary.body, record, self.anchor_ns,
                                  0, Timeouts(60.0))  # fmt: skip
                finally:
                    self._write(record)
                if not record.ok:
                    await asyncio.sleep(_FAILED_PAUSE_S)
        finally:
            await client.aclose()

    def _write(self, record: RequestRecord) -> None:
        self.records.append(record)
        self._sink(shifted(record, self._shift_ns) if self._shift_ns else record)

    async def budget(self, concurrency: int) -> ErrorBudget:
        """The stream's error budget against the server's log (after `stop()`)."""
        ids = {r.response_id for r in self.records if r.ok and r.response_id}
        truth = await asyncio.to_thread(self._canary.server.log_for, ids)
        return error_budget(self.records, self.anchor_ns, truth, source="canary",
                            concurrency=concurrency + 1, scenario=CANARY_SCENARIO)  # fmt: skip


def shifted(record: RequestRecord, by_ns: int) -> RequestRecord:
    """The record with every time moved by `by_ns` (onto another timeline)."""

    def move(t: int | None) -> int | None:
        return None if t is None else t + by_ns

    return replace(
        record, scheduled_ns=record.scheduled_ns + by_ns, send_ns=move(record.send_ns),
        first_token_ns=move(record.first_token_ns), end_ns=move(record.end_ns),
        first_content_ns=move(record.first_content_ns),
        chunk_ns=[t + by_ns for t in record.chunk_ns],
    )  # fmt: skip
