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


def test_connection_is_closed_after_each_request(client):
    assert client.get("/login").status_code == 200
    assert db.is_closed()
    assert client.get("/api/v1/health").status_code == 200
    assert db.is_closed()


def test_foreign_keys_are_enforced(app, dbconn):
    from peewee import IntegrityError

    from models import Equipment

    with pytest.raises(IntegrityError):
        with db.atomic():
            Equipment.create(station=999999, kind="motor", name="x")
