"""Backing up and restoring the SQLite database with SQLite's online backup API (PostgreSQL: pg_dump/pg_restore).

A backup is copied in one step of the backup API, which reads inside one read transaction: in WAL mode the app
keeps writing meanwhile, and the copy is the database as it stood at one moment. It is written beside its
destination under a temporary name, checked (`PRAGMA integrity_check`) and only then renamed into place, so a
file at the destination is always a whole, checked backup.

Photos are not in the database (webapp/photo_store.py): `copy_photos` copies those the backup's photo rows refer
to into a photo directory beside the backups, before the backup is renamed into place, and back into the photo
store on restore. Blobs are named by their content, so one photo directory serves every backup made into the same
folder and each backup copies only the photos that are new since the last.
"""
import os
import sqlite3
import uuid as uuid_module
from pathlib import Path
from urllib.parse import urlsplit

import peewee

from models import Photo, SchemaVersion, utcnow

# Its messages are read by the operator at the server command line (webapp/cli.py), which stays in Chinese
# (docs/i18n.md): they are marked `i18n: data`, not translated.

# Peewee's driver (pysqlite3 when installed, which may bring a newer SQLite than the system's), else the stdlib's.
driver = getattr(peewee, "sqlite3", None) or sqlite3

PG_DUMP = (  # i18n: data
    "PostgreSQL 的数据库请用 pg_dump 备份，例如：pg_dump --format=custom --file=jingzhan.dump \"$DATABASE_URL\""
    "（见 docs/security.md）。")
PG_RESTORE = ("PostgreSQL 的数据库请用 pg_restore 恢复，例如：pg_restore --clean --if-exists --no-owner "  # i18n: data
              "--dbname=\"$DATABASE_URL\" jingzhan.dump（先停止应用，见 docs/security.md）。")
COUNTED = ("patrol", "equipment_check", "hazard", "sync_receipt", "user")


class BackupError(Exception):
    """A backup or restore refused; the message says why and what to do, in Chinese."""


def sqlite_file(url: str, *, postgres_hint: str) -> Path:
    """The database file of a sqlite:/// URL; a PostgreSQL URL is answered with the pg_dump/pg_restore hint."""
    scheme = urlsplit(url).scheme
    if scheme != "sqlite":
        raise BackupError(  # i18n: data
            postgres_hint if scheme.startswith(("postgres", "psycopg")) else f"不支持的数据库地址：{scheme}")
    path = url[len("sqlite:///"):]
    if not path or path == ":memory:":
        raise BackupError("内存数据库无法备份或恢复。")  # i18n: data
    return Path(path)


def _connect(path: Path, *, read_only: bool = False):
    target = f"file:{path}?mode=ro" if read_only else str(path)
    conn = driver.connect(target, uri=read_only, timeout=10, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def integrity(conn) -> str:
    """`PRAGMA integrity_check` as one line: "ok" or the first problems found."""
    rows = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
    return "ok" if rows == ["ok"] else "; ".join(rows)


def describe(conn) -> dict:
    """The schema version and the row counts a person checks after a backup or before overwriting a database."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = None
    # Table names cannot be bound parameters; these come from our model and from COUNTED, never from input.
    table = SchemaVersion._meta.table_name
    if table in tables:
        version = conn.execute(f'SELECT max(version) FROM "{table}"').fetchone()[0]  # nosec B608
    counts = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # nosec B608
              for name in COUNTED if name in tables}
    return {"tables": len(tables), "version": version, "counts": counts}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_photos(database, read, target) -> dict:
    """Copy the photo and thumbnail of every row of the photo table in the SQLite file `database` into `target` (a
    photo store) where it lacks them; read(uuid, sha256, thumb) gives their bytes, or None when they are nowhere.
    Returns {"copied": n, "present": n, "missing": [keys]}."""
    from .photos import photo_key

    conn = _connect(Path(database), read_only=True)
    try:
        table = Photo._meta.table_name
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        rows = conn.execute(f'SELECT uuid, sha256 FROM "{table}"').fetchall() if table in tables else []  # nosec B608
    finally:
        conn.close()
    result = {"copied": 0, "present": 0, "missing": []}
    for raw_uuid, sha256 in rows:
        uuid = str(uuid_module.UUID(str(raw_uuid)))  # SQLite holds Peewee's UUIDField as 32 hex digits
        for thumb in (False, True):
            key = photo_key(sha256, thumb)
            if target.exists(key):
                result["present"] += 1
                continue
            data = read(uuid, sha256, thumb)
            if data is None:
                result["missing"].append(key)
                continue
            target.put(key, data)
            result["copied"] += 1
    return result


def backup(url: str, destination, *, force: bool = False, photos=None) -> dict:
    """Copy the live SQLite database at url to destination (a new file unless force) while the app keeps running;
    photos(copy), when given, copies the photos of the checked copy before it is renamed into place."""
    source_path = sqlite_file(url, postgres_hint=PG_DUMP)
    destination = Path(destination)
    if not source_path.exists():
        raise BackupError(f"数据库文件不存在：{source_path}")  # i18n: data
    if destination.exists() and not force:
        raise BackupError(f"{destination} 已存在；确认覆盖请加 --force。")  # i18n: data
    if destination.exists() and destination.resolve() == source_path.resolve():
        raise BackupError("备份文件不能是数据库本身。")  # i18n: data
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    source = _connect(source_path)
    copy = driver.connect(str(partial), isolation_level=None)
    try:
        # One step (pages=-1): a single read transaction, so the copy is one moment of the database; in WAL mode
        # the app's writers are not blocked while it runs.
        source.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        checked = integrity(copy)
        summary = describe(copy)
    finally:
        copy.close()
        source.close()
    if checked != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"备份副本未通过完整性检查：{checked}")  # i18n: data
    try:
        copied = photos(partial) if photos is not None else None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _fsync(partial)
    os.replace(partial, destination)
    return {"path": destination, "bytes": destination.stat().st_size, "integrity": checked, "photos": copied, **summary}


def restore(url: str, backup_file, *, force: bool = False, latest: int | None = None, photos=None) -> dict:
    """Replace the database at url with backup_file, after checking the backup; a database holding data is only
    overwritten with force, and is first saved beside itself (`<name>.before-restore-<UTC time>`). photos(backup_file),
    when given, puts the backup's photos back into the photo store first (adding blobs only: the current
    database's photos stay, and a refused restore leaves nothing a photo row misses)."""
    from . import migrations

    target_path = sqlite_file(url, postgres_hint=PG_RESTORE)
    backup_file = Path(backup_file)
    latest = migrations.LATEST if latest is None else latest
    if not backup_file.is_file():
        raise BackupError(f"找不到备份文件：{backup_file}")  # i18n: data
    if target_path.exists() and backup_file.resolve() == target_path.resolve():
        raise BackupError("备份文件就是当前数据库本身。")  # i18n: data
    try:
        source = _connect(backup_file, read_only=True)
        checked = integrity(source)
        summary = describe(source)
    except driver.DatabaseError as exc:
        raise BackupError(f"{backup_file} 不是可用的 SQLite 数据库（{exc}）。") from exc  # i18n: data
    try:
        if checked != "ok":
            raise BackupError(f"备份文件未通过完整性检查，未恢复：{checked}")  # i18n: data
        if summary["version"] is None:
            raise BackupError(f"{backup_file} 不是井站通的数据库（没有结构版本记录）。")  # i18n: data
        if summary["version"] > latest:
            raise BackupError(  # i18n: data
                f"备份来自更新的程序（结构版本 {summary['version']}，本程序最高 {latest}）：请先升级程序再恢复。")
        saved = None
        if target_path.exists():
            current = _connect(target_path)
            try:
                held = describe(current)
            finally:
                current.close()
            if held["tables"]:
                if not force:
                    rows = "，".join(f"{name} {count} 行" for name, count in held["counts"].items())  # i18n: data
                    raise BackupError(  # i18n: data
                        f"{target_path} 已有数据（{rows}），恢复会覆盖它们。请先停止应用；确认覆盖请加 "
                        f"--force（覆盖前会把现有数据另存一份）。")
                stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
                saved = backup(url, target_path.with_name(f"{target_path.name}.before-restore-{stamp}"))["path"]
        copied = photos(backup_file) if photos is not None else None
        target_path.parent.mkdir(parents=True, exist_ok=True)
        target = _connect(target_path)
        try:
            # The backup API writes the pages under the database's own locks, so no reader sees half a restore.
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=WAL")
            after = integrity(target)
        finally:
            target.close()
    finally:
        source.close()
    if after != "ok":
        raise BackupError(f"恢复后的数据库未通过完整性检查：{after}")  # i18n: data
    return {"path": target_path, "saved": saved, "integrity": after, "needs_upgrade": summary["version"] < latest,
            "photos": copied, **summary}
