"""A real gunicorn serving the app on 127.0.0.1, and phones that talk to it as a browser does.

Used by tests/test_gunicorn.py (kill mid-sync, concurrent writers) and bench/load_sync.py (the load run).
The server runs in its own process group, its log goes to a file, and it binds port 0 (a free port, read from the log).
"""
import os
import re
import signal
import subprocess
import sys
import time
import uuid as uuid_module
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PHONE_TZ = timezone(timedelta(hours=8))
READINGS = {
    "current_up_a": 42.5, "current_down_a": 38.1, "stroke_m": 3.0, "strokes_per_min": 4.5,
    "oil_pressure_mpa": 0.8, "casing_pressure_mpa": 1.2, "back_pressure_mpa": 0.6, "wellhead_temp_c": 38,
}
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


class Gunicorn:
    """`gunicorn 'webapp:create_app()'` on DATABASE_URL, started and stopped by the caller (or as a context manager)."""

    def __init__(self, database_url, folder: Path, *, workers=1, password="demo-pass-2026", timeout=60, extra_args=()):
        self.database_url, self.folder, self.workers = database_url, Path(folder), workers
        self.password, self.timeout, self.extra_args = password, timeout, list(extra_args)
        self.process = None
        self.port = None
        self.log_path = None
        self.starts = 0

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_s=30):
        self.starts += 1
        self.log_path = self.folder / f"gunicorn-{self.starts}.log"
        env = dict(
            os.environ,
            DATABASE_URL=self.database_url,
            SECRET_KEY="live-gunicorn-secret",  # the same across restarts, as in production
            JINGZHAN_INSTANCE=str(self.folder),
            JINGZHAN_PHOTO_DIR=str(self.folder / "photos"),
            JINGZHAN_DEMO_PASSWORD=self.password,
            PYTHONUNBUFFERED="1",
        )
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", "127.0.0.1:0",
            "--workers", str(self.workers),
            "--timeout", str(self.timeout),
            "--graceful-timeout", "5",
            "--no-control-socket",  # gunicorn 27's default socket is one per user: parallel servers would share it
            "--log-level", "info",
            "--error-logfile", str(self.log_path),
            *self.extra_args,
            "webapp:create_app()",
        ]
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop/kill_all)
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            match = LISTENING.search(self.log())
            if match:
                self.port = int(match.group(1))
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"gunicorn did not start:\n{self.log()}")
        self.wait_healthy(deadline - time.monotonic())
        return self

    def wait_healthy(self, wait_s=30):
        """Wait until a worker answers /api/v1/health (workers boot after the master listens)."""
        deadline = time.monotonic() + max(wait_s, 1)
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/api/v1/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not answer /api/v1/health:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def worker_pids(self):
        """The worker processes (children of the master), from /proc."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z" and int(fields[1]) == self.process.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def kill_all(self):
        """SIGKILL the master and its workers at once: a power cut, an OOM kill of the whole service."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.log_file.close()

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill_all()
        self.log_file.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def now_iso(delta=timedelta()):
    return (datetime.now(PHONE_TZ) + delta).isoformat(timespec="seconds")


def patrol(well, *, created_at=None):
    """A patrol record as the outbox keeps it (well: dict with id, and qr_token, latitude, longitude when the test
    knows them — the phone's directory has neither: a record without them is stored, flagged)."""
    data = {"well_id": well["id"], "method": "scan" if well.get("qr_token") else "manual", "readings": READINGS,
            "abnormal": False, "note": ""}
    if well.get("qr_token"):
        data["qr_token"] = well["qr_token"]
    if well.get("latitude") is not None:
        data["position"] = {"latitude": well["latitude"], "longitude": well["longitude"], "accuracy": 8}
    return {"uuid": str(uuid_module.uuid4()), "type": "patrol", "created_at": created_at or now_iso(), "data": data}


class Phone:
    """One worker's phone: a cookie jar, logged in through the login page, posting batches with a browser's headers."""

    def __init__(self, server: Gunicorn, employee_no: str, password: str):
        self.server, self.employee_no, self.password = server, employee_no, password
        self.http = requests.Session()
        self.device_id = f"phone-{employee_no}"

    def headers(self):
        # What a page's fetch() sends for a same-origin POST.
        return {"Origin": self.server.base, "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}

    def login(self):
        page = self.http.get(self.server.base + "/login", timeout=30).text
        form = {"employee_no": self.employee_no, "password": self.password, "remember": "on"}
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if token:
            form["csrf_token"] = token.group(1)
        response = self.http.post(self.server.base + "/login", data=form, headers=self.headers(),
                                  allow_redirects=False, timeout=30)
        if response.status_code != 302:
            raise AssertionError(f"login {self.employee_no}: {response.status_code} {response.text[:300]}")
        return self

    def sync(self, records, timeout=60):
        """POST one batch; the response (redirects are never followed: one would look like success)."""
        payload = {"device_id": self.device_id, "sent_at": now_iso(), "records": records}
        return self.http.post(self.server.base + "/api/v1/sync", json=payload, headers=self.headers(),
                              allow_redirects=False, timeout=timeout)


def demo_people(limit_per_station=None):
    """Workers of the demo's four stations with the wells they may patrol: [(employee_no, [well dicts])].

    Needs the models bound to the database (a connection context)."""
    from models import Station, User, Well

    people = []
    for station in Station.select().order_by(Station.id):
        wells = [{"id": w.id, "qr_token": w.qr_token, "latitude": float(w.latitude), "longitude": float(w.longitude)}
                 for w in Well.select().where((Well.station == station) & (Well.kind == "oil")).order_by(Well.id)
                 if w.latitude is not None]
        if not wells:
            continue
        users = User.select().where((User.station == station) & User.is_enabled).order_by(User.employee_no)
        for user in list(users)[:limit_per_station]:
            people.append((user.employee_no, wells))
    return people
