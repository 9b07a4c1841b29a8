"""The production set-up of docs/deploy.md, tried: scripts/prod-stack.sh (gunicorn with deploy/gunicorn.conf.py on
PostgreSQL, on 127.0.0.1), nginx with deploy/nginx.conf.example in front of gunicorn, deploy/backup.sh, and the
example files held to the code so they cannot go stale.

The stack test needs PostgreSQL (JINGZHAN_TEST_POSTGRES_URL, as `make test-postgres` and CI provide) and the nginx
test needs nginx and openssl; each is skipped without them. Every server listens on 127.0.0.1 and is stopped at the
end, whatever happened.
"""
import importlib.util
import io
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import types
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from PIL import Image

from tests.conftest import DEMO_PASSWORD, POSTGRES_URL
from tests.live_gunicorn import LISTENING, Gunicorn, Phone, patrol
from webapp import CONTENT_SECURITY_POLICY
from webapp.config import Config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VENV = Path(sys.executable).parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BOTO3_SETTINGS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}  # photos in S3
SPOOFED = "10.6.6.6"  # what a phone might put in X-Forwarded-For itself


def load_gunicorn_config():
    spec = importlib.util.spec_from_file_location("jingzhan_gunicorn_conf", DEPLOY / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gunicorn_settings(module) -> dict:
    return {name: value for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "default_workers"}


def test_gunicorn_config_loads_with_sane_values(monkeypatch):
    from gunicorn.config import Config as GunicornConfig

    for name in ("JINGZHAN_BIND", "JINGZHAN_WORKERS", "JINGZHAN_TIMEOUT", "JINGZHAN_FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    module = load_gunicorn_config()
    settings = gunicorn_settings(module)
    # Every name is a gunicorn setting (a typo would be ignored silently by gunicorn) and takes its value.
    gunicorn = GunicornConfig()
    assert set(settings) <= set(gunicorn.settings), set(settings) - set(gunicorn.settings)
    for name, value in settings.items():
        gunicorn.set(name, value)
    cores = len(os.sched_getaffinity(0))
    assert gunicorn.workers == max(2, min(2 * cores + 1, 8))
    assert gunicorn.bind == ["127.0.0.1:8000"]
    assert gunicorn.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert 60 <= gunicorn.timeout <= 300 and gunicorn.graceful_timeout < gunicorn.timeout
    assert gunicorn.wsgi_app == "webapp:create_app()"
    assert gunicorn.accesslog == "-" and gunicorn.errorlog == "-"

    monkeypatch.setenv("JINGZHAN_WORKERS", "3")
    monkeypatch.setenv("JINGZHAN_BIND", "127.0.0.1:9000")
    module = load_gunicorn_config()
    assert (module.workers, module.bind) == (3, ["127.0.0.1:9000"])


def settings_read_by_the_code() -> set[str]:
    files = [*sorted((ROOT / "webapp").rglob("*.py")), DEPLOY / "gunicorn.conf.py"]
    names = set()
    for path in files:
        names |= set(re.findall(r'"(JINGZHAN_[A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
    return names | {"DATABASE_URL", "SECRET_KEY"}


def test_env_example_lists_every_setting_once_with_a_comment():
    lines = (DEPLOY / "env.example").read_text(encoding="utf-8").splitlines()
    listed = {}
    for number, line in enumerate(lines):
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            listed.setdefault(match.group(1), []).append(number)
    read = settings_read_by_the_code()
    config_py = set(re.findall(r'"(JINGZHAN_[A-Z0-9_]+)"', (ROOT / "webapp" / "config.py").read_text()))
    assert "JINGZHAN_PROXY_HOPS" in config_py and len(config_py) >= 14
    assert read - set(listed) == set(), "settings missing from deploy/env.example"
    assert set(listed) - read - BOTO3_SETTINGS == set(), "deploy/env.example lists settings nothing reads"
    for name, numbers in listed.items():
        assert len(numbers) == 1, f"{name} listed twice"
        above = numbers[0] - 1
        while lines[above].startswith("# AWS_"):  # boto3's three share one comment
            above -= 1
        comment = lines[above]
        # One line, Chinese then English.
        assert comment.startswith("# ") and re.search(r"[\u4e00-\u9fff]", comment) and " / " in comment, name


def test_deploy_files_agree_with_the_app():
    nginx = (DEPLOY / "nginx.conf.example").read_text(encoding="utf-8")
    limit = Config(with_secret=False).MAX_CONTENT_LENGTH
    assert re.search(r"client_max_body_size (\d+)m;", nginx).group(1) == str(limit // 2**20)
    assert "server 127.0.0.1:8000;" in nginx  # gunicorn's default bind
    gunicorn_timeout = re.search(r'"JINGZHAN_TIMEOUT", "(\d+)"', (DEPLOY / "gunicorn.conf.py").read_text()).group(1)
    assert re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1) == gunicorn_timeout
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in nginx and "X-Forwarded-Proto $scheme" in nginx

    env = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (DEPLOY / "env.example").read_text(encoding="utf-8"), re.M))
    assert env["JINGZHAN_PROXY_HOPS"] == "1" and env["JINGZHAN_SECURE_COOKIES"] == "1"
    unit = (DEPLOY / "jingzhan.service").read_text(encoding="utf-8")
    assert "EnvironmentFile=/etc/jingzhan/env" in unit and "--config /opt/jingzhan/deploy/gunicorn.conf.py" in unit
    writable = re.search(r"^ReadWritePaths=(.+)$", unit, re.M).group(1).split()
    for name in ("JINGZHAN_INSTANCE", "JINGZHAN_PHOTO_DIR"):
        assert any(env[name] == path or env[name].startswith(path + "/") for path in writable), name
    backup_unit = (DEPLOY / "jingzhan-backup.service").read_text(encoding="utf-8")
    assert "/var/lib/jingzhan" in backup_unit and "ExecStart=/opt/jingzhan/deploy/backup.sh" in backup_unit


def test_systemd_units_verify(tmp_path):
    """systemd's own check of the units (unknown keys, bad values), with the program where they expect it."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    program = tmp_path / "opt" / "jingzhan"
    (program / ".venv" / "bin").mkdir(parents=True)
    (program / "deploy").mkdir()
    for executable in (program / ".venv" / "bin" / "gunicorn", program / ".venv" / "bin" / "jingzhan",
                       program / "deploy" / "backup.sh"):
        executable.write_text("#!/bin/sh\n")
        executable.chmod(0o755)
    units = []
    for name in ("jingzhan.service", "jingzhan-backup.service", "jingzhan-backup.timer", "jingzhan-push.service",
                 "jingzhan-push.timer"):
        unit = tmp_path / name
        unit.write_text((DEPLOY / name).read_text(encoding="utf-8").replace("/opt/jingzhan", str(program)))
        units.append(str(unit))
    checked = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    assert checked.returncode == 0 and checked.stderr.strip() == "", checked.stderr


def test_the_deployment_guide_uses_real_commands_and_files(app):
    """Every `jingzhan <command>` in docs/deploy.md's shell blocks exists, and every deploy/ file is explained."""
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    shell = "\n".join(re.findall(r"```sh\n(.*?)```", guide, re.S))
    used = set(re.findall(r"(?:^|&&|;)\s*jingzhan ([a-z][a-z-]*)", shell, re.M))
    assert {"db", "create-work-area", "restore"} <= used
    assert used <= set(app.cli.list_commands(None)) | {"shell", "run", "routes"}, used
    assert "jingzhan db upgrade" in shell
    for path in DEPLOY.iterdir():
        assert path.name in guide, path.name


def run_backup(destination, **env):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("JINGZHAN_")}
    environment.pop("DATABASE_URL", None)
    environment.update(env, VENV=str(VENV))
    return subprocess.run([str(DEPLOY / "backup.sh"), str(destination), "14"], env=environment, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_backup_script_keeps_dated_copies_of_a_sqlite_database(templates, tmp_path):
    url, _ = templates["sqlite"](tmp_path, True)
    destination = tmp_path / "backups"
    destination.mkdir()
    stale = destination / "jingzhan-20200101-000000.db"
    stale.write_bytes(b"old")
    os.utime(stale, (time.time() - 20 * 86400,) * 2)

    done = run_backup(destination, DATABASE_URL=url, JINGZHAN_PHOTO_DIR=str(tmp_path / "photos"))
    assert done.returncode == 0, done.stdout + done.stderr
    [copy] = destination.glob("jingzhan-*.db")
    check = sqlite3.connect(copy)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert check.execute("SELECT count(*) FROM well").fetchone()[0] > 0
    finally:
        check.close()
    assert "已删除过期备份" in done.stdout and not stale.exists()
    time.sleep(1)  # the next copy gets its own time stamp
    again = run_backup(destination, DATABASE_URL=url, JINGZHAN_PHOTO_DIR=str(tmp_path / "photos"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(list(destination.glob("jingzhan-*.db"))) == 2


class Output:
    """A process's combined output, read by a thread so the process never blocks on a full pipe."""

    def __init__(self, process):
        self.lines = []
        self.thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line)

    @property
    def text(self):
        return "".join(self.lines)

    def wait_for(self, pattern, process, deadline):
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text)
            if match:
                return match
            if process.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"no {pattern!r} in the output:\n{self.text[-4000:]}")


def stop_group(process, sig, wait_s):
    """Signal the process group; True when it ended in time (else it is killed)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=wait_s)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return False


def database_exists(name):
    import psycopg2

    conn = psycopg2.connect(POSTGRES_URL)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cur.fetchone() is not None
    finally:
        conn.close()


def cookie(jar, name):
    return next(c for c in jar if c.name == name)


def oil_well(phone):
    wells = phone.http.get(phone.server.base + "/api/v1/wells", timeout=30).json()["wells"]
    return next(w for w in wells if w["kind"] == "oil")


def small_jpeg():
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (180, 90, 30)).save(out, format="JPEG")
    return out.getvalue()


def test_production_stack_end_to_end(postgres, tmp_path):
    """scripts/prod-stack.sh against PostgreSQL: log in, sync a patrol, read it back, the served headers, a photo, a
    backup with pg_dump and the photos, and Ctrl-C leaves nothing behind."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("JINGZHAN_") and key not in ("DATABASE_URL", "SECRET_KEY")}
    env.update(JINGZHAN_TEST_POSTGRES_URL=POSTGRES_URL, JINGZHAN_BIND="127.0.0.1:0", JINGZHAN_WORKERS="2",
               JINGZHAN_DEMO_PASSWORD=DEMO_PASSWORD, VENV=str(VENV), PYTHONUNBUFFERED="1")
    started = time.monotonic()
    process = subprocess.Popen([str(ROOT / "scripts" / "prod-stack.sh"), "--history-days", "0"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = Output(process)
    name = None
    try:
        database_url = output.wait_for(r"数据库：(\S+)", process, started + 60).group(1)
        instance = Path(output.wait_for(r"数据目录：(\S+)", process, started + 60).group(1))
        name = database_url.rsplit("/", 1)[1]
        port = output.wait_for(LISTENING.pattern, process, started + 60).group(1)
        server = SimpleNamespace(base=f"http://127.0.0.1:{port}")
        output.wait_for(r"Booting worker with pid", process, started + 60)  # logged just after "Listening at"

        phone = Phone(server, "HN1003", DEMO_PASSWORD)
        phone.http.headers["X-Forwarded-For"] = SPOOFED  # no proxy in this stack: the header must be ignored
        login_page = phone.http.get(server.base + "/login", timeout=30)
        assert login_page.status_code == 200
        assert login_page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert login_page.headers["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" not in login_page.headers  # plain http on loopback
        phone.login()
        login_cookie = cookie(phone.http.cookies, "jingzhan_login")
        assert login_cookie.has_nonstandard_attr("HttpOnly") and login_cookie.path == "/"
        assert login_cookie.get_nonstandard_attr("SameSite") == "Lax" and not login_cookie.secure

        well = oil_well(phone)
        record = patrol(well)
        record["data"]["note"] = "生产环境试运行"
        first = phone.sync([record])
        assert first.status_code == 200, first.text[:500]
        assert [r["status"] for r in first.json()["results"]] == ["created"]
        assert [r["status"] for r in phone.sync([record]).json()["results"]] == ["duplicate"]

        records = phone.http.get(server.base + "/records", timeout=30)
        assert records.status_code == 200
        assert f'data-uuid="{record["uuid"]}"' in records.text and "生产环境试运行" in records.text
        assert records.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        devices = phone.http.get(server.base + "/sessions", timeout=30).text
        assert "127.0.0.1" in devices and SPOOFED not in devices

        photo = phone.http.post(server.base + "/api/v1/photos", data={"uuid": str(uuid.uuid4())},
                                files={"file": ("well.jpg", small_jpeg(), "image/jpeg")}, headers=phone.headers(),
                                timeout=30)
        assert photo.status_code == 201, photo.text[:300]

        backup = run_backup(tmp_path / "backups", DATABASE_URL=database_url, JINGZHAN_PHOTO_DIR=str(instance / "photos"))
        assert backup.returncode == 0, backup.stdout + backup.stderr
        assert len(list((tmp_path / "backups").glob("jingzhan-*.dump"))) == 1
        copied = [p for p in (tmp_path / "backups" / "jingzhan-photos").rglob("*") if p.is_file()]
        assert len(copied) == 2, backup.stdout  # the photo and its thumbnail
    finally:
        # Ctrl-C, as in a terminal: the script stops gunicorn and drops its database.
        stopped = stop_group(process, signal.SIGINT, 30)
        output.thread.join(timeout=5)
        process.stdout.close()
        if not stopped and name:
            postgres.drop(name)  # the script was killed before its own clean-up
    assert stopped, output.text[-3000:]
    assert "试运行数据库" in output.text and "已删除" in output.text, output.text[-3000:]
    assert not database_exists(name)
    for marker in ("Traceback", "[ERROR]", "[CRITICAL]"):
        assert marker not in output.text, output.text[-4000:]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(port))) != 0  # nothing listens any more
    assert time.monotonic() - started < 45


class FromAddress(requests.adapters.HTTPAdapter):
    """Connect from 127.0.0.2: a client the proxy tells apart from itself (127.0.0.1)."""

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = ("127.0.0.2", 0)
        super().init_poolmanager(*args, **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_site(gunicorn_port, http_port, https_port, cert, key):
    """deploy/nginx.conf.example with this test's ports and certificate, everything else as shipped."""
    site = (DEPLOY / "nginx.conf.example").read_text(encoding="utf-8")
    replacements = [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{gunicorn_port};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/jingzhan/tls/jingzhan.crt", str(cert)),
        ("/etc/jingzhan/tls/jingzhan.key", str(key)),
    ]
    for old, new in replacements:
        assert site.count(old) == 1, old
        site = site.replace(old, new)
    return re.sub(r"\n\s*listen \[::\]:[^\n]*", "", site)  # IPv4 loopback only


@pytest.fixture
def nginx_in_front(templates, tmp_path, monkeypatch):
    """gunicorn (deploy/gunicorn.conf.py, as deploy/env.example sets the app up) behind nginx with the example's site."""
    if not Path(NGINX).exists() or not shutil.which("openssl"):
        pytest.skip("nginx or openssl not installed (apt-get install nginx)")
    url, _ = templates["sqlite"](tmp_path, True)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    monkeypatch.setenv("JINGZHAN_PROXY_HOPS", "1")
    monkeypatch.setenv("JINGZHAN_SECURE_COOKIES", "1")
    server = Gunicorn(url, tmp_path, workers=2, password=DEMO_PASSWORD,
                      extra_args=["--config", str(DEPLOY / "gunicorn.conf.py")]).start()
    http_port, https_port = free_port(), free_port()
    (tmp_path / "site.conf").write_text(nginx_site(server.port, http_port, https_port, cert, key))
    temp_paths = "".join(f"    {kind}_temp_path {tmp_path}/nginx-{kind};\n"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off;\nmaster_process off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/nginx-error.log warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    access_log {tmp_path}/nginx-access.log;\n{temp_paths}    include {tmp_path}/site.conf;\n}}\n")
    command = [NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "nginx-error.log"), "-c", str(tmp_path / "nginx.conf")]
    process = None
    try:
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", https_port)) == 0:
                    break
            assert process.poll() is None, (tmp_path / "nginx-error.log").read_text()
            time.sleep(0.05)
        else:
            pytest.fail("nginx did not listen")
        yield SimpleNamespace(base=f"https://127.0.0.1:{https_port}", http_port=http_port, cert=cert, gunicorn=server)
    finally:
        if process is not None:
            stop_group(process, signal.SIGQUIT, 10)
        server.stop()


def test_nginx_example_in_front_of_gunicorn(nginx_in_front):
    """The phone's view through nginx: HTTPS only, Secure cookies, its own address (not one it made up), the app's
    headers and limits, compressed static files."""
    proxy = nginx_in_front
    phone = Phone(proxy, "HN1003", DEMO_PASSWORD)
    phone.http.trust_env = False  # REQUESTS_CA_BUNDLE would replace the test's own certificate authority
    phone.http.verify = str(proxy.cert)
    for scheme in ("http://", "https://"):
        phone.http.mount(scheme, FromAddress())

    to_https = phone.http.get(f"http://127.0.0.1:{proxy.http_port}/records?x=1", allow_redirects=False, timeout=30)
    assert to_https.status_code == 301 and to_https.headers["Location"] == "https://127.0.0.1/records?x=1"

    login_page = phone.http.get(proxy.base + "/login", timeout=30)
    assert login_page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "max-age=31536000" in login_page.headers["Strict-Transport-Security"]
    assert "gunicorn" not in login_page.headers.get("Server", "")
    assert "Content-Encoding" not in login_page.headers  # pages carry the CSRF token: not compressed (BREACH)
    phone.http.headers["X-Forwarded-For"] = SPOOFED
    phone.login()
    login_cookie = cookie(phone.http.cookies, "__Host-jingzhan_login")
    assert login_cookie.secure and login_cookie.has_nonstandard_attr("HttpOnly")

    record = patrol(oil_well(phone))
    synced = phone.sync([record])
    assert synced.status_code == 200 and synced.json()["results"][0]["status"] == "created", synced.text[:300]
    assert f'data-uuid="{record["uuid"]}"' in phone.http.get(proxy.base + "/records", timeout=30).text
    devices = phone.http.get(proxy.base + "/sessions", timeout=30).text
    assert "127.0.0.2" in devices and SPOOFED not in devices  # the address nginx saw, not the one the phone sent
    assert '"event": "login_succeeded"' in proxy.gunicorn.log() and '"address": "127.0.0.2"' in proxy.gunicorn.log()

    # The app's own limit answers in JSON the outbox understands; only beyond the app's overall limit does nginx.
    big_batch = phone.http.post(proxy.base + "/api/v1/sync", data=b"{" + b" " * (3 * 2**20) + b"}",
                                headers={**phone.headers(), "Content-Type": "application/json"}, timeout=60)
    assert big_batch.status_code == 413 and big_batch.json()["error"]["code"] == "too_large"
    too_big = phone.http.post(proxy.base + "/api/v1/photos", data=b"x" * (17 * 2**20),
                              headers={**phone.headers(), "Content-Type": "application/octet-stream"}, timeout=60)
    assert too_big.status_code == 413

    # Static files and the service worker: the app's caching headers, compressed on the way.
    for path in ("/static/css/app.css", "/static/js/outbox.js", "/sw.js"):
        through = phone.http.get(proxy.base + path, headers={"Accept-Encoding": "gzip"}, timeout=30)
        direct = requests.get(proxy.gunicorn.base + path, timeout=30)
        assert through.status_code == 200 and through.headers.get("Content-Encoding") == "gzip", path
        assert through.headers.get("Cache-Control") == direct.headers.get("Cache-Control"), path
        assert "Expires" not in through.headers and through.text == direct.text, path
        assert through.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert phone.http.get(proxy.base + "/sw.js", timeout=30).headers["Cache-Control"] == "no-cache"
