"""Which envelopes a command looks at: `--where FIELD=VALUE` clauses and `--since DATE`, checked
once and turned into SQL over the index's tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tokenbench.corpus.index import EVAL_COLUMNS, ROW_COLUMNS, RUN_EXTRA, utc_time
from tokenbench.errors import ConfigError, unknown_name

# Short names a user types for the index's columns.
ALIASES = {"model": "model_id", "gpu": "hardware", "c": "concurrency", "rate": "rate_rps"}
_CLAUSE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|>=|<=|=|<|>)\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Clause:
    field: str  # a column of the index, aliases resolved
    op: str  # = != < <= > >=
    values: tuple[str, ...]  # = and != take several, comma-separated: any of them

    @classmethod
    def parse(cls, text: str) -> Clause:
        match = _CLAUSE.match(text)
        if match is None or not match.group(3):
            raise ConfigError(
                f"--where {text!r}: expected FIELD=VALUE (also !=, <, <=, >, >=; "
                "VALUE may be A,B for any of several), e.g. --where model=smollm2-135m-instruct"
            )
        name, op, value = match.groups()
        values = tuple(v.strip() for v in value.split(",")) if op in ("=", "!=") else (value,)
        return cls(ALIASES.get(name, name), op, values)

    def sql(self, columns: dict[str, str]) -> tuple[str, list[Any]]:
        kind = columns[self.field]
        cast = [_typed(v, kind, self.field) for v in self.values]
        col = f'"{self.field}"'
        if self.op in ("=", "!="):
            marks = ", ".join("?" for _ in cast)
            if self.op == "!=":  # an unknown value (null) is not the one excluded: kept
                return f"({col} IS NULL OR {col} NOT IN ({marks}))", cast
            return f"{col} IN ({marks})", cast
        return f"{col} {self.op} ?", cast


def _typed(value: str, kind: str, name: str) -> Any:
    if kind in ("BIGINT", "DOUBLE"):
        try:
            return float(value) if kind == "DOUBLE" or "." in value else int(value)
        except ValueError:
            raise ConfigError(f"--where {name}: {value!r} is not a number") from None
    if kind == "BOOLEAN":
        if value.lower() not in ("true", "false"):
            raise ConfigError(f"--where {name}: {value!r}, expected true or false")
        return value.lower() == "true"
    return value


def parse_since(text: str) -> datetime:
    """`--since 2026-11-01` (a date, midnight UTC) or an ISO 8601 time."""
    parsed = utc_time(text)
    if parsed is None:
        raise ConfigError(
            f"--since {text!r}: expected a date such as 2026-11-01 or an ISO 8601 time"
        )
    return parsed


@dataclass(frozen=True, slots=True)
class Filters:
    where: tuple[Clause, ...] = ()
    since: datetime | None = None

    @classmethod
    def parse(cls, where: list[str] | None, since: str | None) -> Filters:
        """The clauses, each naming a column of the index's runs or evals."""
        parsed = cls(tuple(Clause.parse(w) for w in where or []),
                     parse_since(since) if since else None)  # fmt: skip
        parsed.check(ROW_COLUMNS, RUN_EXTRA, EVAL_COLUMNS)
        return parsed

    @property
    def active(self) -> bool:
        return bool(self.where) or self.since is not None

    def check(self, *tables: dict[str, str]) -> None:
        """Every field names a column of at least one of the tables, and every value is of
        that column's type."""
        known = set().union(*tables)
        for clause in self.where:
            if clause.field not in known:
                raise unknown_name("--where field", clause.field, sorted(known | set(ALIASES)))
            clause.sql(next(t for t in tables if clause.field in t))

    def sql(self, columns: dict[str, str]) -> tuple[str, list[Any]] | None:
        """The WHERE condition over a table of `columns`, or None when a clause names a column
        the table lacks (nothing in it can match)."""
        parts, params = ["TRUE"], []
        for clause in self.where:
            if clause.field not in columns:
                return None
            text, values = clause.sql(columns)
            parts.append(text)
            params.extend(values)
        if self.since is not None:
            parts.append("started_ts >= ?")
            params.append(self.since)
        return " AND ".join(parts), params
