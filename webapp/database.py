"""Binding the models' database to DATABASE_URL: SQLite for one work area, PostgreSQL to scale out."""
import logging
from urllib.parse import urlsplit

from peewee import ImproperlyConfigured
from playhouse.db_url import connect

from models import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10000,
    "cache_size": -16000,
}

DRIVER_HINTS = {  # i18n: data — the operator's setup error, in Chinese like the command line
    "postgresql": "psycopg2（请执行 pip install 'jingzhan[postgres]' 或 pip install psycopg2-binary）",
    "postgres": "psycopg2（请执行 pip install 'jingzhan[postgres]' 或 pip install psycopg2-binary）",
    "psycopg3": "psycopg 3（请执行 pip install 'psycopg[binary]'）",
}


POOLED = ("postgresql", "postgres")
# Per process: a gunicorn sync worker uses one at a time; a threaded server one per thread at once, waiting up to
# `timeout` seconds for one beyond max_connections. Closed after stale_timeout seconds of age.
POOL_SETTINGS = {"max_connections": 32, "stale_timeout": 300, "timeout": 10}

log = logging.getLogger("jingzhan.database")

# SQLite 3.7.0–3.51.2 can corrupt a WAL database when two connections write or checkpoint at the same moment (the
# "WAL-reset bug", fixed in 3.51.3); several gunicorn workers are exactly that.
WAL_RESET_FIXED = (3, 51, 3)


class DatabaseConfigError(RuntimeError):
    """DATABASE_URL names a database we cannot open; the message says what to do, in Chinese."""


def open_database(url: str):
    """Create (not yet connect) the database object for url, with our settings per engine."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE: a write transaction takes the lock when it begins, so concurrent
        # writers wait on busy_timeout instead of failing with "database is locked".
        database = connect(url, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE")
    elif scheme in DRIVER_HINTS:
        # A pool: a request takes a connection its process opened before (a new one costs ~4 ms of the request);
        # one idle for a while is asked SELECT 1 before it is handed out, so a restarted server costs no request.
        pooled = url.replace(f"{scheme}://", f"{scheme}+pool://", 1) if scheme in POOLED else url
        database = connect(pooled, **(POOL_SETTINGS if scheme in POOLED else {}))
    else:
        raise DatabaseConfigError(  # i18n: data — the operator's setup error, in Chinese like the command line
            f"不支持的数据库地址 DATABASE_URL={scheme}://…：请使用 sqlite:///路径 或 postgresql://用户@主机/库名"
        )
    try:
        database.connect()
    except ImproperlyConfigured as exc:
        raise DatabaseConfigError(f"未安装数据库驱动 {DRIVER_HINTS.get(scheme, scheme)}。") from exc  # i18n: data
    except Exception as exc:  # driver-specific connection errors
        raise DatabaseConfigError(f"无法连接数据库（{scheme}）：{exc}") from exc  # i18n: data
    try:
        if scheme == "sqlite":
            check_sqlite_version(database)
    finally:
        database.close()
    return database


def version_tuple(version: str) -> tuple[int, ...]:
    """"3.40.1" → (3, 40, 1); anything that is not a number counts as 0."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split(".")[:3])


def check_sqlite_version(database) -> str:
    """Log the SQLite library in use at start-up, and warn when it has the WAL-reset bug while WAL is on."""
    version = database.execute_sql("SELECT sqlite_version()").fetchone()[0]
    journal_mode = str(database.execute_sql("PRAGMA journal_mode").fetchone()[0]).lower()
    log.info("SQLite %s, journal_mode=%s", version, journal_mode)
    if journal_mode == "wal" and version_tuple(version) < WAL_RESET_FIXED:
        log.warning(
            "SQLite %s 早于 3.51.3：WAL 模式下多个连接同时写入或检查点时，极少数情况下会损坏数据库（WAL-reset bug）。"
            "请升级 SQLite 库（系统的 libsqlite3，或安装自带新版 SQLite 的 pysqlite3-binary），"
            "升级前请定时执行 jingzhan backup（见 docs/security.md）。", version)
    return version


def is_postgres() -> bool:
    """Whether the models' database is PostgreSQL (else SQLite)."""
    from peewee import PostgresqlDatabase

    return isinstance(getattr(db, "obj", db), PostgresqlDatabase)


def release() -> None:
    """Close every connection this process holds, pooled ones too (before a database is dropped or copied)."""
    if not db.is_closed():
        db.close()
    close_all = getattr(db.obj, "close_all", None)
    if close_all is not None:
        close_all()


def bind(url: str):
    """Point the models' DatabaseProxy at url and return the database."""
    database = open_database(url)
    db.initialize(database)
    return database

