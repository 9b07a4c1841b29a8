"""Binding the models' database to DATABASE_URL: SQLite for one work area, PostgreSQL to scale out."""
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

DRIVER_HINTS = {
    "postgresql": "psycopg2（请执行 pip install 'jingzhan[postgres]' 或 pip install psycopg2-binary）",
    "postgres": "psycopg2（请执行 pip install 'jingzhan[postgres]' 或 pip install psycopg2-binary）",
    "psycopg3": "psycopg 3（请执行 pip install 'psycopg[binary]'）",
}


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
        database = connect(url)
    else:
        raise DatabaseConfigError(
            f"不支持的数据库地址 DATABASE_URL={scheme}://…：请使用 sqlite:///路径 或 postgresql://用户@主机/库名"
        )
    try:
        database.connect()
    except ImproperlyConfigured as exc:
        raise DatabaseConfigError(f"未安装数据库驱动 {DRIVER_HINTS.get(scheme, scheme)}。") from exc
    except Exception as exc:  # driver-specific connection errors
        raise DatabaseConfigError(f"无法连接数据库（{scheme}）：{exc}") from exc
    database.close()
    return database


def bind(url: str):
    """Point the models' DatabaseProxy at url and return the database."""
    database = open_database(url)
    db.initialize(database)
    return database

