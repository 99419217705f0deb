"""`bench export`: the files hold the runs view's rows and the sidecars' records (with the figures
derived per request), --where selects, mistakes are one line, and MLflow gets one run per run
envelope, once."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.support.envelopes import open_run, sidecar, write_run_envelope
from tokenbench.cli.main import main
from tokenbench.corpus.filters import Filters
from tokenbench.corpus.index import RECORD_COLUMNS
from tokenbench.corpus.loader import INDEX_DIR
from tokenbench.corpus.selection import selected
from tokenbench.envelope import keys
from tokenbench.envelope.io import seal, statement_payload, write_envelope
from tokenbench.envelope.schema import RAW_SUFFIX
from tokenbench.errors import ConfigError
from tokenbench.records import RequestRecord
from tokenbench.report.export import export_files, export_mlflow, tracking_uri

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "envelopes-v2-2026-11-30"
DERIVED = ["ttft_ms", "e2e_ms", "tpot_ms", "ttft_from_schedule_ms", "itl_ms", "measured", "ok"]
READ = {"parquet": "read_parquet", "csv": "read_csv", "jsonl": "read_json"}


def _records(n: int, step_ns: int) -> list[RequestRecord]:
    """n requests, the first a warmup one, each with its own TTFT (0.5 ms + i × step)."""
    out = []
    for i in range(n):
        send = 1_000_000 * i + 250
        first = send + 500_000 + step_ns * i
        out.append(RequestRecord(i, 0, i, i == 0, f"p{i}", 1_000_000 * i, send_ns=send,
                                 first_token_ns=first, chunk_ns=[first, first + 3_000_000],
                                 end_ns=first + 3_000_000, input_tokens=10, output_tokens=2,
                                 tokens_from_usage=True, http_status=200))  # fmt: skip
    return out


def _corpus(folder: Path) -> dict[str, list[RequestRecord]]:
    made = {"a": _records(3, 1_250_000), "b": _records(4, 2_000_000)}
    for model, records in made.items():
        _resign(write_run_envelope(folder / model, records, model), f"01JEXPORTRUN{model.upper()}")
    return made


def _resign(path: Path, run_id: str) -> None:
    """The envelope signed again with its own run id (write_run_envelope gives every one the
    same), as two points of a sweep have."""
    opened = open_run(path)
    predicate = opened.predicate.model_copy(update={"run_id": run_id})
    key, _ = keys.load_or_create()
    write_envelope(seal(statement_payload(predicate, [sidecar(opened, RAW_SUFFIX)]), key), path)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[dict[str, Any]]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description or []]
    return names, [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_files_hold_the_runs_view_and_the_sidecars_records(tmp_path: Path, fmt: str) -> None:
    made = _corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    with selected([str(tmp_path / "corpus")], keys.trusted_keys(), records=True) as sel:
        written = export_files(sel, Filters(), out, fmt)
        names, view = _rows(sel.con, "SELECT * EXCLUDE (spec) FROM runs ORDER BY path")
    assert [w.path.name for w in written] == [f"{t}.{fmt}" for t in ("runs", "requests", "evals")]
    assert [w.rows for w in written] == [2, 7, 0]
    assert sorted(p.name for p in out.iterdir()) == sorted(w.path.name for w in written)
    con = duckdb.connect()
    read = READ[fmt]
    # CSV has no types: the reader guesses them, and the made-up key "0" would read as a number
    typed = ", types={'comparability_key': 'VARCHAR'}" if fmt == "csv" else ""
    got_names, runs = _rows(con, f"SELECT * FROM {read}('{out}/runs.{fmt}'{typed}) ORDER BY path")
    assert got_names == names
    assert "spec" not in got_names
    for col in (
        "path",
        "run_id",
        "model_id",
        "suite",
        "requests_ok",
        "output_tokens_total",
        "ttft_p50_ms",
        "output_throughput_tok_per_s",
        "comparability_key",
        "valid",
    ):
        assert [r[col] for r in runs] == pytest.approx([r[col] for r in view]), col
    if fmt == "parquet":  # typed: every value as the view holds it
        assert runs == view
    cols, reqs = _rows(con, f"SELECT * FROM {read}('{out}/requests.{fmt}') "
                            'ORDER BY path, "index"')  # fmt: skip
    assert cols == ["path", "run_id", *RECORD_COLUMNS, *DERIVED]
    assert len(reqs) == sum(len(r) for r in made.values())
    by_model = {m: [r for r in reqs if f"/{m}/" in r["path"]] for m in made}
    for model, records in made.items():
        assert [r["prompt_id"] for r in by_model[model]] == [r.prompt_id for r in records]
        assert [r["measured"] for r in by_model[model]] == [not r.warmup for r in records]
    rec = made["b"][2]  # by hand, from the record's own stamps
    assert rec.first_token_ns is not None
    assert rec.send_ns is not None
    assert by_model["b"][2]["ttft_ms"] == pytest.approx((rec.first_token_ns - rec.send_ns) / 1e6)
    assert by_model["b"][2]["ttft_ms"] == pytest.approx(4.5)
    run_ids = {r["path"]: r["run_id"] for r in runs}
    assert all(r["run_id"] == run_ids[r["path"]] for r in reqs)


def test_where_selects_the_runs_and_only_their_records(tmp_path: Path) -> None:
    _corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    filters = Filters.parse(["model=b"], None)
    with selected([str(tmp_path / "corpus")], keys.trusted_keys(), records=True) as sel:
        written = export_files(sel, filters, out, "parquet")
    assert [w.rows for w in written] == [1, 4, 0]
    con = duckdb.connect()
    paths = con.execute(f"SELECT DISTINCT path FROM '{out}/requests.parquet'").fetchall()
    assert [p[0].split("/")[-2] for p in paths] == ["b"]
    none = Filters.parse(["task=custom"], None)  # an evals column: no run can match it
    with selected([str(tmp_path / "corpus")], keys.trusted_keys(), records=True) as sel:
        assert [w.rows for w in export_files(sel, none, out, "parquet")] == [0, 0, 0]
    described = con.execute(f"DESCRIBE SELECT * FROM '{out}/runs.parquet'").fetchall()
    assert "ttft_p50_ms" in [d[0] for d in described]  # an empty file keeps its columns


def test_the_cli_writes_evals_beside_the_runs_and_says_each_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "fixtures"
    # the copy gets the index, not the fixtures; one left there by a bench command run by
    # hand is not copied, since an older index is rebuilt with a note on stderr
    shutil.copytree(FIXTURES, corpus, ignore=shutil.ignore_patterns(INDEX_DIR))
    out = tmp_path / "out"
    code = main(["export", str(corpus), "--key", str(corpus / "signer.pub.pem"), "-o", str(out),
                 "--format", "jsonl"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    lines = err.strip().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        f"wrote {out / name}.jsonl" for name in ("runs", "requests", "evals")
    ]
    con = duckdb.connect()
    runs = con.execute(f"SELECT suite FROM read_json('{out}/runs.jsonl')").fetchall()
    assert runs
    assert all(s == ("llm.inference.chatbot-short",) for s in runs)
    evals = con.execute(f"SELECT task, items FROM read_json('{out}/evals.jsonl')").fetchall()
    assert len(evals) == 1
    assert evals[0][1] > 0
    assert lines[0].endswith(f"({len(runs)} rows)")
    assert lines[2].endswith("(1 rows)")


def test_cli_mistakes_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _corpus(tmp_path / "corpus")
    with pytest.raises(SystemExit) as exc:
        main(["export", str(tmp_path / "corpus"), "-o", str(tmp_path / "o"), "--format", "xlsx"])
    assert exc.value.code == 2
    assert "invalid choice: 'xlsx'" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    for args, needle in (([], "needs -o OUTDIR"), (["-o", str(tmp_path / "afile")], "is a file"),
                         (["--tracking-uri", "x", "-o", "d"], "add --to mlflow")):  # fmt: skip
        assert main(["export", str(tmp_path / "corpus"), *args]) == 2
        err = capsys.readouterr().err
        assert needle in err, err
        assert len(err.strip().splitlines()) == 1, err
    sel = selected([str(tmp_path / "corpus")], keys.trusted_keys())
    with sel as opened, pytest.raises(ConfigError, match="unknown --format 'xlsx'"):
        export_files(opened, Filters(), tmp_path / "o", "xlsx")


def test_files_of_the_same_name_are_replaced(tmp_path: Path) -> None:
    _corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    out.mkdir()
    (out / "runs.csv").write_text("stale\n")
    with selected([str(tmp_path / "corpus")], keys.trusted_keys(), records=True) as sel:
        export_files(sel, Filters(), out, "csv")
    assert (out / "runs.csv").read_text().startswith("path,run_id,")
    assert sorted(p.name for p in out.iterdir()) == ["evals.csv", "requests.csv", "runs.csv"]


def test_the_default_tracking_store_is_mlruns_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(None) == (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert tracking_uri(None) == "http://mlflow.example:5000"
    assert tracking_uri("store") == (tmp_path / "store").as_uri()


def test_mlflow_gets_one_run_per_envelope_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    _corpus(tmp_path / "corpus")
    store = tmp_path / "mlruns"
    args = ["export", str(tmp_path / "corpus"), "--to", "mlflow", "--tracking-uri", str(store)]
    assert main(args) == 0
    assert f"mlflow: 2 runs logged to {store.as_uri()}, 0 already" in capsys.readouterr().err
    assert main(args) == 0
    assert "mlflow: 0 runs logged" in (err := capsys.readouterr().err), err
    assert "2 already there skipped" in err
    with selected([str(tmp_path / "corpus")], keys.trusted_keys()) as sel:
        _, view = _rows(sel.con, "SELECT * FROM runs ORDER BY path")
        assert export_mlflow(sel, Filters(), store.as_uri()).skipped == 2
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 refuses a file store without
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=store.as_uri())
    experiment = client.get_experiment_by_name("s")  # named after the suite
    assert experiment is not None
    logged = client.search_runs([experiment.experiment_id], order_by=["attributes.run_name"])
    assert [r.info.run_name for r in logged] == ["a c1", "b c1"]
    for run, row in zip(logged, view, strict=True):
        params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
        assert params["model_id"] == row["model_id"]
        assert params["concurrency"] == "1"
        assert params["valid"] == str(row["valid"]).lower()
        assert params["comparability_key"] == row["comparability_key"]
        assert "quant" not in params  # null: left out
        assert metrics["ttft_p50_ms"] == pytest.approx(row["ttft_p50_ms"])
        assert metrics["output_tokens_total"] == row["output_tokens_total"]
        assert "joules_per_token" not in metrics  # null: left out
        assert tags["tokenbench.run_id"] == row["run_id"]
        assert tags["signer"] == row["signer"]
        assert run.info.status == "FINISHED"
        files = sorted(f.path for f in client.list_artifacts(run.info.run_id))
        model = row["model_id"]
        assert files == sorted([f"{model}__hand__c1.json", f"{model}__hand__c1{RAW_SUFFIX}"])


def test_without_mlflow_the_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(tmp_path / "corpus")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    sel = selected([str(tmp_path / "corpus")], keys.trusted_keys())
    with sel as opened, pytest.raises(ConfigError, match=r"pip install 'tokenbench\[mlflow\]'"):
        export_mlflow(opened, Filters(), (tmp_path / "mlruns").as_uri())


def test_a_store_mlflow_cannot_use_is_one_line(tmp_path: Path) -> None:
    _corpus(tmp_path / "corpus")
    sel = selected([str(tmp_path / "corpus")], keys.trusted_keys())
    with sel as opened, pytest.raises(ConfigError, match=r"^MLflow at bogus://x: .*tracking-uri$"):
        export_mlflow(opened, Filters(), "bogus://x")
