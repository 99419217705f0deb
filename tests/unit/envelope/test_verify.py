"""`bench verify` recomputes the metrics with the definitions the envelope states, so an envelope
written before a definition changed still verifies, and a figure edited under today's does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.envelopes import minimal_statement, open_run, write_run_envelope
from tokenbench.envelope.verify import VerifyError, check_metrics
from tokenbench.metrics.summary import _SINCE_2, summarize
from tokenbench.records import RequestRecord

MS = 1_000_000
_ENERGY_REASON = minimal_statement()["predicate"]["energy"]["reason"]  # what the helper states


def _llama_server_eos(index: int) -> RequestRecord:
    """Text in one token per chunk, then a textless finish chunk; usage counts the EOS too."""
    chunks = [(index + k + 1) * MS for k in range(3)]
    return RequestRecord(index=index, worker=0, slot=0, warmup=False, prompt_id="p",
                         scheduled_ns=index * MS, send_ns=index * MS, first_token_ns=chunks[0],
                         chunk_ns=chunks, end_ns=chunks[-1] + MS, input_tokens=8,
                         output_tokens=len(chunks) + 1, tokens_from_usage=True,
                         finish_reason="stop")  # fmt: skip


def _as_first_tool_wrote_them(records: list[RequestRecord]) -> dict[str, object]:
    """Metrics as a tool before definitions 2 stated them: the old figures, none of the new
    fields (not even `definitions`)."""
    doc = summarize(records, energy_reason=_ENERGY_REASON, definitions=1).model_dump(mode="json")
    for name in (*_SINCE_2, "definitions"):
        del doc[name]
    return doc


def test_an_envelope_with_the_first_definitions_still_verifies(tmp_path: Path) -> None:
    records = [_llama_server_eos(i) for i in range(3)]
    old = _as_first_tool_wrote_them(records)
    new = summarize(records)
    assert old["requests_multi_token_chunks"] != new.requests_multi_token_chunks  # it changed
    check_metrics(open_run(write_run_envelope(tmp_path / "old", records, metrics=old)))
    today = summarize(records, energy_reason=_ENERGY_REASON).model_dump(mode="json")
    check_metrics(open_run(write_run_envelope(tmp_path / "new", records, metrics=today)))


def test_old_figures_stated_under_todays_definitions_do_not_verify(tmp_path: Path) -> None:
    records = [_llama_server_eos(i) for i in range(3)]
    mislabelled = {**_as_first_tool_wrote_them(records), "definitions": 2}
    path = write_run_envelope(tmp_path, records, metrics=mislabelled)
    with pytest.raises(VerifyError, match="requests_multi_token_chunks"):
        check_metrics(open_run(path))


def _counted(index: int, n_bytes: int | None = 40, words: int | None = 9) -> RequestRecord:
    record = _llama_server_eos(index)
    record.output_bytes, record.output_words = n_bytes, words
    return record


def test_text_speed_is_recomputed_from_the_records(tmp_path: Path) -> None:
    records = [_counted(i) for i in range(3)]
    today = summarize(records, energy_reason=_ENERGY_REASON).model_dump(mode="json")
    assert today["output_words_per_s"] == pytest.approx(27 / 0.006)  # 3 × 9 words over 6 ms
    assert today["tokens_per_word"] == pytest.approx(12 / 27)
    check_metrics(open_run(write_run_envelope(tmp_path / "ok", records, metrics=today)))
    for name in ("output_bytes_per_s", "output_words_per_s", "tokens_per_word"):
        edited = {**today, name: today[name] * 1.2}
        path = write_run_envelope(tmp_path / name, records, metrics=edited)
        with pytest.raises(VerifyError, match=name):
            check_metrics(open_run(path))
    # the records changed under the stated figures (a word more per request): caught too
    more = [_counted(i, words=10) for i in range(3)]
    path = write_run_envelope(tmp_path / "records", more, metrics=today)
    with pytest.raises(VerifyError, match="output_words_per_s"):
        check_metrics(open_run(path))


def test_an_envelope_older_than_the_text_counts_still_verifies(tmp_path: Path) -> None:
    """Neither its records nor its metrics have the counts: recomputed, the figures are null
    with a reason the envelope never stated, and it verifies."""
    records = [_counted(i, None, None) for i in range(3)]
    doc = summarize(records, energy_reason=_ENERGY_REASON).model_dump(mode="json")
    for name in ("output_bytes_total", "output_words_total", "output_bytes_per_s",
                 "output_words_per_s", "tokens_per_word"):  # fmt: skip
        del doc[name]
        del doc["unmeasured"][name]
    check_metrics(open_run(write_run_envelope(tmp_path, records, metrics=doc)))
