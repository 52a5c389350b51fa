"""PgReportStore: ReportStore (store/reports.py) over the cluster's PostgreSQL (issue 20), where the report
tables are kept by pg_report_schema.py's triggers on the shared message log.

ReportStore's reads are plain SQL that both databases speak (index ranges, sums, CASE); only the placeholders
differ (`?` against psycopg's `%s`) and PostgreSQL sums integers into numerics. So this module does not restate
those queries: `SqliteStyle` gives a PgDatabase the `read()`/`write()` face ReportStore calls, translating
placeholders and handing integral numerics back as ints. What differs in substance is here: which numbers the
log has counted (the counts are folded from deltas), and a rebuild that holds the log's writers off while it
recomputes (every node writes the log).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg

from .pg_db import PgDatabase
from .pg_report_schema import MIGRATIONS, REBUILD
from .reports import ReportStore

NUMERIC_OID = 1700  # PostgreSQL's numeric type


class SqliteStyle:
    """A PgDatabase seen as store/sqlite_db.Database is by ReportStore: `read().execute(sql, args)` and `with
    write() as conn: conn.execute(...)`, with `?` placeholders; rows are tuples."""

    def __init__(self, db: PgDatabase):
        self._db = db

    def read(self) -> _Connection:
        """Each statement in its own transaction (ReportStore's reads are single statements)."""
        return _Connection(None, self._db)

    @contextmanager
    def write(self) -> Iterator[_Connection]:
        """One transaction for the block."""
        with self._db.transaction() as conn:
            yield _Connection(conn, self._db)


class _Connection:
    """execute() with `?` placeholders, on a transaction's connection or, without one, in a transaction of its
    own; the rows fetched at once."""

    def __init__(self, conn: psycopg.Connection[Any] | None, db: PgDatabase):
        self._conn, self._db = conn, db

    def execute(self, sql: str, args: Sequence[Any] = ()) -> _Rows:
        query = sql.replace("%", "%%").replace("?", "%s") if args else sql
        if self._conn is not None:
            return _fetched(self._conn.execute(query, args or None))
        with self._db.transaction() as conn:
            return _fetched(conn.execute(query, args or None))


def _fetched(cursor: psycopg.Cursor[Any]) -> _Rows:
    """A statement's rows (none for one that returns none); its numeric columns (PostgreSQL's sum() of bigints)
    as ints, or floats if one ever had a fraction."""
    if cursor.description is None:
        return _Rows([])
    rows = cursor.fetchall()
    numeric = [i for i, column in enumerate(cursor.description) if column.type_code == NUMERIC_OID]
    if numeric:
        rows = [tuple(_plain(v) if i in numeric else v for i, v in enumerate(row)) for row in rows]
    return _Rows(rows)


class _Rows(list):
    """Fetched rows, as a cursor is read: fetchone(), fetchall(), iteration."""

    def fetchone(self) -> tuple[Any, ...] | None:
        return self[0] if self else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self)


def _plain(value: Any) -> Any:
    """A numeric as an int (a float if it has a fraction); None stays None."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class PgReportStore(ReportStore):
    """The report tables of the cluster's shared log."""

    def __init__(self, db: PgDatabase):
        db.migrate("reports", MIGRATIONS)
        super().__init__(SqliteStyle(db))  # type: ignore[arg-type] - Database's read()/write() face
        self._pg = db

    def clients(self) -> list[str]:
        """Every number the log has counted: its folded counts and the deltas not folded yet."""
        rows = self._pg.all("SELECT client_id FROM message_counts WHERE client_id <> '' UNION "
                            "SELECT client_id FROM message_count_deltas WHERE client_id <> ''")
        return sorted(row[0] for row in rows)

    def _rebuild(self, conn: Any) -> None:
        """REBUILD in PostgreSQL's terms, after taking the log from its writers for the transaction (SHARE mode:
        the nodes' writes wait, reads go on), so no trigger runs against tables half rebuilt."""
        conn.execute("LOCK TABLE messages IN SHARE MODE")
        for statement in (s.strip() for s in REBUILD.split(";")):
            if statement:
                conn.execute(statement)
