"""The database binding: SQLite pragmas for a web server, connection per request, portable SQL."""
import pytest

from models import db


def sqlite_only(app):
    if app.config["BACKEND"] != "sqlite":
        pytest.skip("SQLite setting")


def test_sqlite_pragmas(app):
    sqlite_only(app)
    with db.connection_context():
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_sqlite_write_transactions_begin_immediate(app):
    sqlite_only(app)
    # IMMEDIATE makes a writer wait on busy_timeout instead of failing later with "database is locked".
    assert db.obj._lock_type == "IMMEDIATE"


def test_a_connection_outlives_the_request_that_opened_it(app, client):
    """On PostgreSQL a request gives its connection back to the pool and the next request takes the same one. On
    SQLite each request opens and closes its own: a connection kept by a thread could carry an old read snapshot
    (a cursor not read to its end) into the next request."""
    assert client.get("/login").status_code == 200
    assert db.is_closed()
    if app.config["BACKEND"] == "postgresql":
        pooled = [conn for _, _, conn in db.obj._connections]
        assert len(pooled) == 1
        assert client.get("/api/v1/health").status_code == 200
        assert [conn for _, _, conn in db.obj._connections] == pooled


def test_a_database_restart_costs_no_request(app, client):
    """The pool's connections die with a restarted PostgreSQL (here: every backend of the database terminated); the
    next requests are answered from new ones, never with a 500."""
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("the PostgreSQL pool")
    import psycopg2

    from tests.conftest import POSTGRES_URL

    for _ in range(2):
        assert client.get("/login").status_code == 200
    name = db.obj.database
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s", (name,))
        assert cursor.fetchone()[0] >= 1
    admin.close()
    for path in ("/login", "/api/v1/health", "/login"):
        assert client.get(path).status_code == 200


def test_foreign_keys_are_enforced(app, dbconn):
    from peewee import IntegrityError

    from models import Equipment

    with pytest.raises(IntegrityError):
        with db.atomic():
            Equipment.create(station=999999, kind="motor", name="x")
