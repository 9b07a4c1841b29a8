"""Fixtures: an app on a fresh database per test (SQLite, and PostgreSQL when CI provides one)."""
import itertools
import os
import shutil

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from models import User, Well, db

POSTGRES_URL = os.environ.get("JINGZHAN_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
DEMO_PASSWORD = "demo-pass-2026"
DEMO_AREA = 1  # the demo work area, the first of every test database
_counter = itertools.count()

pytest_plugins = ["tests.scope_objects"]  # the station2 fixture for the scope, matrix, header and CSRF tests


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
        seed_demo(DEMO_PASSWORD)


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
        db.close()

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
    if not db.is_closed():
        db.close()
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
