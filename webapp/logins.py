"""Checking a login: throttling per client address, lockout per account *and* address, the password, and the events
they leave.

Both counts live in the database (`login_attempt`), so every server process sees the same numbers. A lockout is of
one account from one address: five wrong passwords for HN1003 from a stranger's phone stop that phone, not the
worker at the wellhead (a lockout per account let anyone lock anyone out before their shift with five requests).
An unknown 工号, a wrong password and a locked pair read alike and cost the same time (a password hash is checked
every time, a dummy one for an unknown 工号).
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from peewee import fn
from werkzeug.security import check_password_hash, generate_password_hash

from models import AuthEvent, LoginAttempt, User, db, utcnow

BAD_CREDENTIALS = _l("工号或密码不正确，请重新输入。")
DISABLED = _l("该账号已停用，请联系作业区管理员。")
MAX_PASSWORD = 128
PRUNE_BATCH = 500
# Checked when the 工号 is unknown, so a wrong 工号 costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


@dataclass
class LoginResult:
    """The user logged in, or the Chinese reason and the HTTP status to show it with."""

    user: User | None = None
    error: str | None = None
    status: int = 200
    retry_after: int | None = None  # seconds, for a throttled address


def address_wait_minutes(address: str, now: datetime | None = None) -> int | None:
    """Minutes until this address may try again, or None when it is not throttled (one query)."""
    now = now or utcnow()
    config = current_app.config
    window = timedelta(minutes=config["LOGIN_ADDRESS_WINDOW_MINUTES"])
    # The LIMIT-th most recent failure in the window: once it leaves the window, fewer than LIMIT remain.
    nth = (LoginAttempt.select(LoginAttempt.at)
           .where((LoginAttempt.address == address) & (LoginAttempt.succeeded == False)  # noqa: E712
                  & (LoginAttempt.at > now - window))
           .order_by(LoginAttempt.at.desc())
           .offset(config["LOGIN_ADDRESS_MAX_FAILURES"] - 1)
           .first())
    if nth is None:
        return None
    return max(1, math.ceil((nth.at + window - now).total_seconds() / 60))


def _prune(now: datetime) -> None:
    """Drop login attempts older than throttling needs and auth events past their keeping time, a batch at a time."""
    config = current_app.config
    for model, cutoff in ((LoginAttempt, now - timedelta(hours=config["LOGIN_ATTEMPT_KEEP_HOURS"])),
                          (AuthEvent, now - timedelta(days=config["AUTH_EVENT_KEEP_DAYS"]))):
        old = model.select(model.id).where(model.at < cutoff).limit(PRUNE_BATCH)
        model.delete().where(model.id.in_(old)).execute()


def _failed(employee_no: str, address: str, reason: str, now: datetime, user: User | None = None,
            counted: bool = False) -> LoginResult:
    with db.atomic():
        if not counted:  # a wrong password of a known account is counted by _count_wrong_password
            LoginAttempt.create(address=address, at=now, employee_no=employee_no[:40], succeeded=False)
        AuthEvent.record("login_failed", user=user, employee_no=employee_no, address=address, detail=reason, now=now)
        _prune(now)
    return LoginResult(error=str(BAD_CREDENTIALS), status=422)


def pair_wait_minutes(employee_no: str, address: str, now: datetime) -> int | None:
    """Minutes until this account may be tried again from this address, or None (one query): LOGIN_MAX_FAILURES
    wrong passwords for it from there since its last success there, within LOGIN_LOCK_MINUTES (two queries)."""
    config = current_app.config
    window = timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    pair = (LoginAttempt.employee_no == employee_no[:40]) & (LoginAttempt.address == address)
    since = now - window
    last_success = LoginAttempt.select(fn.MAX(LoginAttempt.at)).where(pair & LoginAttempt.succeeded).scalar()
    if last_success is not None and last_success > since:
        since = last_success
    nth = (LoginAttempt.select(LoginAttempt.at)
           .where(pair & ~LoginAttempt.succeeded & (LoginAttempt.at > since))
           .order_by(LoginAttempt.at.desc())
           .offset(config["LOGIN_MAX_FAILURES"] - 1)
           .first())
    if nth is None:
        return None
    return max(1, math.ceil((nth.at + window - now).total_seconds() / 60))


def _count_wrong_password(user: User, address: str, now: datetime) -> None:
    """One more wrong password for the account from this address; at the limit the pair waits (logged once)."""
    config = current_app.config
    with db.atomic():
        LoginAttempt.create(address=address, at=now, employee_no=user.employee_no[:40], succeeded=False)
        if pair_wait_minutes(user.employee_no, address, now) is not None:
            AuthEvent.record("account_locked", user=user, address=address, now=now,  # i18n: data (the auth log)
                             detail=f"{config['LOGIN_MAX_FAILURES']} 次密码错误，此地址 {config['LOGIN_LOCK_MINUTES']} 分钟内不能再试")


def attempt(employee_no: str, password: str, address: str) -> LoginResult:
    """Check a login from address: throttled address (429), locked account, wrong or unknown credentials (422),
    disabled account (422, only after the right password), or the user, with every outcome recorded."""
    now = utcnow()
    wait = address_wait_minutes(address, now)
    if wait is not None:
        config = current_app.config
        since = now - timedelta(minutes=config["LOGIN_ADDRESS_WINDOW_MINUTES"])
        # One event per address and window, so a flood of refused attempts does not flood the log.
        if not AuthEvent.select().where((AuthEvent.event == "login_throttled") & (AuthEvent.address == address)
                                        & (AuthEvent.at > since)).exists():
            detail = f"{config['LOGIN_ADDRESS_WINDOW_MINUTES']} 分钟内失败 ≥ {config['LOGIN_ADDRESS_MAX_FAILURES']} 次"  # i18n: data
            AuthEvent.record("login_throttled", employee_no=employee_no, address=address, now=now, detail=detail)
        return LoginResult(error=gettext("尝试次数过多，请 %(minutes)s 分钟后再试。", minutes=wait), status=429,
                           retry_after=60 * wait)
    if len(password) > MAX_PASSWORD:
        return _failed(employee_no, address, "password_too_long", now)
    user = User.get_or_none(User.employee_no == employee_no)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return _failed(employee_no, address, "unknown_user", now)
    locked = pair_wait_minutes(user.employee_no, address, now)
    right = user.check_password(password)  # checked even when locked: every refusal costs the same time
    if locked is not None:
        result = _failed(employee_no, address, "locked", now, user)
        result.error = gettext("这台设备上登录失败次数过多，请 %(minutes)s 分钟后再试，或联系作业区管理员。", minutes=locked)
        return result
    if not right:
        _count_wrong_password(user, address, now)
        return _failed(employee_no, address, "wrong_password", now, user, counted=True)
    # Only someone who knows the password learns that the account is disabled.
    if not user.is_enabled:
        result = _failed(employee_no, address, "disabled", now, user)
        result.error = str(DISABLED)
        return result
    with db.atomic():
        LoginAttempt.create(address=address, at=now, employee_no=employee_no[:40], succeeded=True)
        AuthEvent.record("login_succeeded", user=user, address=address, now=now)
    return LoginResult(user=user)


def reconfirm(user: User, password: str, address: str, purpose: str) -> LoginResult:
    """The password typed again by a logged-in user (to change it, to log out other devices): wrong ones count
    against the account from that address as at login, so a borrowed session cannot be used to guess it; a locked
    pair says so (429) and is refused even the right password until the wait ends."""
    now = utcnow()
    locked = pair_wait_minutes(user.employee_no, address, now)
    right = len(password) <= MAX_PASSWORD and user.check_password(password)
    if locked is not None:
        return LoginResult(error=gettext("密码错误次数过多，请 %(minutes)s 分钟后再试。", minutes=locked), status=429,
                           retry_after=60 * locked)
    if not right:
        _count_wrong_password(user, address, now)
        AuthEvent.record("password_recheck_failed", user=user, address=address, now=now, detail=purpose)
        return LoginResult(error=gettext("当前密码不正确。"), status=422)
    return LoginResult(user=user)
