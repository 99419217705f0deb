"""A selection of the corpus written out for other tools: its runs, their raw records and the
evals as Parquet, CSV or JSONL files (DuckDB's own COPY), or each run logged to MLflow."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tokenbench.corpus.filters import Filters
from tokenbench.corpus.selection import RUN_COLUMNS, Selection
from tokenbench.errors import ConfigError, unknown_name
from tokenbench.outputs import output_dir

# --format → (the files' extension, DuckDB's COPY options)
FORMATS: dict[str, tuple[str, str]] = {
    "parquet": ("parquet", "FORMAT parquet"),
    "csv": ("csv", "FORMAT csv, HEADER true"),
    "jsonl": ("jsonl", "FORMAT json"),  # newline-delimited: one object a line
}
DEFAULT_TRACKING_URI = "mlruns"  # a file store in the current directory
RUN_ID_TAG = "tokenbench.run_id"
# The MLflow run's params: what the run was of (the rest of the numeric columns are metrics).
PARAMS = ("model_id", "engine", "engine_version", "quant", "hardware", "concurrency", "rate_rps",
          "suite", "run_id", "comparability_key", "valid")  # fmt: skip
# Numeric columns that are bookkeeping, not a measurement: a single run is a group of 1.
_NOT_METRICS = {"schema_version", "group_runs"}
METRICS = tuple(
    name for name, kind in RUN_COLUMNS.items()
    if kind in ("BIGINT", "DOUBLE") and name not in _NOT_METRICS
)  # fmt: skip
# The files, in the order they are written: name → the query of its rows (the selected runs are
# in _export_runs, the selected evals in _export_evals; `spec` is the view's own bookkeeping).
_QUERIES = {
    "runs": "SELECT r.* EXCLUDE (spec) FROM runs r "
    "WHERE r.path IN (SELECT path FROM _export_runs) ORDER BY r.started_ts, r.path",
    "requests": "SELECT q.* EXCLUDE (spec) FROM requests q "
    "JOIN _export_runs s ON q.path = s.path AND q.spec = s.spec "
    'ORDER BY q.path, q."index", q.worker',
    "evals": "SELECT e.* EXCLUDE (spec) FROM evals e "
    "WHERE e.path IN (SELECT path FROM _export_evals) ORDER BY e.started_ts, e.path",
}


@dataclass(frozen=True, slots=True)
class Written:
    path: Path
    rows: int


def export_files(sel: Selection, filters: Filters, outdir: Path, fmt: str) -> list[Written]:
    """`runs`, `requests` and `evals` of the selection as OUTDIR/<name>.<ext>, each written to a
    temporary name first and then moved over any older file of that name."""
    if fmt not in FORMATS:
        raise unknown_name("--format", fmt, FORMATS)
    output_dir(outdir, "-o")
    ext, options = FORMATS[fmt]
    _select(sel, filters)
    sel.con.execute("SET TimeZone = 'UTC'")  # timestamps as UTC in CSV and JSON text
    return [
        _copy(sel, query, outdir / f"{name}.{ext}", options) for name, query in _QUERIES.items()
    ]


def _select(sel: Selection, filters: Filters) -> None:
    """The selected runs and evals (path and the view's spec) as temp tables, so the COPYs that
    follow need no parameters; a clause naming a column a table lacks selects none of it."""
    for table in ("runs", "evals"):
        cond, params = sel.where(table, filters) or ("FALSE", [])
        sel.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _export_{table} AS "
            f"SELECT path, spec FROM {table} WHERE {cond}", params,
        )  # fmt: skip


def _copy(sel: Selection, query: str, target: Path, options: str) -> Written:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        found = sel.con.execute(f"COPY ({query}) TO '{_quote(tmp)}' ({options})").fetchone()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return Written(target, int(found[0]) if found else 0)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


@dataclass(slots=True)
class Logged:
    """What an export to MLflow did."""

    uri: str
    logged: list[str] = field(default_factory=list)  # the MLflow run ids created
    skipped: int = 0  # runs the store already held (same tokenbench.run_id in the experiment)
    experiments: set[str] = field(default_factory=set)


def tracking_uri(given: str | None) -> str:
    """--tracking-uri, else MLFLOW_TRACKING_URI, else ./mlruns; a local path as a file URI."""
    uri = given or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    return Path(uri).expanduser().absolute().as_uri() if _is_path(uri) else uri


def _is_path(uri: str) -> bool:
    return len(urlsplit(uri).scheme) <= 1  # no scheme, or a Windows drive letter


def export_mlflow(sel: Selection, filters: Filters, uri: str) -> Logged:
    """One MLflow run per selected run envelope, in an experiment named after its suite; runs
    the experiment already holds are skipped, so exporting again adds only new ones."""
    mlflow = _import_mlflow()
    from mlflow.exceptions import MlflowException

    _select(sel, filters)
    rows = _run_rows(sel)
    out = Logged(uri)
    with _file_store_allowed(uri):
        try:
            client = mlflow.MlflowClient(tracking_uri=uri)
            seen: dict[str, tuple[str, set[str]]] = {}  # suite → (experiment id, run ids)
            for row in rows:
                if row["suite"] not in seen:
                    eid = _experiment(client, row["suite"])
                    seen[row["suite"]] = (eid, _logged_ids(client, eid))
                eid, ids = seen[row["suite"]]
                if row["run_id"] in ids:
                    out.skipped += 1
                    continue
                out.logged.append(_log_run(client, eid, row))
                out.experiments.add(row["suite"])
                ids.add(row["run_id"])
        except (MlflowException, ImportError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            before = f" ({len(out.logged)} runs logged before it)" if out.logged else ""
            raise ConfigError(f"MLflow at {uri}: {first}{before}; check --tracking-uri") from None
    return out


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise ConfigError(
            "--to mlflow needs MLflow, which is not installed; "
            "install the mlflow extra: pip install 'tokenbench[mlflow]'"
        ) from None
    return mlflow


@contextlib.contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    """MLflow 3 refuses its file store (./mlruns) unless MLFLOW_ALLOW_FILE_STORE is set; the
    `mlflow` extra (mlflow-skinny) has no database backend, so a local store is a file store:
    allowed for this export when the user named a file URI and did not set the variable."""
    name = "MLFLOW_ALLOW_FILE_STORE"
    if urlsplit(uri).scheme != "file" or name in os.environ:
        yield
        return
    os.environ[name] = "true"
    try:
        yield
    finally:
        os.environ.pop(name, None)


def _run_rows(sel: Selection) -> list[dict[str, Any]]:
    """The selected runs' rows, each with its raw sidecar's path (`_raw`, None without one)."""
    cur = sel.con.execute(
        "SELECT r.* EXCLUDE (spec), f.raw AS _raw FROM runs r LEFT JOIN files f USING (path) "
        "WHERE r.path IN (SELECT path FROM _export_runs) ORDER BY r.started_ts, r.path"
    )
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _experiment(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is None:
        return str(client.create_experiment(name))
    if found.lifecycle_stage != "active":
        raise ConfigError(
            f"the MLflow experiment {name!r} is deleted; restore it (mlflow experiments "
            "restore) or delete it for good (mlflow gc), then export again"
        )
    return str(found.experiment_id)


def _logged_ids(client: Any, experiment_id: str) -> set[str]:
    """The tokenbench run ids the experiment's active runs carry."""
    ids: set[str] = set()
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        ids |= {r.data.tags[RUN_ID_TAG] for r in page if RUN_ID_TAG in r.data.tags}
        token = page.token
        if not token:
            return ids


def _log_run(client: Any, experiment_id: str, row: dict[str, Any]) -> str:
    """One run: params, metrics, tags, the envelope and its raw sidecar as artifacts. The
    tokenbench.run_id tag is set last, so a run cut short is logged again next time."""
    from mlflow.entities import Metric, Param, RunTag

    start_ms = _ms(row["started_ts"])
    run = client.create_run(experiment_id, start_time=start_ms, run_name=run_name(row))
    rid: str = run.info.run_id
    try:
        stamp = start_ms or int(time.time() * 1000)
        client.log_batch(
            rid,
            metrics=[Metric(k, float(v), stamp, 0) for k, v in metric_values(row).items()],
            params=[Param(k, v) for k, v in param_values(row).items()],
            tags=[RunTag(k, v) for k, v in (("signer", row["signer"]),
                                            ("tokenbench.status", row["status"])) if v],
        )  # fmt: skip
        for artifact in (row["path"], row["_raw"]):
            if artifact and Path(artifact).is_file():
                client.log_artifact(rid, artifact)
        client.set_tag(rid, RUN_ID_TAG, row["run_id"])
    except BaseException:
        client.set_terminated(rid, status="FAILED")
        raise
    duration = row["duration_s"]
    end = start_ms + int(duration * 1000) if start_ms is not None and duration else None
    client.set_terminated(rid, status="FINISHED", end_time=end)
    return rid


def run_name(row: dict[str, Any]) -> str:
    """`model c4`; an open-loop run adds its rate, `model c64 r2.5`."""
    rate = row.get("rate_rps")
    return f"{row['model_id']} c{row['concurrency']}" + (f" r{rate:g}" if rate is not None else "")


def param_values(row: dict[str, Any]) -> dict[str, str]:
    """The params of a runs row as MLflow's strings; a null one is left out."""
    out = {}
    for name in PARAMS:
        value = row.get(name)
        if value is not None:
            out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def metric_values(row: dict[str, Any]) -> dict[str, float]:
    """Every measured numeric column of a runs row, by its docs/metrics.md name; nulls left out."""
    return {name: float(row[name]) for name in METRICS if row.get(name) is not None}


def _ms(ts: datetime | None) -> int | None:
    return int(ts.timestamp() * 1000) if ts is not None else None
