"""The throw-away PostgreSQL the cluster tests run on (bench/postgres.py, tests/pg_support.py): real, private,
a fresh database per test, and started as root too (CI's user), where initdb and pg_ctl refuse to run."""

from __future__ import annotations

import psycopg

from bench.postgres import PostgresServer


def test_the_throwaway_server_is_real_postgresql_and_each_test_has_its_own_empty_database(pg_server, pg_url):
    with psycopg.connect(pg_url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert int(version) >= 150000 and tables == 0
    assert pg_server.create_database() != pg_url


def test_a_server_restarts_on_its_port_with_its_data(pg_server: PostgresServer) -> None:
    server = PostgresServer().start()  # its own: this test restarts it
    try:
        url = server.create_database()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        server.restart()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT n FROM kept").fetchone() == (7,)
    finally:
        server.close()
    assert not server.folder.exists()
