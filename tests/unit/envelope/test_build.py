"""Sealing a point: what the envelope says about the engine's series when nothing was scraped,
and the power figures kept to a --cooldown energy window; `bench verify` recomputes both."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.envelopes import minimal_statement, open_run
from tokenbench.envelope.build import PointFiles, seal_point
from tokenbench.envelope.schema import EnergyInfo, RunDraft, RunPredicate, ScrapeInfo
from tokenbench.envelope.verify import VerifyError, check_metrics
from tokenbench.metrics.validity import ValidityRules
from tokenbench.records import RequestRecord
from tokenbench.telemetry.sampler import Row

S = 1_000_000_000
NO_ENERGY = EnergyInfo(method="none", scope=None, window_s=None, energy_j=None,
                       idle_watts=None, reason="no counter here")  # fmt: skip


def _record(i: int, cooldown: bool = False) -> RequestRecord:
    return RequestRecord(index=i, worker=0, slot=0, warmup=False, prompt_id="p",
                         scheduled_ns=i * S, send_ns=i * S, first_token_ns=i * S + S // 10,
                         end_ns=i * S + S // 2, input_tokens=10, output_tokens=5,
                         tokens_from_usage=True, cooldown=cooldown)  # fmt: skip


def _seal(
    folder: Path, scrape: ScrapeInfo | None, rows: list[Row] | None = None,
    energy: EnergyInfo = NO_ENERGY, records: int = 2,
) -> tuple[RunPredicate, Path]:  # fmt: skip
    """Seal one point over hand-made records (and telemetry rows, when given), unsigned."""
    folder.mkdir(parents=True, exist_ok=True)
    files = PointFiles(folder, "m__hand__c1")
    files.raw.write_bytes(b"".join(_record(i).to_json() + b"\n" for i in range(records)))
    files.config.write_text("{}")
    files.prompts.write_text("{}")
    if rows is not None:
        files.telemetry.write_bytes(b"".join(r.to_json() + b"\n" for r in rows))
    body: dict[str, Any] = minimal_statement()["predicate"]
    draft = RunDraft.model_validate(
        {**{k: body[k] for k in RunDraft.model_fields if k in body}, "scrape": scrape}
    )
    predicate = seal_point(files, draft, status="complete", finished_at="x", energy=energy,
                           rules=ValidityRules(), loop_lag_p99_ms=None, extra_reasons=[],
                           key=None)  # fmt: skip
    return predicate, files.envelope


def test_no_scrape_without_a_sidecar_says_the_series_is_missing_and_why(tmp_path: Path) -> None:
    predicate, path = _seal(tmp_path, ScrapeInfo(interval_s=None, reason="--no-scrape"))
    assert predicate.scrape == ScrapeInfo(interval_s=None, reason="--no-scrape")
    server = predicate.server
    assert server is not None
    assert (server.series, server.scrapes, server.failures) == ("missing", 0, 0)
    assert server.reason == "not scraped: --no-scrape"
    assert (predicate.telemetry, predicate.reconciliation) == (None, None)
    check_metrics(open_run(path))  # recomputed from the stated scrape, with no sidecar


def test_a_profile_without_an_endpoint_says_so_beside_the_process_series(tmp_path: Path) -> None:
    why = "the engine profile for ollama names no /metrics endpoint"
    rows = [Row("process", 0, {"cpu_s": 1.0, "rss_bytes": 1e8}, mark="start"),
            Row("process", S, {"cpu_s": 1.5, "rss_bytes": 2e8}, mark="end")]  # fmt: skip
    predicate, path = _seal(tmp_path, ScrapeInfo(interval_s=None, reason=why), rows)
    assert predicate.server is not None
    assert predicate.server.reason == f"not scraped: {why}"
    assert predicate.telemetry is not None
    assert predicate.telemetry.engine_cpu_cores_mean == pytest.approx(0.5)
    check_metrics(open_run(path))


def test_a_scraped_point_records_its_interval(tmp_path: Path) -> None:
    rows = [Row("prometheus", 0, {"generation_tokens_total": 0.0}, mark="start"),
            Row("prometheus", 3 * S, {"generation_tokens_total": 10.0}, mark="end")]  # fmt: skip
    predicate, path = _seal(tmp_path, ScrapeInfo(interval_s=0.5), rows)
    assert predicate.scrape == ScrapeInfo(interval_s=0.5)
    assert predicate.server is not None
    assert (predicate.server.series, predicate.server.reason) == ("complete", None)
    assert predicate.server.generation_tokens == 10
    check_metrics(open_run(path))


def test_a_draft_from_before_the_scrape_was_recorded_states_no_server(tmp_path: Path) -> None:
    predicate, path = _seal(tmp_path, None)
    assert (predicate.scrape, predicate.server) == (None, None)
    check_metrics(open_run(path))


def test_an_edited_reason_does_not_verify(tmp_path: Path) -> None:
    _, path = _seal(tmp_path, ScrapeInfo(interval_s=None, reason="--no-scrape"))
    # the reason sits in the payload (base64; this envelope is unsigned): rewrite it there
    envelope = orjson.loads(path.read_bytes())
    statement = orjson.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["server"]["reason"] = "not scraped: the engine was down"
    envelope["payload"] = base64.b64encode(orjson.dumps(statement)).decode()
    path.write_bytes(orjson.dumps(envelope))
    with pytest.raises(VerifyError, match=r"server\.reason"):
        check_metrics(open_run(path))


def test_cooldown_power_figures_keep_to_the_energy_counters_window(tmp_path: Path) -> None:
    gpu = [Row("nvml", int(t * S), {"power_w": w}, mark=m)
           for t, w, m in ((0, 100.0, "start"), (1, 100.0, None), (2, 300.0, None),
                           (4, 300.0, "end"))]  # fmt: skip
    # the counter: 0-2 s, 300 J; the whole series integrates to 900 J
    window = {"window_start_ns": 0, "window_end_ns": 2 * S}
    energy = NO_ENERGY.model_copy(
        update={"method": "counter", "energy_j": 300.0, "reason": None, **window}
    )
    predicate, path = _seal(tmp_path, ScrapeInfo(interval_s=None, reason="--no-scrape"), gpu,
                            energy, records=3)  # fmt: skip
    assert predicate.telemetry is not None
    assert predicate.telemetry.power_integral_j == pytest.approx(300)
    assert not any("energy cross-check" in w for w in predicate.validity.warnings)
    check_metrics(open_run(path))
