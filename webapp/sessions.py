"""Server-side login sessions: the login cookie holds only a random 256-bit id, the database its SHA-256 and the rules.

Flask-Login still gives `current_user` and `login_required`, but its user comes from here and nowhere else: not
from Flask's signed cookie session (which keeps flashes and the CSRF token) nor from Flask-Login's remember cookie,
neither of which the server could take back. A session ends for good at logout, when the user's password changes
or the account is disabled (`User.save`), after SESSION_IDLE_HOURS without a request, and at its absolute expiry
(SESSION_REMEMBER_DAYS with "在本机保持登录", else SESSION_HOURS and a cookie that ends with the browser).
A request with the cookie costs one query (session, user, station and work area joined); `last_seen_at` is
written at most every SESSION_TOUCH_SECONDS.
"""
import hashlib
import secrets
from datetime import datetime, timedelta

import click
from flask import current_app, g, has_request_context, request, session
from flask.cli import with_appcontext
from flask_babel import gettext, lazy_gettext as _l
from flask_login import LoginManager, user_logged_in, user_logged_out
from flask_login.signals import user_accessed

from models import AuthEvent, Station, User, UserSession, WorkArea, db, utcnow

TOKEN_BYTES = 32
# What Flask-Login kept in Flask's session and its remember cookie before sessions moved to the server.
LEGACY_SESSION_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")
LEGACY_REMEMBER_COOKIE = "remember_token"
PRUNE_BATCH = 200
# A session is deleted this long after its expiry (revoked ones included), so recent ones stay for review.
KEEP_AFTER_EXPIRY = timedelta(days=30)


def token_hash(token: str) -> str:
    """What the database keeps of a cookie's id."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, *, remember: bool, user_agent: str = "", address: str = "",
          now: datetime | None = None) -> tuple[str, UserSession]:
    """A new session for user: the id for the cookie (stored nowhere) and the row."""
    now = now or utcnow()
    config = current_app.config
    lifetime = (timedelta(days=config["SESSION_REMEMBER_DAYS"]) if remember
                else timedelta(hours=config["SESSION_HOURS"]))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with db.atomic():
        row = UserSession.create(token_hash=token_hash(token), user=user, created_at=now, last_seen_at=now,
                                 expires_at=now + lifetime, persistent=remember, user_agent=user_agent[:120],
                                 address=address[:45])
        old = (UserSession.select(UserSession.id).where(UserSession.expires_at < now - KEEP_AFTER_EXPIRY)
               .limit(PRUNE_BATCH))
        UserSession.delete().where(UserSession.id.in_(old)).execute()
    return token, row


def _end(row: UserSession, reason: str, now: datetime) -> None:
    UserSession.update(revoked_at=now, revoked_reason=reason).where(
        (UserSession.id == row.id) & UserSession.revoked_at.is_null()).execute()
    row.revoked_at, row.revoked_reason = now, reason


def find(token: str | None, now: datetime | None = None) -> UserSession | None:
    """The live session named by a cookie's id, with its user, station and work area (one query), or None.
    A session found past its idle or absolute time is ended here, and the event recorded."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    row = (UserSession.select(UserSession, User, Station, WorkArea)
           .join(User).join(Station).switch(User).join(WorkArea)
           .where(UserSession.token_hash == token_hash(token))
           .first())
    if row is None or row.revoked_at is not None:
        return None
    config = current_app.config
    if not row.user.is_enabled:  # disabling revokes already (User.save); this covers a bulk update
        UserSession.revoke_all(row.user, "disabled", now=now)
        return None
    reason = None
    if now >= row.expires_at:
        reason = "expired"
    elif now - row.last_seen_at >= timedelta(hours=config["SESSION_IDLE_HOURS"]):
        reason = "idle"
    if reason:
        with db.atomic():
            _end(row, reason, now)
            AuthEvent.record("session_expired", user=row.user, detail=reason, now=now,
                             address=_address() if has_request_context() else "")
        return None
    if (now - row.last_seen_at).total_seconds() >= config["SESSION_TOUCH_SECONDS"]:
        UserSession.update(last_seen_at=now).where(UserSession.id == row.id).execute()
        row.last_seen_at = now
    return row


def _address() -> str:
    # The peer's address. Behind a reverse proxy this is the proxy's until ProxyFix is configured (docs/decisions.md).
    return (request.remote_addr or "")[:45]


def request_session() -> UserSession | None:
    """This request's live session, looked up once per request from the login cookie."""
    if "login_session" not in g:
        token = request.cookies.get(current_app.config["AUTH_COOKIE_NAME"])
        g.login_session = find(token)
        if token and g.login_session is None:
            g.login_cookie = None  # a dead id: the response deletes the cookie
    return g.login_session


class SessionLoginManager(LoginManager):
    """Flask-Login whose user is the one of the live server-side session named by the login cookie, and nobody else."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.session_protection = None  # the server-side session is the protection

    def _load_user(self):
        user_accessed.send(current_app._get_current_object())
        row = request_session()
        return self._update_request_context_with_user(row.user if row is not None else None)

    def set_request_user(self, user: User | None) -> None:
        """current_user for the rest of this request (after logging in or out)."""
        self._update_request_context_with_user(user)


def _forget_legacy_login() -> None:
    for key in LEGACY_SESSION_KEYS:
        session.pop(key, None)


def log_in(user: User, *, remember: bool) -> UserSession:
    """Start a new session for user on this device. Its id is always new (an id the browser had before the login
    is never reused: no session fixation); the response sets the cookie."""
    token, row = start(user, remember=remember, user_agent=request.user_agent.string, address=_address())
    g.login_session, g.login_cookie = row, token
    _forget_legacy_login()
    current_app.login_manager.set_request_user(user)
    user_logged_in.send(current_app._get_current_object(), user=user)
    return row


def log_out() -> User | None:
    """End this device's session on the server and drop the cookie; the user it belonged to, if any."""
    row = request_session()
    user = row.user if row is not None else None
    if row is not None:
        with db.atomic():
            _end(row, "logout", utcnow())
            AuthEvent.record("logout", user=user, address=_address())
    g.login_session, g.login_cookie = None, None
    _forget_legacy_login()
    current_app.login_manager.set_request_user(None)
    if user is not None:
        user_logged_out.send(current_app._get_current_object(), user=user)
    return user


def live_sessions(user: User, now: datetime | None = None) -> list[UserSession]:
    """The user's sessions that would still let a device in, the most recently used first."""
    now = now or utcnow()
    idle = timedelta(hours=current_app.config["SESSION_IDLE_HOURS"])
    return list(UserSession.select().where(
        (UserSession.user == user) & UserSession.revoked_at.is_null() & (UserSession.expires_at > now)
        & (UserSession.last_seen_at > now - idle)).order_by(UserSession.last_seen_at.desc(), UserSession.id.desc()))


def end_other_sessions(current: UserSession) -> int:
    """End every session of current's user except current itself (the user asked, on 登录设备)."""
    with db.atomic():
        count = (UserSession.update(revoked_at=utcnow(), revoked_reason="user")
                 .where((UserSession.user == current.user_id) & (UserSession.id != current.id)
                        & UserSession.revoked_at.is_null()).execute())
        if count:
            AuthEvent.record("session_revoked", user=current.user, address=_address(), detail=f"user ×{count}")
    return count


_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("HarmonyOS", _l("鸿蒙")), ("Android", _l("安卓")),
            ("Windows", "Windows"), ("Mac OS X", "Mac"), ("Linux", "Linux"))
_BROWSERS = (("MicroMessenger", _l("微信")), ("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"))


def device_label(user_agent: str) -> str:
    """A short name for a device from its User-Agent, e.g. "安卓 · Chrome" (shown as text)."""
    system = next((str(label) for key, label in _SYSTEMS if key in user_agent), "")
    browser = next((str(label) for key, label in _BROWSERS if key in user_agent), "")
    return " · ".join(part for part in (system, browser) if part) or gettext("未知设备")


def write_cookie(response):
    """after_request: set the login cookie after a login, delete it after a logout or when its session is dead."""
    config = current_app.config
    name = config["AUTH_COOKIE_NAME"]
    secure = bool(config["SESSION_COOKIE_SECURE"]) or name.startswith("__Host-")
    if "login_session" in g:
        response.vary.add("Cookie")  # the answer depended on who is logged in
    if "login_cookie" in g:
        token = g.login_cookie
        if token:
            row = g.login_session
            expires = row.expires_at if row.persistent else None
            max_age = int((row.expires_at - row.created_at).total_seconds()) if row.persistent else None
            response.set_cookie(name, token, max_age=max_age, expires=expires, path="/", secure=secure,
                                httponly=True, samesite="Lax")
        elif name in request.cookies:
            response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="Lax")
    if LEGACY_REMEMBER_COOKIE in request.cookies:
        response.delete_cookie(LEGACY_REMEMBER_COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
    return response


def _parse_since(value: str, zone) -> datetime:
    """'24h', '7d', '2026-11-20' or '2026-11-20 08:00' (in the work area's zone) → naive UTC."""
    from datetime import timezone

    text = value.strip()
    if text[:-1].isascii() and text[:-1].isdigit() and len(text) <= 7 and text[-1:] in ("h", "d"):
        amount = int(text[:-1])
        return utcnow() - (timedelta(hours=amount) if text.endswith("h") else timedelta(days=amount))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("请写成 24h、7d、2026-11-20 或 \"2026-11-20 08:00\"。") from None  # i18n: data (CLI)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


@click.command("auth-events", help="查看登录相关事件：登录成功/失败、退出、锁定、限流、改密码、会话结束。")
@click.option("--since", default="24h", show_default=True, help="从何时起：24h、7d、2026-11-20 或 \"2026-11-20 08:00\"")
@click.option("--user", "employee_no", default="", help="只看这个工号（包括输错的工号）")
@click.option("--event", default="", help="只看这种事件，如 login_failed")
@click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True)
@with_appcontext
def auth_events_command(since, employee_no, event, limit):  # i18n: data (the command line stays Chinese)
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(current_app.config["TIMEZONE"])
    query = AuthEvent.select().where(AuthEvent.at >= _parse_since(since, zone))
    if employee_no:
        query = query.where(AuthEvent.employee_no == employee_no.strip().upper())
    if event:
        query = query.where(AuthEvent.event == event.strip())
    with db.connection_context():
        rows = list(query.order_by(AuthEvent.at, AuthEvent.id).limit(limit))
    for row in rows:
        at = row.at.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
        click.echo("\t".join((f"{at:%Y-%m-%d %H:%M:%S}", row.event, row.employee_no or "-", row.address or "-",
                              row.detail)))
    click.echo(f"共 {len(rows)} 条。")


@click.command("end-sessions", help="让员工在所有设备上退出登录（如手机丢失），账号仍可用。")
@click.argument("employee_no")
@with_appcontext
def end_sessions_command(employee_no):  # i18n: data (the command line stays Chinese)
    with db.connection_context():
        user = User.get_or_none(User.employee_no == employee_no.strip().upper())
        if user is None:
            raise click.ClickException(f"找不到工号 {employee_no}。")
        count = UserSession.revoke_all(user, "admin")
    click.echo(f"已结束 {user.employee_no} {user.name} 的 {count} 个登录会话。")


def init_app(app) -> None:
    """Write the login cookie after each request; the CLI commands for the auth log and ending sessions."""
    app.after_request(write_cookie)
    app.cli.add_command(auth_events_command)
    app.cli.add_command(end_sessions_command)
