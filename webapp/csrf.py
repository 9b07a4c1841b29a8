"""CSRF tokens for every unsafe request outside the JSON API: one random token per session, no expiry.

The token lives in the session (as long as the session does, never by time: a page stays open for a whole
shift offline) and is mirrored in the readable cookie `jingzhan_csrf`, which app.js copies into every form on
submit and every htmx request, so a page served from the service worker's cache posts the current token, not
the one it was rendered with. Without JavaScript the hidden field rendered into the (fresh) page is used.
The JSON API under /api/v1/ is called by the outbox with fetch and keeps the Origin / Sec-Fetch-Site defence.
"""
import hmac
import re
import secrets

from flask import current_app, render_template, request, session
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user, user_logged_in, user_logged_out
from jinja2.ext import Extension
from markupsafe import Markup, escape
from werkzeug.exceptions import BadRequest

from .htmx import is_htmx

SESSION_KEY = "_csrf_token"
OWNER_KEY = "_csrf_user"
COOKIE_NAME = "jingzhan_csrf"  # "__Host-jingzhan_csrf" over HTTPS (cookie_name())
FIELD_NAME = "csrf_token"
HEADER_NAME = "X-CSRF-Token"
EXEMPT_PREFIX = "/api/v1/"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
EXPIRED_MESSAGE = _l("页面已过期，请刷新后重试。")
# Marks the answer so app.js can show it for htmx requests (whose 4xx answers are not swapped).
EXPIRED_HEADER = "X-CSRF-Expired"

# An opening <form …> tag: quoted values and Jinja tags may hold ">" and span lines.
FORM_TAG = re.compile(r"<form\b(?:\{\{.*?\}\}|\{%.*?%\}|\"[^\"]*\"|'[^']*'|[^>\"'])*>", re.IGNORECASE | re.DOTALL)
METHOD_POST = re.compile(r"\bmethod\s*=\s*([\"']?)post\1(?=[\s>/]|$)", re.IGNORECASE)


class CSRFError(BadRequest):
    """The token is missing or does not match the session's."""

    description = EXPIRED_MESSAGE


class CsrfFormExtension(Extension):
    """Puts `{{ csrf_field() }}` right after every `<form … method="post" …>` tag of an HTML template."""

    def preprocess(self, source, name, filename=None):
        if name and not name.endswith(".html"):
            return source
        return FORM_TAG.sub(lambda m: m.group(0) + "{{ csrf_field() }}" if METHOD_POST.search(m.group(0)) else m.group(0),
                            source)


def cookie_name() -> str:
    """Behind HTTPS "__Host-" (Secure, Path=/, no Domain): a sibling subdomain cannot plant or overwrite it."""
    return f"__Host-{COOKIE_NAME}" if current_app.config["SESSION_COOKIE_SECURE"] else COOKIE_NAME


def _owner():
    return current_user.id if current_user.is_authenticated else None


def _issue(owner) -> str:
    token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    session[OWNER_KEY] = owner
    return token


def csrf_token() -> str:
    """The session's token, made on first use and kept while the same user (or nobody) is logged in."""
    token = session.get(SESSION_KEY)
    owner = _owner()
    # A new login (or a logout) gets a new token: one known before it, e.g. planted on a shared phone, is worthless.
    if not token or session.get(OWNER_KEY) != owner:
        token = _issue(owner)
    return token


def csrf_field() -> Markup:
    """The hidden form field with the session's token."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD_NAME, escape(csrf_token()))


def _matches(submitted, expected: str) -> bool:
    return isinstance(submitted, str) and hmac.compare_digest(submitted.encode(), expected.encode())


def token_is_valid() -> bool:
    """True when the header or the form field carries the session's token (compared in constant time)."""
    expected = session.get(SESSION_KEY)
    if not expected:
        return False
    # The header first: app.js puts the current token there, while a cached page's field may hold an old one.
    if _matches(request.headers.get(HEADER_NAME), expected):
        return True
    return _matches(request.form.get(FIELD_NAME), expected)


def check_token():
    """before_request: refuse an unsafe request outside the JSON API without the session's token."""
    if request.method in UNSAFE_METHODS and not request.path.startswith(EXEMPT_PREFIX) and not token_is_valid():
        current_app.logger.warning("CSRF token missing or wrong: %s %s", request.method, request.path)
        raise CSRFError()


def expired_response(exc: CSRFError):
    """400 as a Chinese page, or for htmx a notice fragment the page shows (app.js) instead of swapping it."""
    if is_htmx():
        response = current_app.make_response((render_template("errors/_expired.html", message=str(EXPIRED_MESSAGE)), 400))
    else:
        response = current_app.make_response((render_template(
            "errors/error.html", status=400, message=str(EXPIRED_MESSAGE),
            detail=gettext("为了账号安全，提交的内容须来自本站当前登录后打开的页面。请返回上一页刷新后再提交。")), 400))
    response.headers[EXPIRED_HEADER] = "1"
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    return response


def mirror_cookie(response):
    """after_request: keep the readable cookie equal to the session's token (or gone when there is none)."""
    if request.endpoint == "static":
        return response
    token = session.get(SESSION_KEY)
    # A logged-in page or API answer always leaves the current token behind (a new one after a new login), so
    # pages kept offline can post after it.
    if token or (response.mimetype in ("text/html", "application/json") and current_user.is_authenticated):
        token = csrf_token()
    name, secure = cookie_name(), bool(current_app.config["SESSION_COOKIE_SECURE"])
    if token and request.cookies.get(name) != token:
        interface = current_app.session_interface
        expires = interface.get_expiration_time(current_app, session) if hasattr(interface, "get_expiration_time") else None
        # Not HttpOnly: app.js reads it. It holds nothing a page of this origin could not read from its own forms.
        response.set_cookie(name, token, expires=expires, path="/", secure=secure, httponly=False, samesite="Lax")
    elif not token and name in request.cookies:
        response.delete_cookie(name, path="/", secure=secure, samesite="Lax")
    return response


# Made at once, not at the next page: the phone's background requests still under way (warming the offline copy)
# write back the session they started with, and should carry the new token rather than none.
def _new_token_at_login(_sender, user=None, **_extra):
    _issue(user.id if user is not None else None)  # also when the same user logs in again


def _new_token_at_logout(_sender, **_extra):
    _issue(None)


def init_app(app):
    """Check tokens on unsafe requests, mirror them in the cookie, and put them into every post form."""
    app.jinja_env.add_extension(CsrfFormExtension)
    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_field=csrf_field)
    app.before_request(check_token)
    app.after_request(mirror_cookie)
    app.register_error_handler(CSRFError, expired_response)
    user_logged_in.connect(_new_token_at_login, app)
    user_logged_out.connect(_new_token_at_logout, app)
