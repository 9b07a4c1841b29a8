"""井站通 Flask application factory."""
import re
import threading
from urllib.parse import urlsplit

from flask import Flask, abort, flash, g, redirect, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import login_url
from peewee import SqliteDatabase
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, IntegerConverter

from models import db, utcnow

from . import cli, csrf, errors, filters, i18n, sessions
from .access import MAX_ID
from .config import make_config
from .database import bind
from .errors import error_response, wants_json
from .htmx import htmx, is_background_fetch, is_htmx, page_flashes

# current_user comes from the server-side session named by the login cookie (webapp/sessions.py).
login_manager = sessions.SessionLoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("请先登录。")  # flashed as str() at request time (unauthorized())
login_manager.localize_callback = str
login_manager.login_message_category = "info"

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


HSTS = "max-age=31536000; includeSubDomains"  # a year, subdomains too (ASVS 5.0 V3.4.1)


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` in every route: ids beyond a 64-bit integer are simply not found (404), never a database error; and
    only ASCII digits are an id (Werkzeug's `\\d` would read /n/٣ as well 3: one record, many addresses)."""

    regex = r"[0-9]+"

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, except that a document nested too deep to parse (100,000 `[`) is a ValueError like any other
    malformed JSON — `request.get_json(silent=True)` then gives None and the route answers 400, not 500."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None

    def dumps(self, obj, **kwargs):
        """Non-ASCII as it is (ensure_ascii off), except a lone surrogate — half an emoji a phone cut, echoed back in
        an answer — which has no UTF-8: written as its JSON escape (\\ud83d), as the phone's JSON.stringify does."""
        text = super().dumps(obj, **kwargs)
        return LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if LONE_SURROGATE.search(text) else text


class TokenConverter(BaseConverter):
    """`<token:…>`: a token the app made (secrets.token_urlsafe, a label's, a card's): URL-safe base64 letters only.
    Anything else (a NUL, a lone surrogate, a space) is not found (404) before any query: PostgreSQL refuses a NUL
    in a text parameter, and no token of ours has one."""

    regex = r"[A-Za-z0-9_-]{1,64}"


def _take_turns_writing(app: Flask) -> None:
    """On SQLite, the requests of this process that may write (POST, PUT, PATCH, DELETE) take turns, first thing and
    until the last: one writer at a time is all SQLite allows, and a threaded server (`make run`'s) whose writers
    raced for its lock failed those that waited past the busy timeout ("database is locked", a 500). Reads stay
    concurrent; other processes (gunicorn's workers) wait on SQLite's own lock as before."""
    turn = threading.Lock()

    @app.before_request
    def take_turn():
        if request.method in UNSAFE_METHODS:
            turn.acquire()
            g.writing_turn = True

    @app.teardown_request
    def end_turn(exc):
        if g.pop("writing_turn", False):
            turn.release()


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, database binding, login, blueprints, hooks and CLI."""
    app = Flask(__name__, instance_relative_config=False)
    app.url_map.converters["int"] = DatabaseIdConverter
    app.url_map.converters["token"] = TokenConverter
    app.config.update(make_config(config))
    app.json = JsonProvider(app)
    app.json.ensure_ascii = False
    if hops := app.config.get("PROXY_HOPS"):
        # Behind nginx (deploy/): the client's address and scheme come from X-Forwarded-For/-Proto, as set by that
        # many proxies; without it those headers are ignored (login throttling counts per real address).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    bind(app.config["DATABASE_URL"])
    if isinstance(db.obj, SqliteDatabase):
        _take_turns_writing(app)
    htmx.init_app(app)
    # utcnow_iso: the server's time on every page, the lower bound of the time of what the phone records next
    # (docs/evidence.md §3).
    app.jinja_env.globals.update(page_flashes=page_flashes,
                                 utcnow_iso=lambda: utcnow().isoformat(timespec="seconds") + "Z")
    i18n.init_app(app)
    login_manager.init_app(app)
    sessions.init_app(app)
    filters.init_app(app)
    errors.init_app(app)
    cli.init_app(app)

    from routes import register_blueprints

    register_blueprints(app)

    @app.before_request
    def refuse_cross_site_writes():
        # Defence in depth with the per-session CSRF token (webapp/csrf.py), and the only
        # check for the JSON API: an outbox offline for a shift has no fresh token to send.
        if request.method not in UNSAFE_METHODS:
            return None
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            abort(403, description=gettext("拒绝跨站请求。"))
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            abort(403, description=gettext("拒绝跨站请求。"))
        return None

    csrf.init_app(app)  # after the origin check, so a cross-site request still answers 403

    @app.before_request
    def open_connection():
        if request.endpoint != "static":
            db.connect(reuse_if_open=True)

    @app.teardown_request
    def close_connection(exc):
        # PostgreSQL: back to the pool. SQLite: closed — a connection kept by a thread could hold an old read
        # snapshot (a cursor not read to its end) into the next request.
        if not db.is_closed():
            db.close()

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        # Behind HTTPS (JINGZHAN_SECURE_COOKIES=1 says a TLS proxy is in front) browsers must never fall back to
        # plain HTTP; over plain HTTP the header would be ignored, and it would lock out a test server on a LAN.
        if request.is_secure or app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    return app


@login_manager.unauthorized_handler
def unauthorized():
    """No session: the API answers 401 JSON (a followed redirect would look like success to fetch)."""
    if wants_json():
        return error_response(401)
    target = login_url(login_manager.login_view, next_url=request.full_path.rstrip("?"))
    if is_htmx():
        response = error_response(401)
        response.headers["HX-Redirect"] = target
        return response
    if is_background_fetch():
        # A background fetch (the service worker warming the offline copy): no flash, so the session — and a
        # message waiting for the login page, such as "您已退出登录" — is left as it is.
        return error_response(401)
    flash(str(login_manager.login_message), login_manager.login_message_category)
    return redirect(target)
