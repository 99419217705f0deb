"""`bench query`: one statement that reads; anything that could write or reach other files is
refused before or while it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import bench
from tests.unit.corpus.test_index import _corpus
from tokenbench.compare.query import check_read_only, run_query
from tokenbench.corpus.selection import selected
from tokenbench.envelope import keys
from tokenbench.errors import ConfigError


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        ("DELETE FROM runs", "a DELETE statement is refused"),
        ("INSERT INTO runs SELECT * FROM runs", "a INSERT statement is refused"),
        ("CREATE TABLE t AS SELECT 1", "a CREATE statement is refused"),
        ("COPY runs TO '/tmp/out.csv'", "a COPY statement is refused"),
        ("ATTACH '/tmp/other.duckdb' AS o", "a ATTACH statement is refused"),
        ("SET enable_external_access = true", "statement is refused"),
        ("SELECT 1; SELECT 2", "exactly one statement (found 2)"),
        ("SELEC 1", "SQL: Parser Error"),
    ],
)
def test_statements_that_do_not_only_read_are_refused(sql: str, needle: str) -> None:
    with pytest.raises(ConfigError, match="SQL: ") as err:
        check_read_only(sql)
    assert needle in str(err.value)


def test_reads_run_and_other_files_stay_out_of_reach(tmp_path: Path) -> None:
    _corpus(tmp_path / "corpus")
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with selected([str(tmp_path / "corpus")], keys.trusted_keys(), records=True) as sel:
        result = run_query(sel, "SELECT model_id, count(*) AS n, min(started_ts) AS first "
                                "FROM runs GROUP BY ALL ORDER BY ALL")  # fmt: skip
        assert result.columns == ["model_id", "n", "first"]
        assert result.rows == [["a", 4, "2026-11-01T10:00:00+00:00"],
                               ["b", 1, "2026-11-05T10:00:00+00:00"]]  # fmt: skip
        described = run_query(sel, "DESCRIBE requests")
        assert "ttft_ms" in [row[0] for row in described.rows]
        with pytest.raises(ConfigError, match="file system operations are disabled"):
            run_query(sel, f"SELECT * FROM read_csv('{secret}')")
        with pytest.raises(ConfigError, match="SQL: "):
            run_query(sel, "SELECT nonexistent FROM runs")


def test_the_cli_prints_a_table_json_or_csv(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    sql = (
        "SELECT model_id, count(*) AS requests FROM requests JOIN runs USING (path) "
        "GROUP BY ALL ORDER BY ALL"
    )
    table = bench("query", str(corpus), sql)
    assert table.returncode == 0, table.stderr
    assert table.stdout.split("\n")[0].split() == ["model_id", "requests"]
    assert table.stdout.split("\n")[2].split() == ["a", "16"]
    as_csv = bench("query", str(corpus), sql, "--report", "csv")
    assert as_csv.stdout.splitlines() == ["model_id,requests", "a,16", "b,4"]
    refused = bench("query", str(corpus), "DROP TABLE runs")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: SQL: a DROP statement is refused; bench query only reads (SELECT, WITH, "
        "DESCRIBE, SHOW, SUMMARIZE)"]  # fmt: skip
    after = bench("query", str(corpus), "SELECT count(*) AS runs FROM runs", "--report", "json")
    assert '"rows": [\n    [\n      5\n    ]\n  ]' in after.stdout
