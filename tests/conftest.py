"""Fixtures: an app on a fresh database per test (SQLite, and PostgreSQL when CI provides one)."""
import itertools
import os
import shutil

import pytest
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from werkzeug.datastructures import Headers

from models import User, Well, db
from webapp.database import release

POSTGRES_URL = os.environ.get("JINGZHAN_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
DEMO_PASSWORD = "demo-pass-2026"
DEMO_AREA = 1  # the demo work area, the first of every test database
_counter = itertools.count()

pytest_plugins = ["tests.scope_objects"]  # the station2 fixture for the scope, matrix, header and CSRF tests

# The edges of the calendar where date bugs live; `make test` runs the `dated` tests under each (docs/testing.md).
FIXED_DATES = {
    "month-start": "2027-03-01T00:05:00+08:00",  # 16:05 UTC on the last day of February
    "year-end": "2026-12-31T23:55:00+08:00",
    "leap-day": "2028-02-29T12:00:00+08:00",
    "shift-boundary": "2027-06-15T07:59:30+08:00",  # 30 s before the day shift begins
}


# What a date can change — periods, shifts, settlement, reports, deadlines, expiry, bounded record times: run under
# each of FIXED_DATES as well as today (`make test-dates`). Listed by module so that a new test there is included.
DATED_MODULES = {
    "test_settlement", "test_shifts", "test_reports", "test_assessment", "test_handover", "test_suggestions",
    "test_activities", "test_review", "test_notifications", "test_commitments", "test_sessions", "test_evidence",
    "test_hazards", "test_home", "test_plant", "test_fluctuations", "test_demo", "test_generate",
}
# Modules whose subject does not depend on the database (rendering, headers, translations, image handling): run on
# SQLite only, even when CI provides PostgreSQL.
SQLITE_ONLY_MODULES = {
    "test_i18n", "test_csrf", "test_headers", "test_proxy", "test_pwa", "test_pwa_install", "test_labels",
    "test_cards", "test_photos", "test_photo_store", "test_config", "test_nfc_crypto",
}


def pytest_collection_modifyitems(config, items):
    dated = pytest.mark.dated
    kept, dropped = [], []
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in DATED_MODULES:
            item.add_marker(dated)
        backend = getattr(getattr(item, "callspec", None), "params", {}).get("app") or getattr(
            getattr(item, "callspec", None), "params", {}).get("empty_app")
        (dropped if module in SQLITE_ONLY_MODULES and backend == "postgresql" else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_addoption(parser):
    parser.addoption("--at", default=os.environ.get("JINGZHAN_TEST_AT"),
                     help="run with the clock set to this time (ISO 8601 with offset, or a name in FIXED_DATES); "
                          "it keeps moving from there")


def pytest_configure(config):
    """Start the clock at --at for the whole run (seeded templates included); models.utcnow is the app's one now."""
    at = config.getoption("--at")
    if at:
        import time_machine
        from datetime import datetime

        moment = datetime.fromisoformat(FIXED_DATES.get(at, at))
        if moment.tzinfo is None:
            raise pytest.UsageError("--at needs a time with its offset, e.g. 2027-03-01T00:05:00+08:00")
        config._jingzhan_clock = time_machine.travel(moment, tick=True)
        config._jingzhan_clock.start()


def pytest_unconfigure(config):
    clock = getattr(config, "_jingzhan_clock", None)
    if clock is not None:
        clock.stop()


def pytest_report_header(config):
    at = config.getoption("--at")
    return f"clock: {FIXED_DATES.get(at, at)}" if at else None


class CsrfClient(FlaskClient):
    """A test client that sends the session's CSRF token, as the pages and app.js do, on every unsafe request
    outside the JSON API; `csrf=False` sends none (tests of the check itself)."""

    def open(self, *args, csrf=True, **kwargs):
        from webapp.csrf import EXEMPT_PREFIX, HEADER_NAME, UNSAFE_METHODS

        path = args[0] if args else kwargs.get("path", "/")
        method = str(kwargs.get("method", "GET")).upper()
        if csrf and isinstance(path, str) and method in UNSAFE_METHODS and not path.startswith(EXEMPT_PREFIX):
            headers = Headers(kwargs.get("headers"))
            if HEADER_NAME not in headers:
                where = {key: kwargs[key] for key in ("base_url", "environ_base") if key in kwargs}
                headers[HEADER_NAME] = self.csrf_token(path, **where)
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self, path="/", **where) -> str:
        """The token of this client's session (for the host of path or base_url), made as a browser that opened
        the form first would have it."""
        import secrets

        from webapp.csrf import SESSION_KEY

        with self.session_transaction(path, **where) as session:
            if not session.get(SESSION_KEY):
                session[SESSION_KEY] = secrets.token_urlsafe(32)
            return session[SESSION_KEY]


class _SharedTemplateCode(BytecodeCache):
    """Compiled templates shared by every app this test process makes: each test makes its own app, and compiling
    the same templates again for each was a tenth of the suite's time (the source's checksum keys each entry)."""

    def __init__(self):
        self.kept = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.kept:
            bucket.bytecode_from_string(self.kept[bucket.key])

    def dump_bytecode(self, bucket):
        self.kept[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CODE = _SharedTemplateCode()


def _share_url_builders():
    """Werkzeug compiles two URL-builder functions for every rule of every new app (~0.13 s an app, 280 rules):
    the same rules give the same functions, so this test process compiles each once. The functions take the rule as
    their first argument (its converters are looked up through it); the cache key is everything the code is made
    from. If werkzeug changes how it builds them, this does nothing and each app compiles its own."""
    from werkzeug.routing.rules import Rule

    original = Rule._compile_builder
    if not hasattr(Rule, "_get_func_code") or getattr(original, "_shared", False):
        return
    built = {}

    def _compile_builder(self, append_unknown=True):
        trace = getattr(self, "_trace", None)
        if trace is None:
            return original(self, append_unknown)
        key = (self.rule, tuple(trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in built:
            built[key] = original(self, append_unknown)
        return built[key]

    _compile_builder._shared = True
    Rule._compile_builder = _compile_builder


_share_url_builders()


def make_app(url, instance):
    from webapp import create_app

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key",
            "TESTING": True,
            "INSTANCE_PATH": instance,
            "DEMO_PASSWORD": DEMO_PASSWORD,
            "PHOTO_DIR": instance / "photos",
        }
    )
    app.test_client_class = CsrfClient
    app.jinja_env.bytecode_cache = _TEMPLATE_CODE
    return app


class Postgres:
    """Databases on the CI's throw-away cluster, cloned from seeded templates."""

    def __init__(self, admin_url):
        import psycopg2

        self.admin_url = admin_url
        self.base = admin_url.rsplit("/", 1)[0]
        self.conn = psycopg2.connect(admin_url)
        self.conn.autocommit = True
        self.prefix = f"jz_{os.getpid()}"

    def execute(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)

    def create(self, template=None):
        name = f"{self.prefix}_{next(_counter)}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name, f"{self.base}/{name}"

    def drop(self, name):
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres():
    if not POSTGRES_URL:
        pytest.skip("JINGZHAN_TEST_POSTGRES_URL not set")
    pg = Postgres(POSTGRES_URL)
    yield pg
    pg.conn.close()


def _seed(url, instance):
    from webapp import migrations
    from webapp.demo import seed_demo

    make_app(url, instance)
    with db.connection_context():
        migrations.upgrade()
        # The demo users' shared password with a cheap hash: a scrypt check costs ~80 ms a login and every test logs
        # in. Passwords set in a test are hashed as in production (test_passwords_are_hashed_with_scrypt).
        seed_demo(DEMO_PASSWORD, hash_method="pbkdf2:sha256:1000")


@pytest.fixture(scope="session")
def templates(request, tmp_path_factory):
    """Per backend: how to make a fresh empty database, and a fresh one holding the demo work area."""
    made = {}
    base = tmp_path_factory.mktemp("templates")
    sqlite_demo = base / "demo.db"
    _seed(f"sqlite:///{sqlite_demo}", base)

    def sqlite_db(tmp_path, demo):
        path = tmp_path / "jingzhan.db"
        if demo:
            shutil.copyfile(sqlite_demo, path)
        return f"sqlite:///{path}", lambda: None

    made["sqlite"] = sqlite_db
    if POSTGRES_URL:
        pg = request.getfixturevalue("postgres")
        name, url = pg.create()
        _seed(url, base)
        release()  # a template must have no connection left

        def pg_db(tmp_path, demo):
            clone, clone_url = pg.create(template=name if demo else None)
            return clone_url, lambda: pg.drop(clone)

        made["postgresql"] = pg_db
        yield made
        pg.drop(name)
    else:
        yield made


def _app(request, templates, tmp_path, demo):
    url, drop = templates[request.param](tmp_path, demo)
    app = make_app(url, tmp_path)
    app.config["BACKEND"] = request.param
    yield app
    release()
    drop()


@pytest.fixture(params=BACKENDS)
def app(request, templates, tmp_path):
    """The app on a fresh copy of the demo work area."""
    yield from _app(request, templates, tmp_path, demo=True)


@pytest.fixture(params=BACKENDS)
def empty_app(request, templates, tmp_path):
    """The app on a fresh database with no tables at all."""
    yield from _app(request, templates, tmp_path, demo=False)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def dbconn(app):
    """An open connection for tests that query models directly."""
    with db.connection_context():
        yield db


def login(client, employee_no, password=DEMO_PASSWORD, **extra):
    return client.post("/login", data={"employee_no": employee_no, "password": password, **extra})


@pytest.fixture
def login_as(client):
    """Log the test client in as a demo user: login_as("HN1001")."""

    def _login(employee_no, password=DEMO_PASSWORD):
        response = login(client, employee_no, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return _login


def get_user(employee_no):
    with db.connection_context():
        return User.get(User.employee_no == employee_no)


def get_well(code):
    with db.connection_context():
        return Well.get(Well.code == code)


@pytest.fixture
def leader(app):
    """A client logged in as the leader of 海南一号站 (HN1001)."""
    client = app.test_client()
    login(client, "HN1001")
    return client


@pytest.fixture
def people(app):
    """Logged-in clients: the reporting worker, the leader, another worker (assignee) and a third colleague."""
    clients = {}
    for role, employee_no in (("worker", "HN1003"), ("leader", "HN1001"), ("assignee", "HN1004"), ("colleague", "HN1005")):
        client = app.test_client()
        login(client, employee_no)
        clients[role] = client
    return clients
