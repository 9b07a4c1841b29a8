"""井站通 Flask application factory."""
from urllib.parse import urlsplit

from flask import Flask, abort, flash, redirect, request
from flask_login import LoginManager, login_url
from werkzeug.routing import IntegerConverter

from models import Station, User, WorkArea, db

from . import cli, errors, filters
from .access import MAX_ID
from .config import make_config
from .database import bind
from .errors import error_response, wants_json
from .htmx import htmx, is_htmx

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

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
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` in every route: ids beyond a 64-bit integer are simply not found (404), never a database error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, database binding, login, blueprints, hooks and CLI."""
    app = Flask(__name__, instance_relative_config=False)
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.update(make_config(config))
    app.json.ensure_ascii = False

    bind(app.config["DATABASE_URL"])
    htmx.init_app(app)
    login_manager.init_app(app)
    filters.init_app(app)
    errors.init_app(app)
    cli.init_app(app)

    from routes import register_blueprints

    register_blueprints(app)

    @app.before_request
    def refuse_cross_site_writes():
        # Time-limited CSRF tokens would expire while a worker is offline for a
        # shift, so unsafe requests are checked by where they come from instead.
        if request.method not in UNSAFE_METHODS:
            return None
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            abort(403, description="拒绝跨站请求。")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            abort(403, description="拒绝跨站请求。")
        return None

    @app.before_request
    def open_connection():
        if request.endpoint != "static":
            db.connect(reuse_if_open=True)

    @app.teardown_request
    def close_connection(exc):
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
        return response

    return app


@login_manager.user_loader
def load_user(session_id: str):
    """Find the user of a session; a disabled user or a changed password ends it."""
    user_id, _, tag = session_id.partition(".")
    if not user_id.isdigit():
        return None
    # One query for the user with their station and work area, which every page shows.
    user = (
        User.select(User, Station, WorkArea)
        .join(Station)
        .switch(User)
        .join(WorkArea)
        .where(User.id == int(user_id))
        .first()
    )
    if user is None or not user.is_enabled or user.session_tag != tag:
        return None
    return user



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
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(target)
