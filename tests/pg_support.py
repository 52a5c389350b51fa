"""The PostgreSQL tests' shared pieces (a pytest plugin, see conftest.py): one throw-away server for the run
(bench/postgres.py: Debian's initdb/pg_ctl in a temporary folder on a free port) and a fresh empty database per
test. A test that uses them, however indirectly, is marked `postgres` (pyproject.toml's markers); none is ever
skipped: without PostgreSQL installed the fixture fails and says how to install it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.store.pg_db import PgDatabase
from bench.postgres import PostgresServer

POSTGRES_FIXTURES = frozenset({"pg_server", "pg_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need the PostgreSQL server."""
    for item in items:
        if set(getattr(item, "fixturenames", ())) & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole run, removed with its folder at the end."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A new empty database on the run's server: its libpq URL."""
    return pg_server.create_database()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[PgDatabase]:
    """The test's new database, opened; closed after."""
    database = PgDatabase(pg_url).open()
    yield database
    database.close()
