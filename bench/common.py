"""Shared set-up for the benchmarks: a fresh demo database in a temporary folder and an app bound to it."""
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-pass-2026"


def demo_app(folder: Path | None = None):
    """An app on a new SQLite database holding the demo work area; returns (app, folder)."""
    from models import db
    from webapp import create_app, migrations
    from webapp.demo import seed_demo

    folder = folder or Path(tempfile.mkdtemp(prefix="jingzhan-bench-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "SECRET_KEY": "bench", "INSTANCE_PATH": folder})
    with db.connection_context():
        migrations.upgrade()
        seed_demo(PASSWORD)
    return app, folder


def login(client, employee_no="HN1003"):
    """Log the test client in through the login form, with the form's CSRF token as a browser sends it."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    form = {"employee_no": employee_no, "password": PASSWORD, **({"csrf_token": token.group(1)} if token else {})}
    response = client.post("/login", data=form)
    assert response.status_code == 302, response.status_code


def keep_smoke_apart() -> None:
    """A smoke run started by hand writes its results to a temporary folder (bench/results.py's JINGZHAN_BENCH_OUT),
    never over the real numbers in docs/bench."""
    if not os.environ.get("JINGZHAN_BENCH_OUT"):
        os.environ["JINGZHAN_BENCH_OUT"] = tempfile.mkdtemp(prefix="jingzhan-bench-smoke-")
