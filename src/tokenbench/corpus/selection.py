"""The envelopes one command names, read through their indexes: a DuckDB connection with the
views `runs`, `evals`, `requests` and `files` over every PATH, each index brought up to date
first (or, with --no-index, filled in memory from the files)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tokenbench.corpus import index
from tokenbench.corpus.filters import Filters
from tokenbench.corpus.loader import INDEX_DIR, Corpus, LoadedEval, LoadedRun, envelope_files, walk
from tokenbench.envelope import dsse
from tokenbench.envelope.schema import EvalPredicate, RunPredicate
from tokenbench.errors import ConfigError

Notify = Callable[[str], None]
LOCK_WAIT_S = 300.0
RUN_COLUMNS = index.ROW_COLUMNS | index.RUN_EXTRA


@dataclass(frozen=True, slots=True)
class Source:
    catalog: str
    prefix: str  # prepended to the stored paths: the index's folder, or "" for absolute keys
    spec: int  # the PATH's position on the command line
    file: Path | None = None  # the index file of a directory; None in memory


@dataclass(frozen=True, slots=True)
class Counts:
    runs: int
    suites: int


@dataclass
class Selection:
    con: duckdb.DuckDBPyConnection
    sources: list[Source] = field(default_factory=list)
    refreshes: list[index.Refresh] = field(default_factory=list)
    locks: list[IO[bytes]] = field(default_factory=list)
    locked_down: bool = False  # read_only() has run

    def close(self) -> None:
        self.con.close()
        for lock in self.locks:
            lock.close()  # releases the flock

    def read_only(self) -> None:
        """From here on nothing can write: each index is attached again read-only, and no
        file outside them can be read or written (settings locked)."""
        if self.locked_down:
            return
        self.locked_down = True
        for src in self.sources:
            if src.file is not None:
                self.con.execute(f"DETACH {src.catalog}")
                self.con.execute(f"ATTACH '{_quote(src.file)}' AS {src.catalog} (READ_ONLY)")
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    def where(self, table: str, filters: Filters) -> tuple[str, list[Any]] | None:
        columns = RUN_COLUMNS if table == "runs" else index.EVAL_COLUMNS
        return filters.sql(columns)

    def corpus(self, filters: Filters | None = None) -> Corpus:
        """The selected envelopes as the commands' Corpus, parsed from the stored predicates
        (no file is read or verified again)."""
        filters = filters or Filters()
        corpus = Corpus(skipped=self.skipped())
        for _, path, pred, signer, raw, tel, _items in self._files("runs", filters):
            predicate = RunPredicate.model_validate_json(pred)
            corpus.runs.append(LoadedRun(Path(path), predicate, signer, _opt(raw), _opt(tel)))
        corpus.evals = self.evals(filters)
        return corpus

    def evals(self, filters: Filters) -> list[LoadedEval]:
        return [LoadedEval(Path(path), EvalPredicate.model_validate_json(pred), signer,
                           _opt(items))
                for _, path, pred, signer, _raw, _tel, items
                in self._files("evals", filters)]  # fmt: skip

    def _files(self, table: str, filters: Filters) -> list[tuple[Any, ...]]:
        """The `files` rows of the selected envelopes of `table` (runs or evals), in the order
        PATHs and file names give (as load_corpus lists them)."""
        kind = table.removesuffix("s")
        cond = self.where(table, filters)
        if cond is None:
            return []
        rows = self.con.execute(
            "SELECT f.spec, f.path, f.predicate, f.signer, f.raw, f.telemetry, f.items "
            f"FROM files f WHERE f.kind = '{kind}' AND f.path IN "
            f"(SELECT path FROM {table} WHERE {cond[0]})", cond[1],
        ).fetchall()  # fmt: skip
        rows.sort(key=lambda r: (r[0], Path(r[1])))
        return rows

    def counts(self, filters: Filters) -> Counts:
        cond = self.where("runs", filters)
        if cond is None:
            return Counts(0, 0)
        found = self.con.execute(
            f"SELECT count(*), count(DISTINCT suite) FROM runs WHERE {cond[0]}", cond[1]
        ).fetchone()
        return Counts(*found) if found else Counts(0, 0)

    def skipped(self) -> list[tuple[Path, str]]:
        rows = self.con.execute(
            "SELECT spec, path, reason FROM files WHERE kind = 'skipped'"
        ).fetchall()
        rows.sort(key=lambda r: (r[0], Path(r[1])))
        return [(Path(path), reason) for _, path, reason in rows]


def _opt(path: str | None) -> Path | None:
    return Path(path) if path else None


def _lock(folder: Path, notify: Notify) -> IO[bytes]:
    """An exclusive lock on the index, so two commands never write it at once: the second
    waits (saying so) for the first to finish."""
    import fcntl

    handle = (folder / "lock").open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle
    except BlockingIOError:
        notify(f"waiting for {folder}: another bench command is using this index")
    deadline = time.monotonic() + LOCK_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(0.1)
        with contextlib.suppress(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
    handle.close()
    raise ConfigError(
        f"{folder}: the index stayed locked for {LOCK_WAIT_S:.0f} s by another bench command; "
        "wait for it, or pass --no-index"
    )


def _attach(con: duckdb.DuckDBPyConnection, catalog: str, path: Path, notify: Notify) -> None:
    """Attach the index file, rebuilding it when it cannot be read or is of another version:
    it is only ever a cache of the signed files."""
    why = None
    try:
        con.execute(f"ATTACH '{_quote(path)}' AS {catalog}")
        found = con.execute(
            f"SELECT value FROM {catalog}.meta WHERE key = 'schema'"
        ).fetchone() if _has_meta(con, catalog) else None  # fmt: skip
        if found is not None and found[0] != index.INDEX_SCHEMA:
            why = f"index version {found[0]}, this tool writes {index.INDEX_SCHEMA}"
    except duckdb.Error as exc:
        why = str(exc).splitlines()[0]
        if not _damaged(exc):  # locked by another program, disk full: not ours to delete
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DETACH {catalog}")
            raise Unavailable(why) from None
    if why is not None:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DETACH {catalog}")
        notify(f"{path}: the index could not be used ({why}); rebuilt from the envelopes")
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
        con.execute(f"ATTACH '{_quote(path)}' AS {catalog}")
    index.create_tables(con, catalog)
    con.execute(f"DELETE FROM {catalog}.meta WHERE key = 'schema'")
    con.execute(f"INSERT INTO {catalog}.meta VALUES ('schema', ?)", [index.INDEX_SCHEMA])


class Unavailable(Exception):
    """An index that exists but cannot be opened now (another program holds it, an I/O
    error): the command reads the files instead, and the index is left as it is."""


def _damaged(exc: duckdb.Error) -> bool:
    """Whether an error opening the index says the file itself is bad (rebuild it)."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.SerializationException | duckdb.InternalException) or any(
        words in text for words in ("not a valid duckdb database", "corrupt", "checksum")
    )


def _has_meta(con: duckdb.DuckDBPyConnection, catalog: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'meta'",
        [catalog],
    ).fetchone()
    return bool(found and found[0])


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def index_path(folder: Path) -> Path:
    return folder / INDEX_DIR / index.INDEX_FILE


def _persistent(sel: Selection, n: int, folder: Path, notify: Notify) -> str | None:
    """Lock and attach the folder's index; None (with a note) when the folder is read-only."""
    catalog = f"ix{n}"
    try:
        (folder / INDEX_DIR).mkdir(exist_ok=True)
        sel.locks.append(_lock(folder / INDEX_DIR, notify))
    except OSError as exc:  # read-only, permission denied
        notify(f"{folder}: cannot write its index ({exc.strerror or exc}); reading the files")
        return None
    try:
        _attach(sel.con, catalog, index_path(folder), notify)
    except Unavailable as exc:
        notify(f"{index_path(folder)}: cannot open the index ({exc}); reading the files")
        return None
    return catalog


def _memory(con: duckdb.DuckDBPyConnection, n: int) -> str:
    catalog = f"mem{n}"
    con.execute(f"ATTACH ':memory:' AS {catalog}")
    index.create_tables(con, catalog)
    return catalog


def open_selection(
    specs: list[str],
    trusted: list[Ed25519PublicKey],
    *,
    use_index: bool = True,
    records: bool = False,
    recheck: bool = False,
    notify: Notify = lambda _: None,
) -> Selection:
    """Every PATH, through its index: a directory's own index (`.tokenbench/index.duckdb`),
    brought up to date; files and globs (and everything with use_index False) in memory.
    `records`: load raw records into memory too (a persistent index always has them)."""
    sel = Selection(duckdb.connect(":memory:"))
    ids = {dsse.keyid(k) for k in trusted}
    seen: set[Path] = set()
    try:
        for n, spec in enumerate(specs):
            folder = Path(spec)
            is_dir = folder.is_dir()
            if is_dir:
                if folder.resolve() in seen:  # named twice: one index, one lock
                    continue
                seen.add(folder.resolve())
            catalog = _persistent(sel, n, folder, notify) if use_index and is_dir else None
            if catalog is not None:
                sel.refreshes.append(index.refresh(sel.con, catalog, folder, trusted, ids,
                                                   recheck=recheck))  # fmt: skip
                sel.sources.append(Source(catalog, str(folder.absolute()) + "/", n,
                                          index_path(folder)))  # fmt: skip
                continue
            catalog = _memory(sel.con, n)
            listing = _listing(spec)
            sel.refreshes.append(index.refresh(sel.con, catalog, Path("/"), trusted, ids,
                                               listing=listing, records=records))  # fmt: skip
            sel.sources.append(Source(catalog, "", n))
        _views(sel)
    except BaseException:
        sel.close()
        raise
    return sel


def _listing(spec: str) -> dict[str, tuple[int, int]]:
    """A PATH's envelope files by absolute path, as load_corpus finds them."""
    folder = Path(spec)
    if folder.is_dir():
        root = folder.absolute()
        return {f"{root}/{k}": v for k, v in walk(root).items()}
    out = {}
    for path in envelope_files(spec):
        with contextlib.suppress(OSError):
            st = path.stat()
            out[str(path.absolute())] = (st.st_size, st.st_mtime_ns)
    return out


_PATHS = {"files": ("path", "raw", "telemetry", "items"), "runs": ("path",),
          "evals": ("path",), "requests": ("path",)}  # fmt: skip


def _views(sel: Selection) -> None:
    """One view per table over every source, paths made whole; a file named by two PATHs
    counts once."""
    for table, paths in _PATHS.items():
        parts = []
        for src in sel.sources:
            prefix = _quote(Path(src.prefix)) + "/" if src.prefix else ""
            fixed = ", ".join(
                f"CASE WHEN {c} IS NULL THEN NULL ELSE '{prefix}' || {c} END AS {c}" for c in paths
            )
            parts.append(f"SELECT * REPLACE ({fixed}), {src.spec} AS spec "
                         f"FROM {src.catalog}.{table}")  # fmt: skip
        body = " UNION ALL BY NAME ".join(parts)
        if len(sel.sources) > 1 and table != "requests":
            body = (f"SELECT * FROM ({body}) QUALIFY row_number() OVER "
                    "(PARTITION BY path ORDER BY spec) = 1")  # fmt: skip
        if table == "requests":
            if len(sel.sources) > 1:  # a run named by two PATHs: its records once
                body = (f"SELECT * FROM ({body}) WHERE (path, spec) IN "
                        "(SELECT path, spec FROM files)")  # fmt: skip
            body = f"SELECT *, {index.DERIVED_SQL} FROM ({body})"
        sel.con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS {body}")


@contextlib.contextmanager
def selected(specs: list[str], trusted: list[Ed25519PublicKey],
             **kwargs: Any) -> Iterator[Selection]:  # fmt: skip
    sel = open_selection(specs, trusted, **kwargs)
    try:
        yield sel
    finally:
        sel.close()


def load_corpus(specs: list[str], trusted: list[Ed25519PublicKey],
                use_index: bool = False) -> Corpus:  # fmt: skip
    """Every envelope the PATHs name, verified (through the directories' indexes when
    `use_index`): a library caller's one-off read."""
    with selected(specs, trusted, use_index=use_index) as sel:
        return sel.corpus()
