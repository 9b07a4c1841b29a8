"""Data safety: `jingzhan backup` while the app writes, `jingzhan restore` with its checks, and the SQLite version
warning at start-up."""
import hashlib
import logging
import sqlite3
import threading
import time

import pytest

from tests.conftest import make_app
from webapp.backup import BackupError, backup, restore

WRITE_SECONDS = 10  # upper bound for the writer: the test stops it as soon as it has overlapped the backup


def sqlite_only(app):
    if app.config["BACKEND"] != "sqlite":
        pytest.skip("the SQLite backup API; PostgreSQL uses pg_dump (test_postgresql_is_sent_to_pg_dump)")


def db_file(app):
    return app.config["DATABASE_URL"][len("sqlite:///"):]


class Writer(threading.Thread):
    """Commits pairs of rows (one in each probe table, in one transaction) until told to stop."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.commits, self.stop, self.error = path, 0, threading.Event(), None

    def run(self):
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            deadline = time.monotonic() + WRITE_SECONDS
            while not self.stop.is_set() and time.monotonic() < deadline:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO probe_a (n, pad) VALUES (?, randomblob(2000))", (self.commits,))
                conn.execute("INSERT INTO probe_b (n) VALUES (?)", (self.commits,))
                conn.execute("COMMIT")
                self.commits += 1
        except Exception as exc:  # noqa: BLE001 — reported by the test
            self.error = exc
        finally:
            conn.close()

    def wait_for(self, commits):
        deadline = time.monotonic() + WRITE_SECONDS
        while self.commits < commits and self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert self.commits >= commits and self.error is None, (self.commits, self.error)


def counts(path):
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # fixed table names
                for table in ("probe_a", "probe_b", "patrol", "user", "well", "sync_receipt")}
    finally:
        conn.close()


def test_backup_under_writes_restores_to_one_moment(app, runner, tmp_path):
    sqlite_only(app)
    path = db_file(app)
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE probe_a (id INTEGER PRIMARY KEY, n INTEGER, pad BLOB)")
    setup.execute("CREATE TABLE probe_b (id INTEGER PRIMARY KEY, n INTEGER)")
    setup.close()
    before = counts(path)
    writer = Writer(path)
    writer.start()
    try:
        writer.wait_for(20)  # the writer is busy before the backup starts …
        started = writer.commits
        result = runner.invoke(args=["backup", str(tmp_path / "jingzhan.backup")])
        finished = writer.commits
        writer.wait_for(finished + 5)  # … and still commits after it: the backup never stopped the writes
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None
    assert result.exit_code == 0, result.output
    assert "完整性检查 ok" in result.output
    # Restore into a new file (a fresh app whose database does not exist yet): no --force needed.
    restored_path = tmp_path / "restored" / "jingzhan.db"
    restored_app = make_app(f"sqlite:///{restored_path}", tmp_path / "restored")
    result = restored_app.test_cli_runner().invoke(args=["restore", str(tmp_path / "jingzhan.backup")])
    assert result.exit_code == 0, result.output
    check = sqlite3.connect(restored_path)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    check.close()
    got = counts(restored_path)
    # One moment in time: every pair whole, and a moment between the backup's start and end.
    assert got["probe_a"] == got["probe_b"]
    assert started <= got["probe_a"] <= finished + 1 and got["probe_a"] < writer.commits
    assert {k: got[k] for k in ("patrol", "user", "well", "sync_receipt")} == \
           {k: before[k] for k in ("patrol", "user", "well", "sync_receipt")}
    # The restored database is one the app opens and serves.
    client = restored_app.test_client()
    assert client.get("/api/v1/health").status_code == 200


def test_backup_refuses_to_overwrite_without_force(app, runner, tmp_path):
    sqlite_only(app)
    target = tmp_path / "exists.backup"
    target.write_bytes(b"keep me")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code != 0 and "--force" in result.output and target.read_bytes() == b"keep me"
    result = runner.invoke(args=["backup", str(target), "--force"])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:16] == b"SQLite format 3\x00"
    assert not list(tmp_path.glob(".*partial*"))  # nothing half-written left behind


def test_restore_over_data_needs_force_and_keeps_the_old_data(app, runner, tmp_path):
    sqlite_only(app)
    from models import Well, db

    backup_file = tmp_path / "before.backup"
    assert runner.invoke(args=["backup", str(backup_file)]).exit_code == 0
    with db.connection_context():
        well = Well.select().first()
        well.regenerate_token()
    changed = well.qr_token
    refused = runner.invoke(args=["restore", str(backup_file)])
    assert refused.exit_code != 0 and "已有数据" in refused.output and "--force" in refused.output
    with db.connection_context():
        assert Well.get_by_id(well.id).qr_token == changed  # nothing was touched
    done = runner.invoke(args=["restore", str(backup_file), "--force"])
    assert done.exit_code == 0, done.output
    with db.connection_context():
        assert Well.get_by_id(well.id).qr_token != changed  # the backup's moment is back
    [saved] = tmp_path.glob("jingzhan.db.before-restore-*")
    old = sqlite3.connect(saved)
    assert old.execute("SELECT qr_token FROM well WHERE id = ?", (well.id,)).fetchone()[0] == changed
    old.close()


def test_restore_checks_the_backup_first(app, tmp_path):
    sqlite_only(app)
    url = app.config["DATABASE_URL"]
    garbage = tmp_path / "garbage.backup"
    garbage.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match="不是可用的 SQLite 数据库"):
        restore(url, garbage, force=True)
    good = backup(url, tmp_path / "good.backup")["path"]
    with pytest.raises(BackupError, match="更新的程序"):
        restore(url, good, force=True, latest=1)  # a backup from a newer schema than this program knows
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(BackupError, match="不是井站通的数据库"):
        restore(url, other, force=True)
    # A damaged page: integrity_check finds it and nothing is restored.
    damaged = tmp_path / "damaged.backup"
    data = bytearray(good.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for offset in range(page_size * 3, min(len(data), page_size * 40), page_size):
        data[offset:offset + 64] = b"\xff" * 64  # clobber B-tree page headers
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError):
        restore(url, damaged, force=True)


def test_postgresql_is_sent_to_pg_dump(tmp_path):
    with pytest.raises(BackupError, match="pg_dump"):
        backup("postgresql://jz@localhost/jingzhan", tmp_path / "x")
    with pytest.raises(BackupError, match="pg_restore"):
        restore("postgresql://jz@localhost/jingzhan", tmp_path / "x")


def test_postgresql_app_says_so_in_the_cli(app, runner, tmp_path):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("needs the PostgreSQL backend")
    result = runner.invoke(args=["backup", str(tmp_path / "x")])
    assert result.exit_code != 0 and "pg_dump" in result.output


def test_sqlite_version_is_logged_and_old_wal_warned(tmp_path, caplog):
    from webapp.database import WAL_RESET_FIXED, open_database, version_tuple

    with caplog.at_level(logging.INFO, logger="jingzhan.database"):
        open_database(f"sqlite:///{tmp_path / 'v.db'}")
    version = sqlite3.sqlite_version
    messages = [r.getMessage() for r in caplog.records if r.name == "jingzhan.database"]
    assert any(f"SQLite {version}, journal_mode=wal" in m for m in messages), messages
    warned = [r for r in caplog.records if r.name == "jingzhan.database" and r.levelno == logging.WARNING]
    if version_tuple(version) < WAL_RESET_FIXED:
        assert warned and "3.51.3" in warned[0].getMessage() and "WAL" in warned[0].getMessage()
    else:
        assert not warned


def test_the_warning_depends_on_the_version_and_wal(monkeypatch, caplog):
    from webapp import database

    class Fake:
        def __init__(self, version, mode):
            self.answers = {"SELECT sqlite_version()": version, "PRAGMA journal_mode": mode}

        def execute_sql(self, sql):
            value = self.answers[sql]
            return type("Cursor", (), {"fetchone": lambda self: (value,)})()

    for version, mode, warns in (("3.51.2", "wal", True), ("3.51.3", "wal", False), ("3.52.1", "wal", False),
                                 ("3.40.1", "delete", False), ("3.7.17", "wal", True)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="jingzhan.database"):
            database.check_sqlite_version(Fake(version, mode))
        assert any(r.levelno == logging.WARNING for r in caplog.records) == warns, version


def test_backup_and_restore_carry_the_photos(app, runner, tmp_path):
    """Photos live outside the database: a backup copies those its rows refer to (new-layout blobs and files of
    older releases alike) into a shared, content-addressed folder beside it; a restore puts them back."""
    sqlite_only(app)
    from tests.conftest import login
    from tests.test_photo_store import files_under, old_release_photo
    from tests.test_photos import jpeg, upload
    from webapp.photo_store import DirectoryStore
    from webapp.photos import photo_key

    client = app.test_client()
    login(client, "HN1003")
    _, new = upload(client, jpeg(640, 480))
    old, old_photo, old_thumb = old_release_photo(app, "HN1003", jpeg(300, 500))  # not migrated yet
    first = runner.invoke(args=["backup", str(tmp_path / "backups" / "day1.db")])
    assert first.exit_code == 0, first.output
    assert "照片：新复制 4 个文件，0 个已有" in first.output
    folder = tmp_path / "backups" / "jingzhan-photos"
    copies = DirectoryStore(folder)
    old_sha = hashlib.sha256(old_photo).hexdigest()
    assert copies.get(photo_key(old_sha)) == old_photo and copies.get(photo_key(old_sha, thumb=True)) == old_thumb
    # The next backup into the same folder copies only what is new.
    upload(client, jpeg(200, 100))
    second = runner.invoke(args=["backup", str(tmp_path / "backups" / "day2.db")])
    assert second.exit_code == 0 and "照片：新复制 2 个文件，4 个已有" in second.output
    assert len(files_under(folder)) == 6
    # Restore the first day into a fresh install: its database and its four photo files, nothing else.
    restored_path = tmp_path / "restored" / "jingzhan.db"
    restored_app = make_app(f"sqlite:///{restored_path}", tmp_path / "restored")
    result = restored_app.test_cli_runner().invoke(args=["restore", str(tmp_path / "backups" / "day1.db")])
    assert result.exit_code == 0, result.output
    assert "照片：放回照片存储 4 个文件，0 个已有" in result.output
    assert len(files_under(tmp_path / "restored" / "photos")) == 4
    viewer = restored_app.test_client()
    login(viewer, "HN1001")
    for uid in (new, old):
        with viewer.get(f"/photos/{uid}.jpg") as response:
            assert response.status_code == 200, uid
    with viewer.get(f"/photos/{old}/thumb.jpg") as response:
        assert response.data == old_thumb


def test_backup_photo_folder_choices(app, runner, tmp_path):
    sqlite_only(app)
    from models import Photo, db
    from tests.conftest import login
    from tests.test_photos import jpeg, upload
    from webapp.photo_store import store_for
    from webapp.photos import photo_key

    client = app.test_client()
    login(client, "HN1003")
    _, uid = upload(client, jpeg(640, 480))
    live = app.config["PHOTO_DIR"]
    refused = runner.invoke(args=["backup", str(tmp_path / "a.db"), "--photos", str(live)])
    assert refused.exit_code != 0 and "照片目录本身" in refused.output and not (tmp_path / "a.db").exists()
    only_db = runner.invoke(args=["backup", str(tmp_path / "b.db"), "--no-photos"])
    assert only_db.exit_code == 0 and "照片" not in only_db.output
    assert not (tmp_path / "jingzhan-photos").exists()
    chosen = runner.invoke(args=["backup", str(tmp_path / "c.db"), "--photos", str(tmp_path / "elsewhere")])
    assert chosen.exit_code == 0 and len(list((tmp_path / "elsewhere").rglob("*.jpg"))) == 2
    # A blob lost from the store is reported, and the backup is still made.
    with db.connection_context():
        sha256 = Photo.get(Photo.uuid == uid).sha256
    store_for(app).delete(photo_key(sha256))
    lossy = runner.invoke(args=["backup", str(tmp_path / "d.db")])
    assert lossy.exit_code == 0 and "1 个照片文件哪里都找不到" in lossy.output and (tmp_path / "d.db").exists()
    # A backup made without photos (or before they were backed up) still restores its database, with a note.
    result = runner.invoke(args=["restore", str(tmp_path / "b.db"), "--force", "--photos", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output
    assert "没有照片备份目录" in result.output
