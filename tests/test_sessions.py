"""Server-side login sessions, login throttling per address, the password policy and the auth event log."""
import json
import logging
from datetime import timedelta

import pytest
from playhouse.test_utils import count_queries

from models import AuthEvent, LoginAttempt, User, UserSession, db, utcnow
from tests.conftest import DEMO_PASSWORD, get_user, login, make_app
from webapp import logins, sessions
from webapp.config import Config
from webapp.passwords import common_passwords, password_problem

ADDRESS = "198.51.100.7"  # documentation range: only a string here, nothing is sent


def cookie_name(app):
    return app.config["AUTH_COOKIE_NAME"]


def login_cookie_value(app, client):
    cookie = client.get_cookie(cookie_name(app))
    return cookie.value if cookie else None


def replay(app, value):
    """A fresh client that presents a captured login cookie and nothing else."""
    thief = app.test_client()
    thief.set_cookie(cookie_name(app), value)
    return thief


def sessions_of(employee_no):
    with db.connection_context():
        return list(UserSession.select().join(User).where(User.employee_no == employee_no).order_by(UserSession.id))


def events(event=None):
    with db.connection_context():
        query = AuthEvent.select().order_by(AuthEvent.id)
        if event:
            query = query.where(AuthEvent.event == event)
        return list(query)


def shift_clock(monkeypatch, delta, *modules):
    """Move utcnow forward by delta in the given modules."""
    real = utcnow
    for module in modules:
        monkeypatch.setattr(module, "utcnow", lambda: real() + delta)


def assert_logged_out(app, client):
    """The API answers 401 JSON (never a redirect) and pages send the user to the login form."""
    api = client.get("/api/v1/me")
    assert api.status_code == 401 and api.is_json and api.json["error"]["code"] == "unauthenticated"
    assert "Location" not in api.headers
    page = client.get("/wells/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")


# --- the session id ------------------------------------------------------------------------------------------

def test_login_issues_a_new_random_id_stored_only_hashed(app, client):
    planted = "attacker-chosen-session-id-0123456789abcdefgh"
    client.set_cookie(cookie_name(app), planted)  # session fixation: an id set before login
    assert client.get("/api/v1/me").status_code == 401
    login(client, "HN1003")
    value = login_cookie_value(app, client)
    assert value and value != planted and len(value) >= 43  # 256 bits, URL-safe base64
    assert client.get("/api/v1/me").json["employee_no"] == "HN1003"

    (row,) = sessions_of("HN1003")
    assert row.token_hash == sessions.token_hash(value) and value not in row.token_hash
    assert row.address == "127.0.0.1" and row.revoked_at is None and row.persistent is False

    # Logging in again on another device gives another id.
    other = app.test_client()
    login(other, "HN1003")
    assert login_cookie_value(app, other) != value
    assert len(sessions_of("HN1003")) == 2


def test_the_cookie_holds_only_the_id(app, client):
    login(client, "HN1003")
    value = login_cookie_value(app, client)
    assert "HN1003" not in value and "." not in value
    # Flask's signed session does not carry the login (it still keeps flashes and the CSRF token).
    with client.session_transaction() as flask_session:
        assert "_user_id" not in flask_session


def test_flask_session_or_old_remember_cookie_does_not_log_in(app, client):
    """Cookies of the old scheme (user id in Flask's session, Flask-Login's remember cookie) are ignored."""
    user = get_user("HN1003")
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = str(user.id)
    client.set_cookie("remember_token", f"{user.id}|forged")
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert any(c.startswith("remember_token=;") for c in response.headers.getlist("Set-Cookie"))  # dropped
    login(client, "HN1003")
    assert client.get("/api/v1/me").status_code == 200
    with client.session_transaction() as flask_session:
        assert "_user_id" not in flask_session


def test_cookie_flags(app, client):
    response = login(client, "HN1003", remember="1")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(cookie_name(app) + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http for local trials unless configured

    app.config["SESSION_COOKIE_SECURE"] = True
    app.config["AUTH_COOKIE_NAME"] = "__Host-jingzhan_login"
    secure = app.test_client()
    response = login(secure, "HN1004", remember="1")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-jingzhan_login="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Domain" not in cookie


def test_secure_cookie_setting(monkeypatch):
    monkeypatch.setenv("JINGZHAN_SECURE_COOKIES", "1")
    config = Config(with_secret=False)
    assert config.SESSION_COOKIE_SECURE and config.AUTH_COOKIE_NAME.startswith("__Host-")
    monkeypatch.delenv("JINGZHAN_SECURE_COOKIES")
    assert not Config(with_secret=False).AUTH_COOKIE_NAME.startswith("__Host-")


def test_session_lookup_costs_one_query(app, client):
    login(client, "HN1003")
    client.get("/api/v1/me")
    with count_queries() as counted:
        assert client.get("/api/v1/me").json["station"]["name"] == "海南一号站"
    assert counted.count == 2  # the session with its user, station and work area; the user's roles


# --- ending sessions -------------------------------------------------------------------------------------------

def test_logout_revokes_the_session_on_the_server(app, client):
    login(client, "HN1003", remember="1")
    captured = login_cookie_value(app, client)
    assert replay(app, captured).get("/api/v1/me").status_code == 200

    response = client.post("/logout")
    assert response.headers["Location"] == "/login"
    assert any(c.startswith(f"{cookie_name(app)}=;") for c in response.headers.getlist("Set-Cookie"))
    assert_logged_out(app, client)

    thief = replay(app, captured)
    assert_logged_out(app, thief)
    sync = thief.post("/api/v1/sync", json={"device_id": "phone-1", "sent_at": "2026-11-26T08:15:00+08:00", "records": []})
    assert sync.status_code == 401 and sync.is_json and "Location" not in sync.headers
    (row,) = sessions_of("HN1003")
    assert row.revoked_at is not None and row.revoked_reason == "logout"


def test_htmx_request_with_a_revoked_session_is_sent_to_login(app, client):
    login(client, "HN1003")
    captured = login_cookie_value(app, client)
    client.post("/logout")
    response = replay(app, captured).get("/wells/?q=1", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login?next=")


def test_a_dead_cookie_is_deleted(app, client):
    client.set_cookie(cookie_name(app), "no-such-session")
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert any(c.startswith(f"{cookie_name(app)}=;") for c in response.headers.getlist("Set-Cookie"))


def test_disabling_a_user_ends_their_live_sessions_for_good(app, client, runner):
    login(client, "HN1003")
    phone = app.test_client()
    login(phone, "HN1003", remember="1")
    assert runner.invoke(args=["disable-user", "HN1003"]).exit_code == 0
    assert_logged_out(app, client)
    assert_logged_out(app, phone)
    # Enabling the account again does not bring the old sessions back (a lost phone stays logged out).
    captured = login_cookie_value(app, phone) or ""
    assert runner.invoke(args=["disable-user", "HN1003", "--enable"]).exit_code == 0
    assert all(row.revoked_reason == "disabled" for row in sessions_of("HN1003"))
    assert replay(app, captured).get("/api/v1/me").status_code == 401
    assert login(client, "HN1003").status_code == 302


def test_password_change_ends_the_other_sessions_and_renews_this_one(app, client):
    other = app.test_client()
    login(other, "HN1003")
    login(client, "HN1003", remember="1")
    before = login_cookie_value(app, client)
    response = client.post("/password", data={"current_password": DEMO_PASSWORD, "new_password": "new-password-1",
                                              "confirm_password": "new-password-1"})
    assert response.status_code == 302
    after = login_cookie_value(app, client)
    assert after and after != before
    assert client.get("/api/v1/me").status_code == 200
    assert_logged_out(app, other)
    assert replay(app, before).get("/api/v1/me").status_code == 401
    live = [row for row in sessions_of("HN1003") if row.revoked_at is None]
    assert len(live) == 1 and live[0].persistent  # this device keeps "remember me"


def test_cli_set_password_and_end_sessions(app, client, runner):
    login(client, "HN1003")
    assert runner.invoke(args=["set-password", "HN1003", "--password", "second-pass-2"]).exit_code == 0
    assert client.get("/api/v1/me").status_code == 401

    login(client, "HN1003", "second-pass-2")
    result = runner.invoke(args=["end-sessions", "hn1003"])
    assert result.exit_code == 0 and "1 个登录会话" in result.output
    assert client.get("/api/v1/me").status_code == 401
    assert runner.invoke(args=["end-sessions", "NOBODY"]).exit_code != 0


def test_user_sees_their_devices_and_logs_the_others_out(app, client):
    phone = app.test_client()
    phone.post("/login", data={"employee_no": "HN1003", "password": DEMO_PASSWORD, "remember": "1"},
               headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"})
    client.post("/login", data={"employee_no": "HN1003", "password": DEMO_PASSWORD},
                headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"})
    login(app.test_client(), "HN1004")  # someone else's session is not listed

    page = client.get("/sessions").get_data(as_text=True)
    assert page.count('class="record"') == 2
    assert "安卓 · Chrome" in page and "Windows · Chrome" in page and "本机" in page

    wrong = client.post("/sessions", data={"password": "wrong-password"})
    assert wrong.status_code == 422 and "密码不正确" in wrong.get_data(as_text=True)
    assert phone.get("/api/v1/me").status_code == 200

    done = client.post("/sessions", data={"password": DEMO_PASSWORD})
    assert done.status_code == 302
    assert "已让其他 1 台设备退出登录" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert_logged_out(app, phone)
    assert client.get("/api/v1/me").status_code == 200
    assert get_user("HN1004") and [e.detail for e in events("session_revoked")] == ["user ×1"]


def test_device_labels():
    assert sessions.device_label("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile Safari/604.1") == "iPhone · Safari"
    assert sessions.device_label("… Android 13 … MicroMessenger/8.0") == "安卓 · 微信"
    assert sessions.device_label("") == "未知设备"


# --- timeouts --------------------------------------------------------------------------------------------------

def test_idle_timeout(app, client, monkeypatch):
    login(client, "HN1003", remember="1")
    idle = timedelta(hours=app.config["SESSION_IDLE_HOURS"])
    assert idle >= timedelta(hours=12)  # a 12-hour shift worked offline does not log the phone out
    shift_clock(monkeypatch, idle - timedelta(minutes=5), sessions)
    assert client.get("/api/v1/me").status_code == 200  # and this request counts as activity

    shift_clock(monkeypatch, idle - timedelta(minutes=5) + idle + timedelta(minutes=1), sessions)
    assert_logged_out(app, client)
    (row,) = sessions_of("HN1003")
    assert row.revoked_reason == "idle"
    (event,) = events("session_expired")
    assert event.detail == "idle" and event.user_id == row.user_id


@pytest.mark.parametrize("remember, lifetime", [("1", timedelta(days=30)), (None, timedelta(hours=24))])
def test_absolute_timeout(app, client, monkeypatch, remember, lifetime):
    login(client, "HN1003", **({"remember": remember} if remember else {}))
    (row,) = sessions_of("HN1003")
    assert row.expires_at - row.created_at == lifetime
    # Activity does not extend it: keep the session busy right up to its end.
    step = timedelta(hours=app.config["SESSION_IDLE_HOURS"] - 1)
    moved = timedelta()
    while moved + step < lifetime:
        moved += step
        shift_clock(monkeypatch, moved, sessions)
        assert client.get("/api/v1/me").status_code == 200
    shift_clock(monkeypatch, lifetime + timedelta(seconds=1), sessions)
    assert_logged_out(app, client)
    (row,) = sessions_of("HN1003")
    assert row.revoked_reason == "expired"


def test_last_seen_is_written_at_most_once_a_minute(app, client, monkeypatch):
    login(client, "HN1003")
    (row,) = sessions_of("HN1003")
    client.get("/api/v1/me")
    with count_queries() as still:
        client.get("/api/v1/me")
    assert sessions_of("HN1003")[0].last_seen_at == row.last_seen_at

    shift_clock(monkeypatch, timedelta(minutes=2), sessions)
    with count_queries() as touched:
        client.get("/api/v1/me")
    assert touched.count == still.count + 1
    assert sessions_of("HN1003")[0].last_seen_at > row.last_seen_at
    with count_queries() as again:
        client.get("/api/v1/me")
    assert again.count == still.count


# --- throttling ------------------------------------------------------------------------------------------------

def post_login(client, employee_no, password, address=ADDRESS):
    return client.post("/login", data={"employee_no": employee_no, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_defaults_for_throttling():
    config = Config(with_secret=False)
    assert config.LOGIN_ADDRESS_MAX_FAILURES == 20 and config.LOGIN_ADDRESS_WINDOW_MINUTES == 15
    assert config.LOGIN_MAX_FAILURES == 5 and config.LOGIN_LOCK_MINUTES == 15


def test_throttling_per_address_is_shared_by_every_worker(app, tmp_path, monkeypatch):
    """Two app instances on one database stand for two gunicorn workers: the failures one counted, the other
    sees, because the count is in the database and not in a process's memory."""
    limit = 4
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = limit
    worker_a = app.test_client()
    for number in range(limit - 1):
        assert post_login(worker_a, f"NOBODY{number}", "wrong-password").status_code == 422

    second = make_app(app.config["DATABASE_URL"], tmp_path)
    second.config["LOGIN_ADDRESS_MAX_FAILURES"] = limit
    worker_b = second.test_client()
    assert post_login(worker_b, "HN1004", "wrong-password").status_code == 422  # the limit-th failure
    refused = post_login(worker_a, "HN1003", DEMO_PASSWORD)  # even the right password waits
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "尝试次数过多，请 15 分钟后再试。" in page and 'name="employee_no"' in page
    assert refused.headers["Retry-After"] == str(15 * 60)
    assert post_login(worker_b, "HN1003", DEMO_PASSWORD).status_code == 429

    # Another address is not affected, and the throttled attempts did not touch the account.
    assert post_login(worker_b, "HN1003", DEMO_PASSWORD, address="203.0.113.9").status_code == 302
    with db.connection_context():
        assert LoginAttempt.select().where((LoginAttempt.employee_no == "HN1004") & ~LoginAttempt.succeeded).count() == 1

    # Minutes later the oldest failures leave the window.
    shift_clock(monkeypatch, timedelta(minutes=16), logins)
    assert post_login(app.test_client(), "HN1003", DEMO_PASSWORD).status_code == 302
    throttled = events("login_throttled")
    assert len(throttled) == 1 and throttled[0].address == ADDRESS  # once per window, not once per refusal


def test_throttle_counts_failures_only_within_the_window(app, client):
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = 2
    with db.connection_context():
        LoginAttempt.create(address=ADDRESS, at=utcnow() - timedelta(minutes=20), employee_no="X")
        LoginAttempt.create(address=ADDRESS, at=utcnow(), employee_no="HN1003", succeeded=True)
        LoginAttempt.create(address=ADDRESS, at=utcnow() - timedelta(minutes=14), employee_no="Y")
    assert post_login(client, "HN1003", DEMO_PASSWORD).status_code == 302
    client.post("/logout")
    with app.app_context(), db.connection_context():
        LoginAttempt.create(address=ADDRESS, at=utcnow() - timedelta(minutes=10), employee_no="Z")
        wait = logins.address_wait_minutes(ADDRESS)
    assert wait == 1  # the older of the two leaves the window in about a minute
    assert post_login(client, "HN1003", DEMO_PASSWORD).status_code == 429


def test_old_login_attempts_are_pruned(app, client):
    with db.connection_context():
        LoginAttempt.insert_many([{"address": "192.0.2.1", "at": utcnow() - timedelta(days=2), "employee_no": "OLD"}] * 5).execute()
    post_login(client, "HN1003", "wrong-password")
    with db.connection_context():
        assert not LoginAttempt.select().where(LoginAttempt.employee_no == "OLD").exists()
        assert LoginAttempt.select().where(LoginAttempt.address == ADDRESS).count() == 1


def test_the_lockout_is_of_an_account_from_an_address(app, client):
    """Five wrong passwords lock the account from that address (logged once), not from anywhere else."""
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        post_login(client, "HN1003", "wrong-password")
    response = post_login(client, "HN1003", DEMO_PASSWORD)  # the right password, from the same address
    assert response.status_code == 422 and "这台设备上登录失败次数过多" in response.get_data(as_text=True)
    (locked,) = events("account_locked")
    assert locked.user_id == get_user("HN1003").id and locked.address == ADDRESS
    assert post_login(app.test_client(), "HN1003", DEMO_PASSWORD, address="203.0.113.50").status_code == 302


# --- passwords -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["jingzhan2026", DEMO_PASSWORD, "巡井换盘根要仔细", "correct horse battery"])
def test_good_passwords_are_accepted(password):
    assert password_problem(password, employee_no="HN1003", context_words=Config(with_secret=False).PASSWORD_CONTEXT_WORDS) is None


@pytest.mark.parametrize(
    "password, message",
    [
        ("1234567", "至少 8 位"),
        ("密码密码密码", "至少 8 位"),
        ("12345678", "太常见"),
        ("PASSWORD", "太常见"),
        ("qwerty123", "太常见"),
        ("woaini1314", "太常见"),
        ("88888888", "太常见"),
        ("a123456789", "太常见"),
        ("13131313", "太常见"),
        ("hn1003", "至少 8 位"),
        ("HN1003HN1003", "不能是工号"),
        ("hn1003_2026", "不能是工号"),
        ("Hainan_1999", "拼音"),
        ("Liaohe@123", "拼音"),
        ("x" * 129, "不能超过 128 位"),
    ],
)
def test_password_policy(password, message):
    words = Config(with_secret=False).PASSWORD_CONTEXT_WORDS
    assert message in password_problem(password, employee_no="HN1003", context_words=words)


def test_blocklist_is_vendored_and_sane():
    common = common_passwords()
    assert len(common) > 8000
    assert all(len(p) >= 8 and p == p.lower() for p in common)
    assert "jingzhan2026" not in common and DEMO_PASSWORD not in common


def test_passwords_are_hashed_with_scrypt(app, client):
    login(client, "HN1003")
    client.post("/password", data={"current_password": DEMO_PASSWORD, "new_password": "new-password-1",
                                   "confirm_password": "new-password-1"})
    assert get_user("HN1003").password_hash.startswith("scrypt:")


# --- the auth event log ----------------------------------------------------------------------------------------

def test_auth_events_are_recorded_and_logged_without_passwords(app, client, caplog):
    caplog.set_level(logging.INFO, logger="jingzhan.auth")
    post_login(client, "HN1003", "wrong-password-1")
    post_login(client, "NOBODY", "wrong-password-2")
    post_login(client, "HN1003", DEMO_PASSWORD)
    client.post("/password", data={"current_password": DEMO_PASSWORD, "new_password": "new-password-1",
                                   "confirm_password": "new-password-1"})
    client.post("/logout")

    recorded = [(e.event, e.employee_no, e.detail) for e in events()]
    assert recorded == [
        ("login_failed", "HN1003", "wrong_password"),
        ("login_failed", "NOBODY", "unknown_user"),
        ("login_succeeded", "HN1003", ""),
        ("session_revoked", "HN1003", "password ×1"),
        ("password_changed", "HN1003", ""),
        ("logout", "HN1003", ""),
    ]
    assert all(e.address == ADDRESS for e in events() if e.event.startswith("login"))
    user = get_user("HN1003")
    assert [e.user_id for e in events()] == [user.id, None, user.id, user.id, user.id, user.id]

    lines = [r for r in caplog.records if r.name == "jingzhan.auth"]
    assert [json.loads(r.getMessage())["event"] for r in lines] == [event for event, _, _ in recorded]
    assert lines[0].levelno == logging.WARNING and lines[2].levelno == logging.INFO
    text = caplog.text
    for secret in ("wrong-password-1", "wrong-password-2", DEMO_PASSWORD, "new-password-1"):
        assert secret not in text
    with db.connection_context():
        for row in AuthEvent.select().dicts():
            assert not any(secret in str(value) for value in row.values()
                           for secret in ("wrong-password", DEMO_PASSWORD, "new-password-1"))


def test_typed_text_cannot_forge_a_log_line(app, client, caplog):
    caplog.set_level(logging.INFO, logger="jingzhan.auth")
    post_login(client, "X\u2028{\"event\": \"login_succeeded\"}", "wrong-password")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "jingzhan.auth"]
    assert "\n" not in line and json.loads(line)["event"] == "login_failed"


def test_cli_lists_auth_events(app, client, runner):
    post_login(client, "HN1003", "wrong-password")
    post_login(client, "HN1003", DEMO_PASSWORD)
    result = runner.invoke(args=["auth-events", "--since", "1h"])
    assert result.exit_code == 0, result.output
    assert "login_failed\tHN1003\t198.51.100.7\twrong_password" in result.output
    assert "login_succeeded\tHN1003" in result.output and "共 2 条" in result.output
    only = runner.invoke(args=["auth-events", "--since", "2020-01-01", "--event", "login_succeeded"])
    assert "login_failed" not in only.output and "共 1 条" in only.output
    assert runner.invoke(args=["auth-events", "--since", "yesterday"]).exit_code != 0
