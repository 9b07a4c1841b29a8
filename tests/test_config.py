"""Configuration from the environment and the database URL, with clear messages for bad settings."""
import os
import stat

import peewee
import pytest

from webapp import config as config_module
from webapp.config import Config, make_config
from webapp.database import DatabaseConfigError, open_database


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = config_module._secret_key(tmp_path)
    second = config_module._secret_key(tmp_path)
    assert first == second and len(first) >= 40
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == first
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_secret_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert config_module._secret_key(tmp_path) == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_defaults(monkeypatch):
    for name in ("DATABASE_URL", "JINGZHAN_TZ", "JINGZHAN_SECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    cfg = Config(with_secret=False)
    assert cfg.DATABASE_URL == f"sqlite:///{config_module.INSTANCE / 'jingzhan.db'}"
    assert cfg.TIMEZONE == "Asia/Shanghai"
    assert cfg.SESSION_COOKIE_SECURE is False
    assert cfg.SESSION_COOKIE_HTTPONLY and cfg.SESSION_COOKIE_SAMESITE == "Lax"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("JINGZHAN_TZ", "Asia/Urumqi")
    monkeypatch.setenv("JINGZHAN_SECURE_COOKIES", "1")
    cfg = make_config({"SECRET_KEY": "x"})
    assert cfg["DATABASE_URL"] == "postgresql://u@h/db"
    assert cfg["TIMEZONE"] == "Asia/Urumqi"
    assert cfg["SESSION_COOKIE_SECURE"] is True and cfg["REMEMBER_COOKIE_SECURE"] is True


def test_instance_directory_is_git_ignored():
    ignored = (config_module.ROOT / ".gitignore").read_text().split()
    assert "instance/" in ignored


def test_unsupported_database_scheme_is_explained():
    with pytest.raises(DatabaseConfigError, match="不支持的数据库地址"):
        open_database("mysql://root@localhost/jz")


def test_missing_postgres_driver_names_the_package(monkeypatch):
    monkeypatch.setattr(peewee, "psycopg2", None)
    with pytest.raises(DatabaseConfigError) as info:
        open_database("postgresql://nobody@127.0.0.1:1/none")
    assert "未安装数据库驱动" in str(info.value)
    assert "psycopg2-binary" in str(info.value)


def test_unreachable_database_is_explained():
    with pytest.raises(DatabaseConfigError, match="无法连接数据库"):
        open_database("postgresql://nobody@127.0.0.1:1/none")


def test_run_py_prints_the_message_and_exits(monkeypatch, capsys):
    import run

    monkeypatch.setenv("DATABASE_URL", "oracle://x@y/z")
    monkeypatch.setenv("SECRET_KEY", "x")
    with pytest.raises(SystemExit) as info:
        run.main()
    assert info.value.code == 2
    assert "不支持的数据库地址" in capsys.readouterr().err
