"""The corpus index: DuckDB tables of each envelope's verification outcome, summary row and raw
records, so an envelope is verified and parsed once, not by every command. The signed files stay
the truth: a changed file is verified again, and an index that cannot be read is rebuilt."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
from pydantic import BaseModel

from tokenbench.corpus.loader import walk
from tokenbench.corpus.rows import SummaryRow, run_row
from tokenbench.digests import file_sha256
from tokenbench.envelope.schema import (
    ITEMS_SUFFIX,
    RAW_SUFFIX,
    TELEMETRY_SUFFIX,
    RunPredicate,
)
from tokenbench.envelope.verify import MAX_ENVELOPE_BYTES, VerifyError, open_envelope, subject
from tokenbench.records import read_records

INDEX_FILE = "index.duckdb"
INDEX_SCHEMA = "5"  # bumped when a table changes; an index of another version is rebuilt
_INSERT_BATCH = 5000

_SQL_TYPES: dict[Any, str] = {str: "VARCHAR", int: "BIGINT", float: "DOUBLE", bool: "BOOLEAN"}


def _sql_type(annotation: Any) -> str:
    """DuckDB's type for a SummaryRow field: scalars as themselves, models as JSON."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "JSON"
    return _SQL_TYPES[annotation]


ROW_COLUMNS: dict[str, str] = {
    name: _sql_type(f.annotation) for name, f in SummaryRow.model_fields.items()
}
JSON_COLUMNS = [name for name, kind in ROW_COLUMNS.items() if kind == "JSON"]
# Beside the summary row: what --since, the "latest run" and the key-mismatch warning need.
RUN_EXTRA = {
    "sweep_id": "VARCHAR", "started_ts": "TIMESTAMPTZ", "hardware_fingerprint": "VARCHAR",
    "comparability_engine": "VARCHAR", "suite_digest": "VARCHAR", "schema_version": "BIGINT",
}  # fmt: skip
EVAL_COLUMNS = {
    "path": "VARCHAR", "run_id": "VARCHAR", "started_at": "VARCHAR", "started_ts": "TIMESTAMPTZ",
    "task": "VARCHAR", "model_id": "VARCHAR", "engine": "VARCHAR", "quant": "VARCHAR",
    "hardware": "VARCHAR", "valid": "BOOLEAN", "signer": "VARCHAR", "items": "BIGINT",
}  # fmt: skip
FILE_COLUMNS = {
    "path": "VARCHAR", "size": "BIGINT", "mtime_ns": "BIGINT", "digest": "VARCHAR",
    "kind": "VARCHAR", "signer": "VARCHAR", "reason": "VARCHAR", "trust": "VARCHAR",
    "predicate": "VARCHAR", "raw": "VARCHAR", "telemetry": "VARCHAR", "items": "VARCHAR",
    # the raw sidecar's signed sha256, and whether its records are in `requests` (a sidecar
    # that arrives after its envelope is loaded by a later refresh)
    "raw_digest": "VARCHAR", "records": "BOOLEAN",
}  # fmt: skip
# The raw records as the sidecar holds them (records.RequestRecord), one row per request.
RECORD_COLUMNS = {
    "index": "BIGINT", "worker": "BIGINT", "slot": "BIGINT", "warmup": "BOOLEAN",
    "prompt_id": "VARCHAR", "scheduled_ns": "BIGINT", "send_ns": "BIGINT",
    "first_token_ns": "BIGINT", "chunk_ns": "BIGINT[]", "chunk_tokens": "BIGINT[]",
    "end_ns": "BIGINT", "input_tokens": "BIGINT", "cached_input_tokens": "BIGINT",
    "output_tokens": "BIGINT", "tokens_from_usage": "BOOLEAN", "http_status": "BIGINT",
    "error_kind": "VARCHAR", "error": "VARCHAR", "response_id": "VARCHAR",
    "finish_reason": "VARCHAR", "server_timings": "JSON", "attempts": "BIGINT",
    "cooldown": "BOOLEAN", "first_content_ns": "BIGINT", "reasoning_tokens": "BIGINT",
    "session": "BIGINT", "turn": "BIGINT", "session_turns": "BIGINT", "canary": "BOOLEAN",
    "output_bytes": "BIGINT", "output_words": "BIGINT",
}  # fmt: skip
# Per request, as docs/metrics.md defines them.
DERIVED_SQL = """
    (first_token_ns - send_ns) / 1e6 AS ttft_ms,
    (end_ns - send_ns) / 1e6 AS e2e_ms,
    CASE WHEN output_tokens >= 2 THEN (end_ns - first_token_ns) / 1e6 / (output_tokens - 1)
    END AS tpot_ms,
    (first_token_ns - scheduled_ns) / 1e6 AS ttft_from_schedule_ms,
    CASE WHEN len(chunk_ns) >= 2 THEN list_transform(range(2, len(chunk_ns) + 1),
        lambda i: (chunk_ns[i] - chunk_ns[i - 1]) / 1e6 / greatest(coalesce(chunk_tokens[i], 1), 1))
    ELSE [] END AS itl_ms,
    NOT (warmup OR cooldown OR coalesce(canary, false)) AS measured,
    error_kind IS NULL AS ok"""


def _ddl(name: str, columns: dict[str, str], create: str = "CREATE TABLE IF NOT EXISTS") -> str:
    cols = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    return f"{create} {name} ({cols})"


def create_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    run_cols = ROW_COLUMNS | RUN_EXTRA
    req_cols = {"path": "VARCHAR", "run_id": "VARCHAR"} | RECORD_COLUMNS
    con.execute(_ddl(f"{catalog}.meta", {"key": "VARCHAR", "value": "VARCHAR"}))
    con.execute(_ddl(f"{catalog}.files", FILE_COLUMNS))
    con.execute(_ddl(f"{catalog}.runs", run_cols))
    con.execute(_ddl(f"{catalog}.evals", EVAL_COLUMNS))
    con.execute(_ddl(f"{catalog}.requests", req_cols))  # figures derived in the view


@dataclass(slots=True)
class Ingested:
    """One envelope verified: its `files` row, and its summary row when it is a valid run."""

    file: dict[str, Any]
    run: dict[str, Any] | None = None
    eval: dict[str, Any] | None = None
    raw_verified: Path | None = None  # the raw sidecar, when its digest matches the statement


def ingest(path: Path, key: str, trusted: Sequence[Any], trust: str) -> Ingested:
    """Verify the envelope at `path` (stored under `key`) as `load_corpus` would."""
    st = path.stat()
    # an envelope over the size cap is refused by open_envelope without being read
    digest = file_sha256(path) if st.st_size <= MAX_ENVELOPE_BYTES else ""
    row: dict[str, Any] = {"path": key, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                           "digest": digest, "trust": trust}  # fmt: skip
    try:
        opened = open_envelope(path, list(trusted), require_signature=False)
    except VerifyError as exc:
        return Ingested(row | {"kind": "skipped", "reason": str(exc)})
    p = opened.predicate
    row |= {"signer": opened.signer, "predicate": p.model_dump_json()}
    parent = key.rpartition("/")[0]
    rel = (parent + "/") if parent else ""
    if not isinstance(p, RunPredicate):
        items = subject(opened, ITEMS_SUFFIX)
        row |= {"kind": "eval", "items": rel + items.name if items else None}
        m = p.metrics
        ev = {"path": key, "run_id": p.run_id, "started_at": p.timing.started_at,
              "started_ts": utc_time(p.timing.started_at), "task": p.task.name,
              "model_id": p.target.model.model_id, "engine": p.target.engine.label,
              "quant": p.target.model.quant, "hardware": p.hardware.label,
              "valid": p.validity.valid, "signer": opened.signer, "items": m.items}  # fmt: skip
        return Ingested(row, eval=ev)
    raw, tel = subject(opened, RAW_SUFFIX), subject(opened, TELEMETRY_SUFFIX)
    raw_digest = raw.digest.get("sha256", "") if raw else None
    row |= {"kind": "run", "raw": rel + raw.name if raw else None, "raw_digest": raw_digest,
            "telemetry": rel + tel.name if tel else None}  # fmt: skip
    summary = run_row(p, key, opened.signer).model_dump(mode="json")
    for name in JSON_COLUMNS:
        summary[name] = None if summary[name] is None else orjson.dumps(summary[name]).decode()
    comp = p.comparability
    summary |= {"sweep_id": p.sweep_id, "started_ts": utc_time(p.timing.started_at),
                "hardware_fingerprint": comp.hardware_fingerprint,
                "comparability_engine": comp.engine, "suite_digest": comp.suite_digest,
                "schema_version": comp.schema_version}  # fmt: skip
    raw_path = path.parent / raw.name if raw else None
    verified = raw_path if raw_path and _digest_matches(raw_path, raw_digest or "") else None
    return Ingested(row, run=summary, raw_verified=verified)


def utc_time(text: str) -> datetime | None:
    """An ISO 8601 date or time as a time, UTC when it names no zone; None when it is not."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _digest_matches(path: Path, expected: str) -> bool:
    try:
        return file_sha256(path) == expected
    except OSError:
        return False


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, columns: Iterable[str], rows: list[dict[str, Any]]
) -> None:
    """Bulk insert: one list per column, unnested together (row-by-row inserts are slow)."""
    names = list(columns)
    for start in range(0, len(rows), _INSERT_BATCH):
        batch = rows[start : start + _INSERT_BATCH]
        values = [[r.get(n) for r in batch] for n in names]
        cols = ", ".join(f'"{n}"' for n in names)
        unnest = ", ".join(f"unnest(${i + 1})" for i in range(len(names)))
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {unnest}", values)


def temp_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str],
               rows: list[dict[str, Any]]) -> None:  # fmt: skip
    """A temporary table of `rows`: the keys a statement joins or filters on, set in bulk."""
    con.execute(_ddl(name, columns, "CREATE OR REPLACE TEMP TABLE"))
    insert_rows(con, name, columns, rows)


def _paths(con: duckdb.DuckDBPyConnection, name: str, keys: Iterable[str]) -> None:
    """A temporary table `name` of envelope keys (column `path`)."""
    temp_table(con, name, {"path": "VARCHAR"}, [{"path": k} for k in keys])


def insert_records(
    con: duckdb.DuckDBPyConnection, catalog: str, sidecars: list[tuple[str, str, Path]]
) -> None:
    """The raw records of verified sidecars ((envelope key, run_id, sidecar)), read by DuckDB;
    a path DuckDB would take for a glob pattern (`runs[2025]/…`) is parsed here instead."""
    odd = [s for s in sidecars if _GLOB.search(str(s[2]))]
    if odd:
        _insert_parsed(con, catalog, odd)
        sidecars = [s for s in sidecars if not _GLOB.search(str(s[2]))]
    spec = "{" + ", ".join(f"'{c}': '{t}'" for c, t in RECORD_COLUMNS.items()) + "}"
    cols = ", ".join(f'"{c}"' for c in RECORD_COLUMNS)
    for start in range(0, len(sidecars), 2000):
        batch = sidecars[start : start + 2000]
        keys = {str(p): (k, run) for k, run, p in batch}
        owners = [{"filename": f, "path": k, "run_id": r} for f, (k, r) in keys.items()]
        temp_table(con, "_owners", dict.fromkeys(("filename", "path", "run_id"), "VARCHAR"),
                   owners)  # fmt: skip
        con.execute(
            f"INSERT INTO {catalog}.requests (path, run_id, {cols}) "
            f"SELECT o.path, o.run_id, {', '.join(f'j.{c}' for c in _quoted())} "
            f"FROM read_json($files, format='newline_delimited', columns={spec}, "
            f"filename=true) j JOIN _owners o USING (filename)",
            {"files": list(keys)},
        )


def _quoted() -> list[str]:
    return [f'"{c}"' for c in RECORD_COLUMNS]


_GLOB = re.compile(r"[*?\[\]{}]")


def _insert_parsed(con: duckdb.DuckDBPyConnection, catalog: str,
                   sidecars: list[tuple[str, str, Path]]) -> None:  # fmt: skip
    rows = []
    for key, run_id, path in sidecars:
        for record in read_records(path.read_bytes()):
            row = asdict(record) | {"path": key, "run_id": run_id}
            row["error_kind"] = record.error_kind.value if record.error_kind else None
            if row["server_timings"] is not None:
                row["server_timings"] = orjson.dumps(row["server_timings"]).decode()
            rows.append(row)
    insert_rows(con, f"{catalog}.requests", ["path", "run_id", *RECORD_COLUMNS], rows)


@dataclass(slots=True)
class Refresh:
    """What bringing one index up to date did."""

    root: Path
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    retrusted: int = 0  # verified again because the trusted keys differ
    notes: list[str] = field(default_factory=list)


def _stored(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, tuple[int, int]]:
    """Each indexed envelope's (size, mtime_ns): all a warm refresh reads of the index."""
    rows = con.execute(f"SELECT path, size, mtime_ns FROM {catalog}.files").fetchall()
    return {path: (size, mtime) for path, size, mtime in rows}


def _trust_stale(con: duckdb.DuckDBPyConnection, catalog: str, trusted_ids: set[str],
                 trust: str) -> set[str]:  # fmt: skip
    """Envelopes whose outcome the trusted keys given now could change: those verified by a
    key no longer trusted, and those skipped while other keys were trusted."""
    rows = con.execute(
        f"SELECT path FROM {catalog}.files WHERE (kind = 'skipped' AND trust IS DISTINCT FROM ?) "
        "OR (kind != 'skipped' AND signer IS NOT NULL AND NOT list_contains(?, signer))",
        [trust, sorted(trusted_ids)],
    ).fetchall()
    return {r[0] for r in rows}


def _details(con: duckdb.DuckDBPyConnection, catalog: str,
             keys: list[str]) -> dict[str, tuple[str, str]]:  # fmt: skip
    """(digest, kind) of the given indexed envelopes."""
    if not keys:
        return {}
    _paths(con, "_keys", keys)
    rows = con.execute(f"SELECT path, digest, kind FROM {catalog}.files "
                       "WHERE path IN (SELECT path FROM _keys)").fetchall()  # fmt: skip
    return {path: (digest, kind) for path, digest, kind in rows}


@dataclass(slots=True)
class _Plan:
    verify: list[str] = field(default_factory=list)  # new, changed, or trusted differently
    touched: list[tuple[str, int, int]] = field(default_factory=list)  # same bytes, new mtime
    was_valid: set[str] = field(default_factory=set)  # changed ones that had verified


def _plan(
    con: duckdb.DuckDBPyConnection, catalog: str, root: Path,
    listing: dict[str, tuple[int, int]], stored: dict[str, tuple[int, int]],
    stale: set[str], recheck: bool, report: Refresh,
) -> _Plan:  # fmt: skip
    """What to verify, and which files only moved in time."""
    plan = _Plan()
    new = [k for k in listing if k not in stored]
    report.added = len(new)
    moved = [k for k, stat in listing.items()
             if k in stored and (recheck or stat != stored[k])]  # fmt: skip
    details = _details(con, catalog, moved)
    for key in moved:
        digest, kind = details[key]
        try:
            now = file_sha256(root / key)
        except OSError:  # removed since the listing: verifying it drops it from the index
            now = ""
        if now != digest:
            report.changed += 1
            plan.verify.append(key)
            if kind != "skipped":
                plan.was_valid.add(key)
        else:
            plan.touched.append((key, *listing[key]))
    changed = set(plan.verify)
    again = [k for k in stale if k in listing and k not in changed]
    report.retrusted = len(again)
    plan.verify += new + again
    report.unchanged = len(listing) - len(plan.verify)
    return plan


def refresh(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    root: Path,
    trusted: Sequence[Any],
    trusted_ids: set[str],
    *,
    recheck: bool = False,
    records: bool = True,
    listing: dict[str, tuple[int, int]] | None = None,
) -> Refresh:
    """Bring `catalog` up to date with the envelopes under `root` (or those of `listing`, keyed
    by path under `root`) in one transaction."""
    report = Refresh(root)
    trust = ",".join(sorted(trusted_ids))
    listing = walk(root) if listing is None else listing
    stored = _stored(con, catalog)
    stale = _trust_stale(con, catalog, trusted_ids, trust)
    plan = _plan(con, catalog, root, listing, stored, stale, recheck, report)
    gone = [k for k in stored if k not in listing]
    report.removed = len(gone)
    done = []
    for key in plan.verify:
        try:
            done.append(ingest(root / key, key, trusted, trust))
        except OSError:  # removed or unreadable since the listing: indexed next time
            continue
    for item in done:  # an envelope that verified when indexed and fails now, by name
        if item.file["path"] in plan.was_valid and item.file["kind"] == "skipped":
            report.notes.append(f"{root / item.file['path']}: changed since it was indexed and "
                                f"no longer verifies ({item.file['reason']})")  # fmt: skip
    con.execute("BEGIN TRANSACTION")
    try:
        _delete(con, catalog, gone + plan.verify)
        _write(con, catalog, done, plan.touched, records)
        if records:
            _late_records(con, catalog, root)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report


def _late_records(con: duckdb.DuckDBPyConnection, catalog: str, root: Path) -> None:
    """Runs indexed without their records (the sidecar was missing or did not match then)
    whose sidecar now matches the signed digest: their records are loaded."""
    pending = con.execute(
        f"SELECT f.path, f.raw, f.raw_digest, r.run_id FROM {catalog}.files f "
        f"JOIN {catalog}.runs r USING (path) WHERE f.kind = 'run' AND f.raw IS NOT NULL "
        "AND NOT coalesce(f.records, false)"
    ).fetchall()
    ready = [(key, run_id, root / raw) for key, raw, digest, run_id in pending
             if _digest_matches(root / raw, digest or "")]  # fmt: skip
    if not ready:
        return
    insert_records(con, catalog, ready)
    _paths(con, "_loaded", (key for key, _, _ in ready))
    con.execute(f"UPDATE {catalog}.files SET records = true "
                "WHERE path IN (SELECT path FROM _loaded)")  # fmt: skip


def _delete(con: duckdb.DuckDBPyConnection, catalog: str, keys: list[str]) -> None:
    if not keys:
        return
    _paths(con, "_gone", keys)
    for table in ("files", "runs", "evals", "requests"):
        con.execute(f"DELETE FROM {catalog}.{table} WHERE path IN (SELECT path FROM _gone)")


def _write(
    con: duckdb.DuckDBPyConnection, catalog: str, done: list[Ingested],
    touched: list[tuple[str, int, int]], records: bool,
) -> None:  # fmt: skip
    for d in done:
        d.file["records"] = records and d.raw_verified is not None
    insert_rows(con, f"{catalog}.files", FILE_COLUMNS, [d.file for d in done])
    runs = [d.run for d in done if d.run is not None]
    insert_rows(con, f"{catalog}.runs", ROW_COLUMNS | RUN_EXTRA, runs)
    insert_rows(con, f"{catalog}.evals", EVAL_COLUMNS,
                [d.eval for d in done if d.eval is not None])  # fmt: skip
    if records:
        sidecars = [(d.file["path"], d.run["run_id"], d.raw_verified) for d in done
                    if d.run is not None and d.raw_verified is not None]  # fmt: skip
        insert_records(con, catalog, sidecars)
    if touched:
        temp_table(con, "_touched", {"path": "VARCHAR", "size": "BIGINT", "mtime_ns": "BIGINT"},
                   [{"path": k, "size": s, "mtime_ns": m} for k, s, m in touched])  # fmt: skip
        con.execute(f"UPDATE {catalog}.files f SET size = t.size, mtime_ns = t.mtime_ns "
                    "FROM _touched t WHERE f.path = t.path")  # fmt: skip
