"""`bench query`: one read-only SQL statement over the corpus index, its result as a view."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict

from tokenbench.corpus.selection import Selection
from tokenbench.errors import ConfigError

# Statements that only read. DESCRIBE, SHOW and SUMMARIZE parse as SELECT.
_READ_ONLY = {"SELECT", "EXPLAIN"}


class QueryResult(BaseModel):
    """The columns and rows a statement returned (values as JSON has them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sql: str
    columns: list[str]
    rows: list[list[Any]]


def _plain(value: Any) -> Any:
    """A DuckDB value as JSON can carry it."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def check_read_only(sql: str) -> None:
    """Exactly one statement, and one that reads: anything that writes, attaches, sets or
    copies is refused before it runs."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ConfigError(f"SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise ConfigError(f"SQL: give exactly one statement (found {len(statements)})")
    kind = statements[0].type.name
    if kind not in _READ_ONLY:
        raise ConfigError(
            f"SQL: a {kind} statement is refused; bench query only reads (SELECT, WITH, "
            "DESCRIBE, SHOW, SUMMARIZE)"
        )


def run_query(sel: Selection, sql: str) -> QueryResult:
    check_read_only(sql)
    sel.read_only()
    try:
        cursor = sel.con.execute(sql)
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise ConfigError(f"SQL: {str(exc).splitlines()[0]}") from None
    columns = [d[0] for d in cursor.description or []]
    return QueryResult(sql=sql, columns=columns, rows=[[_plain(v) for v in r] for r in rows])
